namespace Microsoft.ML.Rnn;

public sealed partial class RnnCatalog
{
    /// <summary>
    /// A recurrent sequence classifier (see <see cref="RnnSequenceClassifier"/>) with the common settings.
    /// </summary>
    /// <param name="labelColumnName">Key (multiclass) or Boolean (binary) label column.</param>
    /// <param name="featureColumnName">Vector of keys (tokens) or of Single (steps of <paramref name="featuresPerStep"/> values).</param>
    /// <param name="featuresPerStep">Single input: values per step, at least 1; 1 for key input.</param>
    /// <param name="hiddenSize">Hidden size of the recurrent layers, at least 1.</param>
    /// <param name="cellType">Recurrent cell kind (GRU by default: measured better than LSTM, docs/components/common-options.md).</param>
    /// <param name="maxEpochs">Maximum training epochs, at least 1.</param>
    /// <param name="batchSize">Rows per mini-batch, at least 1.</param>
    /// <param name="learningRate">Adam learning rate, greater than 0.</param>
    /// <param name="classWeighting">Weights of the classes in the loss, from their training frequencies (<see cref="RnnSequenceClassifier.Options.ClassWeighting"/>).</param>
    public RnnSequenceClassifier SequenceClassifier(string labelColumnName = "Label", string featureColumnName = "Features",
        int featuresPerStep = 1, int hiddenSize = 64, RnnCellType cellType = RnnCellType.Gru, int maxEpochs = 10,
        int batchSize = 32, float learningRate = 0.01f, ClassWeighting classWeighting = ClassWeighting.None)
        => SequenceClassifier(new RnnSequenceClassifier.Options
        {
            LabelColumnName = labelColumnName,
            FeatureColumnName = featureColumnName,
            FeaturesPerStep = featuresPerStep,
            HiddenSize = hiddenSize,
            Cell = Enum.IsDefined(cellType) ? RnnCellKind.FromType(cellType)
                : throw new ArgumentOutOfRangeException(nameof(cellType), cellType, $"SequenceClassifier: unknown cellType {cellType}; expected one of {string.Join(", ", Enum.GetNames<RnnCellType>())}."),
            MaxEpochs = maxEpochs,
            BatchSize = batchSize,
            LearningRate = learningRate,
            ClassWeighting = classWeighting,
        });

    /// <summary>A recurrent sequence classifier configured by <paramref name="options"/>.</summary>
    public RnnSequenceClassifier SequenceClassifier(RnnSequenceClassifier.Options options)
        => new(Environment, options);
}
