namespace Microsoft.ML.Rnn;

public sealed partial class RnnCatalog
{
    /// <summary>A recurrent sequence regressor (see <see cref="global::Microsoft.ML.Rnn.SequenceRegressor"/>) with the common settings.</summary>
    /// <param name="labelColumnName">Single label, or a known-size vector of Single (a forecast horizon).</param>
    /// <param name="featureColumnName">Vector of Single (steps of <paramref name="featuresPerStep"/> values), of keys, or of text tokens.</param>
    /// <param name="featuresPerStep">Single input: values per step (the series' columns), at least 1; 1 for key and token input.</param>
    /// <param name="hiddenSize">Hidden size of the recurrent layers, at least 1.</param>
    /// <param name="maxEpochs">Maximum training epochs, at least 1.</param>
    /// <param name="batchSize">Rows per mini-batch, at least 1.</param>
    /// <param name="learningRate">Adam learning rate, greater than 0.</param>
    public SequenceRegressor SequenceRegressor(string labelColumnName = "Label", string featureColumnName = "Features",
        int featuresPerStep = 1, int hiddenSize = 64, int maxEpochs = 10, int batchSize = 32, float learningRate = 0.01f)
        => SequenceRegressor(new SequenceRegressor.Options
        {
            LabelColumnName = labelColumnName,
            FeatureColumnName = featureColumnName,
            FeaturesPerStep = featuresPerStep,
            HiddenSize = hiddenSize,
            MaxEpochs = maxEpochs,
            BatchSize = batchSize,
            LearningRate = learningRate,
        });

    /// <summary>A recurrent sequence regressor configured by <paramref name="options"/>.</summary>
    public SequenceRegressor SequenceRegressor(SequenceRegressor.Options options)
        => new(Environment, options);
}
