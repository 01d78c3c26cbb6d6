using Microsoft.ML.Data;
using Microsoft.ML.Rnn.Features;
using Microsoft.ML.Rnn.Networks;
using Microsoft.ML.Rnn.Training;
using Microsoft.ML.Runtime;
using TorchSharp;

namespace Microsoft.ML.Rnn;

/// <summary>
/// Trains a recurrent sequence regressor: a (stacked, optionally bidirectional) recurrent encoder reads each row's
/// sequence (Single features as steps of <see cref="RnnOptionsBase.FeaturesPerStep"/> values — a multivariate series
/// window —, keys, or text tokens), pools it and predicts a number, or a known-size vector of numbers (a forecast
/// horizon). A Single label gives a Single <c>Score</c> for <c>Regression.Evaluate</c>; a vector label of H values a
/// <c>Score</c> vector of H. The label is standardised for training and the scale saved with the model.
/// </summary>
public sealed class SequenceRegressor : RnnEstimatorBase<SequenceRegressorTransformer>
{
    internal const string ComponentName = nameof(SequenceRegressor);

    /// <summary>Options of <see cref="SequenceRegressor"/>.</summary>
    public sealed class Options : RnnOptionsBase
    {
        /// <summary>
        /// Creates options that read the sequence in both directions with GRU cells, the classifier's defaults
        /// (docs/components/common-options.md, "Defaults"); set <see cref="RnnOptionsBase.Bidirectional"/> false for a
        /// causal reader, <see cref="RnnOptionsBase.Cell"/> for another cell.
        /// </summary>
        public Options()
        {
            Bidirectional = true;
            Cell = RnnCellKind.Gru();
        }

        /// <summary>How the recurrent outputs of a sequence become one vector before the output layer.</summary>
        public SequencePooling Pooling = SequencePooling.LastState;

        /// <summary>The training loss (on the standardised label); mean squared error by default.</summary>
        public RegressionLoss Loss = RegressionLoss.MeanSquaredError;

        /// <summary>How each row is scaled before the network reads it (Single steps only): <see cref="RowScaling.MeanAbsolute"/>
        /// for windows of a series whose level changes; none by default.</summary>
        public RowScaling Scaling = RowScaling.None;

        /// <summary>With <see cref="Scaling"/>, the feature of a step (0-based, below <see cref="RnnOptionsBase.FeaturesPerStep"/>)
        /// whose row scale also scales the label: the series being forecast.</summary>
        public int TargetFeatureIndex;

        /// <summary>
        /// Networks trained, each with its own seed, whose mean prediction is the model's (a deep ensemble;
        /// <see cref="SequenceRegressorEnsemble"/>); side by side where cores are free. 1 trains a single network.
        /// </summary>
        public int EnsembleSize = RnnSequenceClassifier.DefaultEnsembleSize;
    }

    private readonly Options _options;

    internal SequenceRegressor(IHostEnvironment env, Options options) : base(env, options, ComponentName)
    {
        if (!Enum.IsDefined(options.Pooling))
            throw new ArgumentOutOfRangeException(nameof(options.Pooling), options.Pooling, $"{ComponentName}: unknown Pooling {options.Pooling}.");
        if (!Enum.IsDefined(options.Loss))
            throw new ArgumentOutOfRangeException(nameof(options.Loss), options.Loss,
                $"{ComponentName}: unknown Loss {options.Loss}; expected one of {string.Join(", ", Enum.GetNames<RegressionLoss>())}.");
        if (!Enum.IsDefined(options.Scaling))
            throw new ArgumentOutOfRangeException(nameof(options.Scaling), options.Scaling,
                $"{ComponentName}: unknown Scaling {options.Scaling}; expected one of {string.Join(", ", Enum.GetNames<RowScaling>())}.");
        if (options.TargetFeatureIndex < 0 || options.TargetFeatureIndex >= options.FeaturesPerStep)
            throw new ArgumentOutOfRangeException(nameof(options.TargetFeatureIndex), options.TargetFeatureIndex,
                $"{ComponentName}: TargetFeatureIndex must be in [0, FeaturesPerStep = {options.FeaturesPerStep}), got {options.TargetFeatureIndex}.");
        RnnOptionsValidation.CheckEnsembleSize(options.EnsembleSize, ComponentName);
        _options = options;
    }

    private protected override TrainingObjective CreateObjective()
        => new RegressionObjective(ComponentName, _options);

    private protected override SequenceRegressorTransformer CreateTransformer(FeatureEncoding features, TrainingObjective trained,
        torch.nn.Module network, torch.Device device)
    {
        var objective = (RegressionObjective)trained;
        return new SequenceRegressorTransformer(Env, features, objective.Label.IsVector, objective.Means, objective.Scales,
            _options.Scaling, _options.TargetFeatureIndex, _options.BatchSize, (SequenceRegressorEnsemble)network, device, _options.FusedKernels);
    }

    /// <summary>Score: Single for a Single label, a vector of the label's size for a vector label.</summary>
    private protected override IEnumerable<SchemaShape.Column> OutputColumns(SchemaShape inputSchema)
    {
        var label = ValueLabelColumn.CheckShape(inputSchema, _options.LabelColumnName);
        yield return new SchemaShape.Column(SequenceRegressorTransformer.ScoreColumnName, label.Kind, NumberDataViewType.Single, false);
    }
}
