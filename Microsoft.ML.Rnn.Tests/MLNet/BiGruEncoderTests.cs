using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Rnn.Networks;
using Xunit;

namespace Microsoft.ML.Rnn.Tests.MLNet;

public sealed class BiGruEncoderTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("rnn-encoder-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private sealed class Fortune
    {
        [LoadColumn(0)] public string Topic { get; set; } = "";
        [LoadColumn(1)] public string Text { get; set; } = "";
    }

    /// <summary>The fortune topics; texts contain quotes, so quoting is off.</summary>
    private static IDataView Fortunes(MLContext ml, string file) =>
        ml.Data.LoadFromTextFile<Fortune>(Path.Combine(AppContext.BaseDirectory, "Data", file), separatorChar: '\t',
            hasHeader: true, allowQuoting: false);

    private static IEstimator<ITransformer> Tokens(MLContext ml) =>
        ml.Transforms.Text.NormalizeText("Normalized", "Text")
            .Append(ml.Transforms.Text.TokenizeIntoWords("Words", "Normalized"))
            .Append(ml.Transforms.Conversion.MapValueToKey("Tokens", "Words", maximumNumberOfKeys: 4000))
            .Append(ml.Transforms.Conversion.MapValueToKey("Label", "Topic"));

    [Theory]
    [InlineData(EncoderObjective.Supervised, SequencePooling.LastState)]
    [InlineData(EncoderObjective.NextStepPrediction, SequencePooling.Mean)]
    public void WorkoutWithTokens(EncoderObjective objective, SequencePooling pooling)
    {
        var ml = new MLContext(seed: 1);
        var raw = ml.Data.TakeRows(ml.Data.ShuffleRows(Fortunes(ml, "fortune-topics-train.tsv"), seed: 2), 60);
        var data = Tokens(ml).Fit(raw).Transform(raw);
        var options = new BiGruEncoder.Options
        {
            FeatureColumnName = "Tokens", Objective = objective, Pooling = pooling, EmbeddingSize = 8, HiddenSize = 6,
            MaxEpochs = 2, BatchSize = 16, Seed = 4,
        };
        var result = EstimatorWorkout.Run(ml, ml.Transforms.Rnn.BiGruEncoder(options), data, new WorkoutOptions
        {
            ModelPath = Path.Combine(_directory, $"encoder-{objective}.zip"),
            Tolerance = 1e-5,
            InvalidInputs = new (IDataView, string)[]
            {
                (raw, "Tokens"),
                (ml.Transforms.Text.TokenizeIntoWords("Tokens", "Text").Fit(raw).Transform(raw), "Tokens"), // text, not keys
            },
        });
        using var fitted = result.Fitted;
        Assert.Equal(12, fitted.OutputSize); // 2 directions × 6
        Assert.Equal(new VectorDataViewType(NumberDataViewType.Single, 12), result.LoadedOutput.Schema["Encoding"].Type);

        var loader = LoaderProcess.Run(ml, result.ModelPath, data, new[] { "Encoding" });
        var expected = ColumnValues.Read(result.FittedOutput, "Encoding").Cast<object[]>().ToList();
        for (int i = 0; i < expected.Count; i++)
            Assert.Equal(expected[i].Cast<float>().ToArray(), loader["Encoding"][i], new Tolerance(1e-5f));
    }

    private sealed class Steps
    {
        public float[] Features { get; set; } = [];
    }

    [Fact]
    public void SelfSupervisedOnFloatStepsLearnsAndWorksOut()
    {
        var ml = new MLContext(seed: 1);
        var random = new Random(3);
        // Sine waves with random phase and length: the next step is predictable from the past.
        var rows = Enumerable.Range(0, 64).Select(_ =>
        {
            double phase = random.NextDouble() * 6.28;
            int length = random.Next(3, 12);
            return new Steps { Features = Enumerable.Range(0, length).Select(t => (float)Math.Sin(phase + 0.6 * t)).ToArray() };
        }).ToArray();
        var data = ml.Data.LoadFromEnumerable(rows);
        var result = EstimatorWorkout.Run(ml, ml.Transforms.Rnn.BiGruEncoder(featureColumnName: "Features", labelColumnName: null,
            hiddenSize: 8, maxEpochs: 3, batchSize: 16), data, new WorkoutOptions { ModelPath = Path.Combine(_directory, "steps.zip"), Tolerance = 1e-5 });
        using var fitted = result.Fitted;
        Assert.Equal(16, fitted.OutputSize);
    }

    [Fact]
    public void WrongLabelTypeIsRejected()
    {
        var ml = new MLContext(seed: 1);
        var raw = ml.Data.TakeRows(Fortunes(ml, "fortune-topics-train.tsv"), 10);
        var data = Tokens(ml).Fit(raw).Transform(raw);
        var e = Assert.ThrowsAny<Exception>(() => ml.Transforms.Rnn.BiGruEncoder(featureColumnName: "Tokens", labelColumnName: "Topic").Fit(data));
        Assert.Contains("Schema mismatch for label column 'Topic'", e.Message);
    }

    /// <summary>
    /// Real data: encoder features concatenated with FeaturizeText n-grams train an SDCA model end to end on the fortune
    /// topics (8 classes, chance 0.125).
    /// </summary>
    [Fact]
    public void EncoderFeaturesWithFeaturizeTextTrainSdcaOnFortuneTopics()
    {
        var ml = new MLContext(seed: 1);
        var train = ml.Data.TakeRows(ml.Data.ShuffleRows(Fortunes(ml, "fortune-topics-train.tsv"), seed: 1), 1200);
        var test = Fortunes(ml, "fortune-topics-test.tsv");
        var pipeline = Tokens(ml)
            .Append(ml.Transforms.Rnn.BiGruEncoder(new BiGruEncoder.Options
            {
                FeatureColumnName = "Tokens", EmbeddingSize = 32, HiddenSize = 32, MaxEpochs = 4, BatchSize = 32, LearningRate = 0.01f, Seed = 2,
            }))
            .Append(ml.Transforms.Text.FeaturizeText("TextFeatures", "Text"))
            .Append(ml.Transforms.Concatenate("Features", "Encoding", "TextFeatures"))
            .Append(ml.MulticlassClassification.Trainers.SdcaMaximumEntropy(maximumNumberOfIterations: 20));
        var model = pipeline.Fit(train);
        var metrics = ml.MulticlassClassification.Evaluate(model.Transform(test));
        Assert.True(metrics.MicroAccuracy > 0.35, $"micro accuracy {metrics.MicroAccuracy:F3}");
        (model as IDisposable)?.Dispose();
    }

    private sealed class Tolerance(float tolerance) : IEqualityComparer<float>
    {
        public bool Equals(float x, float y) => Math.Abs(x - y) <= tolerance;
        public int GetHashCode(float obj) => 0;
    }
}
