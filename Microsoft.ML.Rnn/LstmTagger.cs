using Microsoft.ML.Data;
using Microsoft.ML.Rnn.Core;
using Microsoft.ML.Rnn.MLNet;
using Microsoft.ML.Rnn.Networks;
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
public sealed class LstmTagger : IEstimator<LstmTaggerTransformer>
{
    internal const string ComponentName = nameof(LstmTagger);
    private const string ExpectedLabelType = "vector of key (UInt32)";

    /// <summary>Options of <see cref="LstmTagger"/>.</summary>
    public sealed class Options : RnnOptionsBase
    {
        /// <summary>Decode with a linear-chain CRF (learned tag transitions, Viterbi) instead of per-token argmax.</summary>
        public bool UseCrf;

        /// <summary>
        /// Weights of the tags in the per-token loss, from their training frequencies (like scikit-learn's
        /// class_weight="balanced" or Keras' class_weight): rare tags (e.g. QUESTION among mostly O) count more. Not with
        /// <see cref="UseCrf"/>. Null (default): <see cref="TagWeighting.InverseSquareRootFrequency"/> without a CRF,
        /// <see cref="TagWeighting.None"/> with one — unweighted, the tagger measured never predicting rare tags
        /// (docs/components/lstm-tagger.md).
        /// </summary>
        public TagWeighting? TagWeighting;

        /// <summary>Validation metric reported to <see cref="RnnOptionsBase.Progress"/> and used for early stopping (the
        /// best epoch's weights are kept); default macro-F1, which watches the rare tags too.</summary>
        public TaggerValidationMetric ValidationMetric = TaggerValidationMetric.MacroF1;

        /// <summary>The weighting in force: <see cref="TagWeighting"/>, or its default.</summary>
        internal TagWeighting ResolvedTagWeighting
            => TagWeighting ?? (UseCrf ? Microsoft.ML.Rnn.TagWeighting.None : Microsoft.ML.Rnn.TagWeighting.InverseSquareRootFrequency);
    }

    private readonly IHostEnvironment _env;
    private readonly Options _options;

    internal LstmTagger(IHostEnvironment env, Options options)
    {
        ArgumentNullException.ThrowIfNull(env);
        ArgumentNullException.ThrowIfNull(options);
        RnnOptionsValidation.Validate(options, ComponentName);
        if (options.TagWeighting is { } weighting && !Enum.IsDefined(weighting))
            throw new ArgumentOutOfRangeException(nameof(options.TagWeighting), options.TagWeighting, $"{ComponentName}: unknown TagWeighting {options.TagWeighting}.");
        if (!Enum.IsDefined(options.ValidationMetric))
            throw new ArgumentOutOfRangeException(nameof(options.ValidationMetric), options.ValidationMetric, $"{ComponentName}: unknown ValidationMetric {options.ValidationMetric}.");
        if (options.UseCrf && options.TagWeighting is { } explicitWeighting && explicitWeighting != Microsoft.ML.Rnn.TagWeighting.None)
            throw new ArgumentException($"{ComponentName}: TagWeighting {options.TagWeighting} weights the per-token loss and cannot be used with UseCrf.", nameof(options.TagWeighting));
        _env = env;
        _options = options;
    }

    /// <summary>Trains on <paramref name="input"/>, holding out <see cref="RnnOptionsBase.ValidationFraction"/> for early stopping.</summary>
    public LstmTaggerTransformer Fit(IDataView input) => Fit(input, null);

