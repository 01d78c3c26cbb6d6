namespace Microsoft.ML.Rnn;

public sealed partial class RnnCatalog
{
    /// <summary>A bidirectional GRU sequence encoder (see <see cref="Rnn.BiGruEncoder"/>) with the common settings.</summary>
    /// <param name="outputColumnName">The known-size vector of Single added to each row.</param>
    /// <param name="featureColumnName">Vector of keys (tokens) or of Single (steps of <paramref name="featuresPerStep"/> values).</param>
    /// <param name="labelColumnName">Key or Boolean label to train on; null trains without a label (next-step prediction).</param>
    /// <param name="featuresPerStep">Single input: values per step, at least 1; 1 for key input.</param>
    /// <param name="hiddenSize">Hidden size per direction, at least 1 (the output has 2 × this many values).</param>
    /// <param name="pooling">How the per-step outputs become one vector.</param>
    /// <param name="maxEpochs">Maximum training epochs, at least 1.</param>
    /// <param name="batchSize">Rows per mini-batch, at least 1.</param>
    /// <param name="learningRate">Adam learning rate, greater than 0.</param>
    public BiGruEncoder BiGruEncoder(string outputColumnName = "Encoding", string featureColumnName = "Features",
        string? labelColumnName = "Label", int featuresPerStep = 1, int hiddenSize = 64,
        SequencePooling pooling = SequencePooling.LastState, int maxEpochs = 10, int batchSize = 32, float learningRate = 0.01f)
    {
        var options = new BiGruEncoder.Options
        {
            OutputColumnName = outputColumnName,
            FeatureColumnName = featureColumnName,
            Objective = labelColumnName is null ? EncoderObjective.NextStepPrediction : EncoderObjective.Supervised,
            FeaturesPerStep = featuresPerStep,
            HiddenSize = hiddenSize,
            Pooling = pooling,
            MaxEpochs = maxEpochs,
            BatchSize = batchSize,
            LearningRate = learningRate,
        };
        if (labelColumnName is not null) options.LabelColumnName = labelColumnName;
        return BiGruEncoder(options);
    }

    /// <summary>A recurrent sequence encoder configured by <paramref name="options"/>.</summary>
    public BiGruEncoder BiGruEncoder(BiGruEncoder.Options options) => new(Environment, options);
}
