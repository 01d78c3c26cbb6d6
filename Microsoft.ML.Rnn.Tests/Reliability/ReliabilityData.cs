using Microsoft.ML.Data;

namespace Microsoft.ML.Rnn.Tests.Reliability;

/// <summary>
/// Small deterministic data sets and models shared by the reliability tests: Single steps (F = 2) with a Boolean
/// label, key tokens (10 keys) with key tags (3 tags). Every value is computed from a seed, so the golden fixtures'
/// inputs can be rebuilt here without files.
/// </summary>
internal static class ReliabilityData
{
    /// <summary>A row of Single steps (variable length, 2 values per step) and a Boolean label.</summary>
    public sealed class StepRow
    {
        public float[] Features = Array.Empty<float>();
        public bool Label;
    }

    /// <summary>A row of Single steps only (scoring input).</summary>
    public sealed class StepInput
    {
        public float[] Features = Array.Empty<float>();
    }

    /// <summary>A row of token keys (1..10) and tag keys (1..3), as many tags as tokens.</summary>
    public sealed class TokenRow
    {
        [KeyType(10)] public uint[] Features = Array.Empty<uint>();
        [KeyType(3)] public uint[] Label = Array.Empty<uint>();
    }

    /// <summary>A row of token keys only (scoring input).</summary>
    public sealed class TokenInput
    {
        [KeyType(10)] public uint[] Features = Array.Empty<uint>();
    }

    /// <summary>A row of token text and a Boolean label.</summary>
    public sealed class TextRow
    {
        public string[] Features = Array.Empty<string>();
        public bool Label;
    }

    /// <summary>A row of token text only (scoring input).</summary>
    public sealed class TextInput
    {
        public string[] Features = Array.Empty<string>();
    }

    /// <summary>Binary classifier output.</summary>
    public sealed class BinaryPrediction
    {
        public float Score { get; set; }
        public float Probability { get; set; }
        public bool PredictedLabel { get; set; }
    }