    /// <summary>Trains on <paramref name="input"/> with early stopping on <paramref name="validationData"/> (null: split <paramref name="input"/>).</summary>
    public LstmTaggerTransformer Fit(IDataView input, IDataView? validationData)
    {
        ArgumentNullException.ThrowIfNull(input);
        var host = _env.Register(ComponentName);
        var o = _options;
        var features = SequenceColumn.Bind(input.Schema, o.FeatureColumnName, o.FeaturesPerStep).WithMaxSteps(o.MaxSequenceLength);
        var tags = BindLabel(input.Schema, o.LabelColumnName, nameof(input)).WithMaxSteps(o.MaxSequenceLength);
        var train = ReadTagged(host, input, features, tags);
        if (train.Rows.Count == 0)
            throw new InvalidOperationException($"{ComponentName}: the training data has no rows.");
        SequenceDataSet<SequenceRows>? validation = null;
        if (validationData is not null)
        {
            var validationFeatures = FeatureEncoding.Of(features).Bind(validationData.Schema, nameof(validationData));
            var validationTags = BindLabel(validationData.Schema, o.LabelColumnName, nameof(validationData)).WithMaxSteps(o.MaxSequenceLength);
            if (validationTags.KeyCount != tags.KeyCount)
                throw Contracts.ExceptSchemaMismatch(nameof(validationData), "label", o.LabelColumnName, tags.Type.ToString(), validationTags.Type.ToString());
            validation = ReadTagged(host, validationData, validationFeatures, validationTags);
        }

        int seed = SequenceTrainingDriver.ResolveSeed(o, host);
        torch.manual_seed(seed);
        using var ch = host.Start("Network");
        var device = DeviceSelection.Resolve(o.Device, ch, ComponentName);
        var encoding = FeatureEncoding.Of(features);
        var encoderOptions = encoding.EncoderOptions(o, ch, input.Schema[features.Index], seed, ComponentName);
        var network = new SequenceTaggerNetwork(new SequenceEncoder(encoderOptions), (long)tags.KeyCount, o.UseCrf, o.Dropout);
        network.to(device);
        var tagWeights = TagWeights(o.ResolvedTagWeighting, train.Targets, (int)tags.KeyCount, ch)?.to(device);
        try
        {
            SequenceTrainingDriver.Train(
                new TrainingSetup
                {
                    Host = host, Options = o, Component = ComponentName, Network = network, Seed = seed,
                    MetricName = o.ValidationMetric == TaggerValidationMetric.MacroF1 ? "macro-F1" : "token accuracy", HigherIsBetter = true,
                },
                train, validation,
                (set, rows) =>
                {
                    var (data, lengths) = set.Rows.MakeBatch(rows);
                    var (gold, _) = set.Targets.MakeBatch(rows);
                    return network.Loss(data.to(device), lengths, gold.to(device), tagWeights);
                },
                (set, rows) =>
                {
                    var (data, lengths) = set.Rows.MakeBatch(rows);
                    var (gold, _) = set.Targets.MakeBatch(rows);
                    var predicted = network.Predict(data.to(device), lengths);
                    long[] lens = lengths.data<long>().ToArray();
                    var valid = LengthMask.Valid(lengths, predicted.shape[1], predicted.device);
                    long correct = predicted.eq(gold).logical_and(valid).sum().item<long>();
                    return (correct, lens.Sum());
                },
                o.ValidationMetric != TaggerValidationMetric.MacroF1 ? null : (set, batches) =>
                {
                    var counts = new TagCounts((int)tags.KeyCount);
                    foreach (var rows in batches)
                    {
                        using var scope = torch.NewDisposeScope();
                        var (data, lengths) = set.Rows.MakeBatch(rows);
                        var (gold, _) = set.Targets.MakeBatch(rows);
                        counts.Add(network.Predict(data.to(device), lengths), gold, lengths);
                    }
                    return counts.MacroF1();
                });
        }
        catch
        {
            network.Dispose();
            throw;
        }
        return new LstmTaggerTransformer(_env, encoding, (int)tags.KeyCount, KeyValueAnnotation.FromColumn(input.Schema[tags.Index]),
            o.BatchSize, network, device, o.FusedKernels);
    }

