namespace Microsoft.ML.Rnn;

public sealed partial class RnnCatalog
{
    /// <summary>A recurrent sequence tagger (see <see cref="Rnn.LstmTagger"/>) with the common settings.</summary>
    /// <param name="labelColumnName">Variable-length vector of keys: one tag per token.</param>
    /// <param name="featureColumnName">Vector of keys (tokens) or of Single (steps of <paramref name="featuresPerStep"/> values).</param>
    /// <param name="featuresPerStep">Single input: values per step, at least 1; 1 for key input.</param>
    /// <param name="hiddenSize">Hidden size of the recurrent layers, at least 1.</param>
    /// <param name="bidirectional">Read each sentence in both directions (usual for tagging).</param>
    /// <param name="useCrf">Decode with a linear-chain CRF (Viterbi) instead of per-token argmax.</param>
    /// <param name="maxEpochs">Maximum training epochs, at least 1.</param>
    /// <param name="batchSize">Rows per mini-batch, at least 1.</param>
    /// <param name="learningRate">Adam learning rate, greater than 0.</param>
    public LstmTagger LstmTagger(string labelColumnName = "Label", string featureColumnName = "Features",
        int featuresPerStep = 1, int hiddenSize = 64, bool bidirectional = true, bool useCrf = false, int maxEpochs = 10,
        int batchSize = 32, float learningRate = 0.01f)
        => LstmTagger(new LstmTagger.Options
        {
            LabelColumnName = labelColumnName,
            FeatureColumnName = featureColumnName,
            FeaturesPerStep = featuresPerStep,
            HiddenSize = hiddenSize,
            Bidirectional = bidirectional,
            UseCrf = useCrf,
            Cell = RnnCellKind.Lstm(),
            MaxEpochs = maxEpochs,
            BatchSize = batchSize,
            LearningRate = learningRate,
        });

    /// <summary>A recurrent sequence tagger configured by <paramref name="options"/>.</summary>
    public LstmTagger LstmTagger(LstmTagger.Options options) => new(Environment, options);
}
