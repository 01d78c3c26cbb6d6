using Microsoft.ML.Data;
using Microsoft.ML.Rnn.Features;
using Microsoft.ML.Rnn.Networks;
using Microsoft.ML.Rnn.Training;
using Microsoft.ML.Runtime;
using TorchSharp;

namespace Microsoft.ML.Rnn;

/// <summary>
/// Trains a sequence tagger: a (stacked, optionally bidirectional) recurrent network reads each row's tokens (keys
/// through an embedding, or Single steps) and predicts one tag per token, optionally decoding the best tag sequence
/// with a linear-chain CRF (Viterbi). The label is a variable-length vector of keys aligned with the tokens; the
/// transformer adds <c>PredictedLabel</c> (a vector of keys of the label's type, as long as the input sequence) and
/// <c>Score</c> (per-token tag probabilities, flattened: L × T values, token-major). Evaluate with
/// <see cref="TaggingEvaluator"/>.
/// </summary>
public sealed class LstmTagger : RnnEstimatorBase<LstmTaggerTransformer>
{
    internal const string ComponentName = nameof(LstmTagger);

    /// <summary>Options of <see cref="LstmTagger"/>.</summary>
    public sealed class Options : RnnOptionsBase
    {
        /// <summary>Decode with a linear-chain CRF (learned tag transitions, Viterbi) instead of per-token argmax.</summary>
        public bool UseCrf;

        /// <summary>
        /// Weights of the tags in the per-token loss, from their training frequencies (like scikit-learn's
        /// class_weight="balanced" or Keras' class_weight): rare tags (e.g. QUESTION among mostly O) count more. Not with
        /// <see cref="UseCrf"/>. Null (default): <see cref="ClassWeighting.InverseSquareRootFrequency"/> without a CRF,
        /// <see cref="ClassWeighting.None"/> with one — unweighted, the tagger measured never predicting rare tags
        /// (docs/components/lstm-tagger.md).
        /// </summary>
        public ClassWeighting? TagWeighting;

        /// <summary>Validation metric reported to <see cref="RnnOptionsBase.Progress"/> and used for early stopping (the
        /// best epoch's weights are kept); default macro-F1, which watches the rare tags too.</summary>
        public TaggerValidationMetric ValidationMetric = TaggerValidationMetric.MacroF1;

        /// <summary>
        /// Networks trained, each with its own seed (initialisation, batch order, validation split and early stopping),
        /// tagging together (<see cref="SequenceTaggerEnsemble"/>: mean per-token probabilities, or with
        /// <see cref="UseCrf"/> the path of the highest mean sequence score). Training does this many times one network's
        /// work, side by side where cores are free (<see cref="RnnOptionsBase.NumberOfThreads"/>), and scoring this many
        /// times one network's; 1 trains a single network.
        /// </summary>
        public int EnsembleSize = RnnSequenceClassifier.DefaultEnsembleSize;

        /// <summary>The weighting in force: <see cref="TagWeighting"/>, or its default.</summary>
        internal ClassWeighting ResolvedTagWeighting
            => TagWeighting ?? (UseCrf ? ClassWeighting.None : ClassWeighting.InverseSquareRootFrequency);
    }

    private readonly Options _options;

    internal LstmTagger(IHostEnvironment env, Options options) : base(env, options, ComponentName)
    {
        if (options.TagWeighting is { } weighting && !Enum.IsDefined(weighting))
            throw new ArgumentOutOfRangeException(nameof(options.TagWeighting), options.TagWeighting, $"{ComponentName}: unknown TagWeighting {options.TagWeighting}.");
        if (!Enum.IsDefined(options.ValidationMetric))
            throw new ArgumentOutOfRangeException(nameof(options.ValidationMetric), options.ValidationMetric, $"{ComponentName}: unknown ValidationMetric {options.ValidationMetric}.");
        RnnOptionsValidation.CheckEnsembleSize(options.EnsembleSize, ComponentName);
        if (options.UseCrf && options.TagWeighting is { } explicitWeighting && explicitWeighting != ClassWeighting.None)
            throw new ArgumentException($"{ComponentName}: TagWeighting {options.TagWeighting} weights the per-token loss and cannot be used with UseCrf.", nameof(options.TagWeighting));
        _options = options;
    }

    private protected override TrainingObjective CreateObjective() => new TaggingObjective(_options);

    private protected override LstmTaggerTransformer CreateTransformer(FeatureEncoding features, TrainingObjective trained,
        torch.nn.Module network, torch.Device device)
    {
        var tags = ((TaggingObjective)trained).Label;
        return new LstmTaggerTransformer(Env, features, (int)tags.ClassCount, tags.Names, _options.BatchSize,
            (SequenceTaggerEnsemble)network, device, _options.FusedKernels);
    }

    /// <summary>PredictedLabel: vector of keys (with the label's key values); Score: vector of Single.</summary>
    private protected override IEnumerable<SchemaShape.Column> OutputColumns(SchemaShape inputSchema)
    {
        var label = LabelColumn.CheckTagsShape(inputSchema, _options.LabelColumnName);
        yield return new SchemaShape.Column(LstmTaggerTransformer.PredictedLabelColumnName,
            SchemaShape.Column.VectorKind.VariableVector, NumberDataViewType.UInt32, true, LabelColumn.KeyValuesOf(label));
        yield return new SchemaShape.Column(LstmTaggerTransformer.ScoreColumnName,
            SchemaShape.Column.VectorKind.VariableVector, NumberDataViewType.Single, false);
    }
}