    /// <summary>Checks the input columns and describes the outputs (PredictedLabel: vector of keys; Score: vector of Single).</summary>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        SequenceColumn.CheckShape(inputSchema, _options.FeatureColumnName);
        if (!inputSchema.TryFindColumn(_options.LabelColumnName, out var label))
            throw Contracts.ExceptSchemaMismatch(nameof(inputSchema), "label", _options.LabelColumnName);
        if (label.Kind == SchemaShape.Column.VectorKind.Scalar || !label.IsKey || label.ItemType.RawType != typeof(uint))
            throw Contracts.ExceptSchemaMismatch(nameof(inputSchema), "label", _options.LabelColumnName, ExpectedLabelType, label.GetTypeString());
        var columns = inputSchema.ToDictionary(c => c.Name);
        var keyValues = label.Annotations.Where(a => a.Name == AnnotationUtils.Kinds.KeyValues).ToArray();
        columns[LstmTaggerTransformer.PredictedLabelColumnName] = new SchemaShape.Column(LstmTaggerTransformer.PredictedLabelColumnName,
            SchemaShape.Column.VectorKind.VariableVector, NumberDataViewType.UInt32, true, new SchemaShape(keyValues));
        columns[LstmTaggerTransformer.ScoreColumnName] = new SchemaShape.Column(LstmTaggerTransformer.ScoreColumnName,
            SchemaShape.Column.VectorKind.VariableVector, NumberDataViewType.Single, false);
        return new SchemaShape(columns.Values);
    }

    private static SequenceColumn BindLabel(DataViewSchema schema, string name, string parameter)
    {
        if (schema.GetColumnOrNull(name) is not { } column)
            throw Contracts.ExceptSchemaMismatch(parameter, "label", name);
        if (column.Type is not VectorDataViewType { ItemType: KeyDataViewType { RawType: var raw } } || raw != typeof(uint))
            throw Contracts.ExceptSchemaMismatch(parameter, "label", name, ExpectedLabelType, column.Type.ToString());
        var tags = SequenceColumn.Bind(schema, name, 1, "label");
        if (tags.KeyCount < 2)
            throw new InvalidOperationException($"{ComponentName}: label column '{name}' has {tags.KeyCount} tag(s); at least two are needed.");
        return tags;
    }

    /// <summary>Per-tag counts of correct, predicted and gold tokens, for macro-F1 over a whole validation set.</summary>
    internal sealed class TagCounts(int tagCount)
    {
        private readonly long[] _correct = new long[tagCount], _predicted = new long[tagCount], _gold = new long[tagCount];

        /// <summary>Adds a batch: predicted and gold tags (N, L) int64, lengths (N).</summary>
        public void Add(torch.Tensor predicted, torch.Tensor gold, torch.Tensor lengths)
        {
            long width = predicted.shape[1];
            var p = predicted.cpu().data<long>().ToArray();
            var g = gold.cpu().data<long>().ToArray();
            var lens = lengths.cpu().data<long>().ToArray();
            for (int r = 0; r < lens.Length; r++)
            {
                for (long t = 0; t < lens[r]; t++)
                {
                    long pi = p[r * width + t], gi = g[r * width + t];
                    _predicted[pi]++;
                    _gold[gi]++;
                    if (pi == gi) _correct[pi]++;
                }
            }
        }

        /// <summary>Mean F1 = 2·correct / (predicted + gold) over the tags that were predicted or gold at least once (0 if none).</summary>
        public double MacroF1()
        {
            var f1 = Enumerable.Range(0, _gold.Length).Where(k => _predicted[k] + _gold[k] > 0)
                .Select(k => 2.0 * _correct[k] / (_predicted[k] + _gold[k])).ToArray();
            return f1.Length == 0 ? 0 : f1.Average();
        }
    }

    /// <summary>
    /// (T) weights (n / (T · count_k))^p over the n training tokens, p = 1 (inverse frequency) or 0.5 (its square root);
    /// tags absent from the training data get weight 1. Null for <see cref="TagWeighting.None"/>.
    /// </summary>
    internal static torch.Tensor? TagWeights(TagWeighting weighting, SequenceRows tags, int tagCount, IChannel? ch)
    {
        if (weighting == TagWeighting.None) return null;
        var counts = new long[tagCount];
        var (data, lengths) = tags.MakeBatch(Enumerable.Range(0, tags.Count).ToArray());
        using (data)
        using (lengths)
        {
            var ids = data.data<long>().ToArray();
            var lens = lengths.data<long>().ToArray();
            long width = data.shape.Length > 1 ? data.shape[1] : 0;
            for (int r = 0; r < lens.Length; r++)
                for (long t = 0; t < lens[r]; t++)
                    counts[ids[r * width + t]]++;
        }
        long n = counts.Sum();
        double power = weighting == TagWeighting.InverseFrequency ? 1 : 0.5;
        var weights = counts.Select(c => c == 0 ? 1f : (float)Math.Pow((double)n / (tagCount * c), power)).ToArray();
        ch?.Info($"{ComponentName}: tag weights ({weighting}) {string.Join(", ", weights.Select(w => w.ToString("G4", System.Globalization.CultureInfo.InvariantCulture)))}.");
        return torch.tensor(weights);
    }

    /// <summary>Reads every row's tokens and 0-based tags, which must be as many as the tokens.</summary>
    private static SequenceDataSet<SequenceRows> ReadTagged(IHost host, IDataView data, SequenceColumn features, SequenceColumn tags)
    {
        var rows = new SequenceRows(features);
        var targets = new SequenceRows(tags);
        using var cursor = data.GetRowCursor(new[] { data.Schema[features.Index], data.Schema[tags.Index] });
        // Missing feature keys (unknown tokens) get their own embedding row; a missing tag cannot be trained on.
        var featureReader = new SequenceColumnReader(cursor, features, MissingKeyHandling.MapToUnknownIndex);
        var tagReader = new SequenceColumnReader(cursor, tags, MissingKeyHandling.Throw);
        while (cursor.MoveNext())
        {
            host.CheckAlive();
            rows.AddCurrent(featureReader);
            targets.AddCurrent(tagReader);
            // Compared before truncation to MaxSequenceLength, which would hide a mismatch past the limit.
            int tokens = featureReader.LastFullSteps, labels = tagReader.LastFullSteps;
            if (tokens != labels)
            {
                throw new InvalidOperationException(
                    $"{ComponentName}: row {cursor.Position} has {tokens} steps in feature column '{features.Name}' but {labels} tags " +
                    $"in label column '{tags.Name}'; each token needs exactly one tag.");
            }
        }
        return new SequenceDataSet<SequenceRows>(rows, targets);
    }
}