    /// <summary>
    /// <paramref name="count"/> rows of 0..<paramref name="maxSteps"/> steps of 2 values in [-1, 1]; the label says
    /// whether the first values sum to more than 0 (learnable, so training is meaningful).
    /// </summary>
    public static StepRow[] Steps(int count, int seed, int maxSteps = 6, int minSteps = 1)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, count).Select(_ =>
        {
            var values = Enumerable.Range(0, 2 * random.Next(minSteps, maxSteps + 1)).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
            return new StepRow { Features = values, Label = values.Where((_, i) => i % 2 == 0).Sum() > 0 };
        }).ToArray();
    }

    /// <summary><paramref name="count"/> rows of 1..<paramref name="maxSteps"/> tokens; a token's tag is (token - 1) % 3 + 1, shifted by the previous token.</summary>
    public static TokenRow[] Tokens(int count, int seed, int maxSteps = 6)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, count).Select(_ =>
        {
            var tokens = Enumerable.Range(0, random.Next(1, maxSteps + 1)).Select(_ => (uint)random.Next(1, 11)).ToArray();
            var tags = tokens.Select((t, i) => (uint)((t + (i > 0 ? tokens[i - 1] : 0)) % 3 + 1)).ToArray();
            return new TokenRow { Features = tokens, Label = tags };
        }).ToArray();
    }

    /// <summary>A small binary classifier on <see cref="Steps"/> (LSTM, H = 6).</summary>
    public static RnnSequenceClassifierTransformer Classifier(MLContext ml, IDataView data, int? maxSequenceLength = null, int epochs = 2)
        => ml.Transforms.Rnn.SequenceClassifier(new RnnSequenceClassifier.Options
        {
            FeaturesPerStep = 2, HiddenSize = 6, MaxEpochs = epochs, BatchSize = 8, Seed = 7, MaxSequenceLength = maxSequenceLength,
            EarlyStoppingPatience = null, EnsembleSize = 2,   // two networks: the ensemble's format is fuzzed and shared too, at little cost
        }).Fit(data);

    /// <summary>
    /// A small regressor on <see cref="Steps"/> (GRU, H = 5, two networks, rows scaled by the second feature): the label
    /// is the sum of every row's first values, through a vector label of one value (the vector form, fuzzed too).
    /// </summary>
    public static SequenceRegressorTransformer Regressor(MLContext ml, IDataView steps)
    {
        var data = ml.Data.LoadFromEnumerable(ml.Data.CreateEnumerable<StepRow>(steps, reuseRowObject: false)
            .Select(r => new ValueRow { Features = r.Features, Value = [r.Features.Where((_, i) => i % 2 == 0).Sum()] }));
        return ml.Transforms.Rnn.SequenceRegressor(new SequenceRegressor.Options
        {
            FeatureColumnName = "Features", LabelColumnName = "Value", FeaturesPerStep = 2, HiddenSize = 5, Cell = RnnCellKind.Gru(),
            MaxEpochs = 2, BatchSize = 8, Seed = 7, EnsembleSize = 2, Scaling = RowScaling.MeanAbsolute, TargetFeatureIndex = 1,
        }).Fit(data);
    }

    /// <summary>Steps with a vector label of one value.</summary>
    public sealed class ValueRow
    {
        public float[] Features { get; set; } = [];
        [VectorType(1)] public float[] Value { get; set; } = [];
    }

    /// <summary>A small CRF tagger on <see cref="Tokens"/> (bidirectional LSTM, E = 4, H = 5).</summary>
    public static LstmTaggerTransformer Tagger(MLContext ml, IDataView data, int? maxSequenceLength = null)
        => ml.Transforms.Rnn.LstmTagger(new LstmTagger.Options
        {
            EmbeddingSize = 4, HiddenSize = 5, Bidirectional = true, UseCrf = true, MaxEpochs = 2, BatchSize = 8, Seed = 7,
            MaxSequenceLength = maxSequenceLength,
        }).Fit(data);

    /// <summary>A small self-supervised bidirectional GRU encoder on <see cref="Steps"/> (H = 4, mean pooling).</summary>
    public static BiGruEncoderTransformer Encoder(MLContext ml, IDataView data)
        => ml.Transforms.Rnn.BiGruEncoder(new BiGruEncoder.Options
        {
            FeatureColumnName = "Features", FeaturesPerStep = 2, HiddenSize = 4, MaxEpochs = 2, BatchSize = 8, Seed = 7,
            Objective = EncoderObjective.NextStepPrediction, Pooling = SequencePooling.Mean,
        }).Fit(data);

    private static readonly string[] Words = ["calm", "storm", "sunny", "rain", "wind", "clear", "cloud", "fog", "mild", "cold"];

    /// <summary>
    /// <paramref name="count"/> rows of 1..<paramref name="maxSteps"/> words of <see cref="Words"/>; the label says
    /// whether the row holds more words of the first half of the list than of the second.
    /// </summary>
    public static TextRow[] Texts(int count, int seed, int maxSteps = 6)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, count).Select(_ =>
        {
            var indices = Enumerable.Range(0, random.Next(1, maxSteps + 1)).Select(_ => random.Next(Words.Length)).ToArray();
            return new TextRow { Features = indices.Select(i => Words[i]).ToArray(), Label = indices.Count(i => i < 5) * 2 > indices.Length };
        }).ToArray();
    }

    /// <summary>A small classifier on <see cref="Texts"/> with the defaults' cell (bidirectional GRU), words and characters, two networks.</summary>
    public static RnnSequenceClassifierTransformer TextClassifier(MLContext ml, IDataView data)
        => ml.Transforms.Rnn.SequenceClassifier(new RnnSequenceClassifier.Options
        {
            EmbeddingSize = 4, CharacterFeatures = 3, HiddenSize = 4, MaxEpochs = 2, BatchSize = 8, Seed = 7,
            EarlyStoppingPatience = null, EnsembleSize = 2,
        }).Fit(data);
}
