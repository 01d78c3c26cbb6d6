using Microsoft.ML.Data;
using Microsoft.ML.Rnn.Tests.Reliability;
using Xunit;

namespace Microsoft.ML.Rnn.Tests.MLNet;

/// <summary>
/// Fitted and loaded components scored in-process through ONNX Runtime (<see cref="RnnScoringEngine"/>, the tests
/// reference Microsoft.ML.Rnn.OnnxRuntime) against the same components through TorchSharp: every classifier
/// configuration the ONNX export tests cover, token text with characters and unknown words, the encoder, the tagger
/// without a CRF, ragged lengths 0..9 with rows of no steps, Transform and PredictionEngine, 8 threads, and what Auto
/// chooses and says.
/// </summary>
public sealed class OnnxRuntimeScoringTests : IDisposable
{
    // Float32 through libtorch's kernels and ONNX Runtime's: sums in different orders over at most a few hundred
    // terms; scores are probabilities or O(1) features (as in OnnxExportTests).
    private const float Tolerance = 2e-5f;

    private readonly string _directory = Directory.CreateTempSubdirectory("rnn-ort-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private sealed class KeyRow
    {
        [KeyType(12)] public uint[] Tokens { get; set; } = [];
    }

    private sealed class StepRow
    {
        public float[] Steps { get; set; } = [];
    }

    private sealed class ClassScores
    {
        public float[] Score { get; set; } = [];
    }

    /// <summary>Every row's <paramref name="column"/> through <paramref name="engine"/> (Transform).</summary>
    private static List<float[]> Scores(RnnTransformerBase model, RnnScoringEngine engine, IDataView input, string column)
    {
        model.ScoringEngine = engine;
        return OnnxExportTests.Floats(model.Transform(input), column);
    }

    private static void AssertClose(List<float[]> expected, List<float[]> actual, string what)
    {
        Assert.Equal(expected.Count, actual.Count);
        for (int i = 0; i < expected.Count; i++)
        {
            Assert.Equal(expected[i].Length, actual[i].Length);
            for (int j = 0; j < expected[i].Length; j++)
                Assert.True(Math.Abs(expected[i][j] - actual[i][j]) <= Tolerance, $"{what}: row {i}, value {j}: TorchSharp {expected[i][j]}, ONNX Runtime {actual[i][j]}");
        }
    }

    [Theory]
    [MemberData(nameof(OnnxExportTests.ClassifierCases), MemberType = typeof(OnnxExportTests))]
    public void ClassifierScoresTheSameThroughBothEngines(string configuration)
    {
        var ml = new MLContext(seed: 1);
        var data = OnnxExportTests.Rows(ml, 60, seed: 2);   // 0 to 9 tokens (the missing key 0 included) or steps
        var options = OnnxExportTests.ClassifierOptions(configuration);
        using var model = ml.Transforms.Rnn.SequenceClassifier(options).Fit(data);
        var input = OnnxExportTests.Only(ml, data, options.FeatureColumnName);

        var torch = Scores(model, RnnScoringEngine.TorchSharp, input, "Score");
        var onnx = Scores(model, RnnScoringEngine.OnnxRuntime, input, "Score");
        AssertClose(torch, onnx, configuration);

        // One row at a time (PredictionEngine), through ONNX Runtime: the batches' scores.
        var rows = ColumnValues.Read(input, options.FeatureColumnName).Cast<object[]>().ToList();
        var single = options.FeaturesPerStep == 2
            ? Predict(ml, model, rows.Select(r => new StepRow { Steps = r.Cast<float>().ToArray() }))
            : Predict(ml, model, rows.Select(r => new KeyRow { Tokens = r.Select(v => (uint)(ulong)v).ToArray() }));
        AssertClose(onnx, single, configuration + ", PredictionEngine");
    }

    private static List<float[]> Predict<TRow>(MLContext ml, RnnSequenceClassifierTransformer model, IEnumerable<TRow> rows)
        where TRow : class, new()
    {
        var engine = ml.Model.CreatePredictionEngine<TRow, ClassScores>(model);   // disposing it would dispose the model
        return rows.Select(r => engine.Predict(r).Score.ToArray()).ToList();
    }

    [Fact]
    public void TokenTextClassifierWithCharactersAndTheEncoderScoreTheSameThroughBothEngines()
    {
        var ml = new MLContext(seed: 1);
        var texts = ml.Data.LoadFromEnumerable(ReliabilityData.Texts(80, seed: 5));
        using var classifier = ReliabilityData.TextClassifier(ml, texts);   // bidirectional GRU, words and characters, 2 networks
        var inputs = VersionToleranceTests.TextInputs(ml);                  // an unknown word and a row of no tokens
        AssertClose(Scores(classifier, RnnScoringEngine.TorchSharp, inputs, "Score"), Scores(classifier, RnnScoringEngine.OnnxRuntime, inputs, "Score"),
            "text classifier");

        var steps = ml.Data.LoadFromEnumerable(ReliabilityData.Steps(60, seed: 6, minSteps: 0));
        using var encoder = ReliabilityData.Encoder(ml, steps);              // bidirectional GRU, mean pooling
        AssertClose(Scores(encoder, RnnScoringEngine.TorchSharp, steps, "Encoding"), Scores(encoder, RnnScoringEngine.OnnxRuntime, steps, "Encoding"),
            "encoder");
    }

    [Theory]
    [InlineData(RowScaling.None)]
    [InlineData(RowScaling.MeanAbsolute)]
    [InlineData(RowScaling.Standardize)]
    public void RegressorScoresTheSameThroughBothEnginesAndAfterLoading(RowScaling scaling)
    {
        var ml = new MLContext(seed: 1);
        var data = OnnxExportTests.Rows(ml, 60, seed: 6);   // 0 to 9 steps of 2 features, a vector label of 2
        using var model = ml.Transforms.Rnn.SequenceRegressor(new SequenceRegressor.Options
        {
            FeatureColumnName = "Steps", FeaturesPerStep = 2, LabelColumnName = "Pair", HiddenSize = 5, MaxEpochs = 2, Seed = 1, EnsembleSize = 2,
            Scaling = scaling, TargetFeatureIndex = 1,
        }).Fit(data);
        var input = OnnxExportTests.Only(ml, data, "Steps");
        var torch = Scores(model, RnnScoringEngine.TorchSharp, input, "Score");
        AssertClose(torch, Scores(model, RnnScoringEngine.OnnxRuntime, input, "Score"), "regressor");

        // The zip carries the graph: loaded, it scores through ONNX Runtime as the fitted model did.
        string path = Path.Combine(_directory, $"regressor-{scaling}.zip");
        ml.Model.Save(model, input.Schema, path);
        using var loaded = (SequenceRegressorTransformer)ml.Model.Load(path, out _);
        AssertClose(torch, Scores(loaded, RnnScoringEngine.OnnxRuntime, input, "Score"), "loaded regressor");
    }

    [Fact]
    public void TaggerWithoutCrfTagsTheSameThroughBothEngines()
    {
        var ml = new MLContext(seed: 1);
        var data = OnnxExportTests.Rows(ml, 60, seed: 4);   // 0 to 9 tokens, 2 tags
        using var tagger = ml.Transforms.Rnn.LstmTagger(new LstmTagger.Options
        {
            FeatureColumnName = "Tokens", LabelColumnName = "Tags", EmbeddingSize = 4, HiddenSize = 5, Bidirectional = true, MaxEpochs = 2,
            Seed = 1, EnsembleSize = 2,
        }).Fit(data);
        var input = OnnxExportTests.Only(ml, data, "Tokens");
        tagger.ScoringEngine = RnnScoringEngine.TorchSharp;
        var torchTags = OnnxExportTests.Keys(tagger.Transform(input), "PredictedLabel");
        var torch = OnnxExportTests.Floats(tagger.Transform(input), "Score");
        tagger.ScoringEngine = RnnScoringEngine.OnnxRuntime;
        Assert.Equal(torchTags, OnnxExportTests.Keys(tagger.Transform(input), "PredictedLabel"));
        AssertClose(torch, OnnxExportTests.Floats(tagger.Transform(input), "Score"), "tagger");
        Assert.Contains(torchTags, t => t.Length == 0);
    }

    [Fact]
    public void AZipLoadedForOnnxRuntimeScoresFromItsOwnGraphWithoutReadingTheNetwork()
    {
        var ml = new MLContext(seed: 1);
        var data = OnnxExportTests.Rows(ml, 60, seed: 2);
        using var model = ml.Transforms.Rnn.SequenceClassifier(OnnxExportTests.ClassifierOptions("gru bidirectional ensemble")).Fit(data);
        var input = OnnxExportTests.Only(ml, data, "Tokens");
        string path = Path.Combine(_directory, "classifier.zip");
        ml.Model.Save(model, input.Schema, path);
        using (var zip = System.IO.Compression.ZipFile.OpenRead(path))
            Assert.Contains(zip.Entries, e => e.FullName.EndsWith("/OnnxGraph", StringComparison.Ordinal) || e.FullName == "OnnxGraph");
        var expected = Scores(model, RnnScoringEngine.TorchSharp, input, "Score");
        var fittedThroughOnnx = Scores(model, RnnScoringEngine.OnnxRuntime, input, "Score");

        var previous = RnnTransformerBase.DefaultScoringEngine;
        RnnTransformerBase.DefaultScoringEngine = RnnScoringEngine.Auto;
        try
        {
            // Loaded for ONNX Runtime: the zip's graph (the one the fitted model builds) is opened at load and the network
            // is never read (no libtorch call).
            using var loaded = (RnnSequenceClassifierTransformer)new MLContext().Model.Load(path, out _);
            Assert.False(loaded.NetworkIsRead);
            var loadedThroughOnnx = OnnxExportTests.Floats(loaded.Transform(input), "Score");
            Assert.Equal(fittedThroughOnnx, loadedThroughOnnx);
            AssertClose(expected, loadedThroughOnnx, "loaded for ONNX Runtime");
            Assert.False(loaded.NetworkIsRead);
            // TorchSharp when asked: the network is read then, and scores as the fitted model.
            Assert.Equal(expected, Scores(loaded, RnnScoringEngine.TorchSharp, input, "Score"));
            Assert.True(loaded.NetworkIsRead);

            // A damaged graph fails the load, naming the component.
            string damaged = Path.Combine(_directory, "damaged.zip");
            File.Copy(path, damaged);
            int edited = ZipMutation.EditEntries(damaged, (name, bytes) =>
            {
                if (!name.EndsWith("OnnxGraph", StringComparison.Ordinal)) return false;
                for (int i = 8; i < Math.Min(bytes.Length, 200); i++) bytes[i] ^= 0x5A;
                return true;
            });
            Assert.Equal(1, edited);
            var error = Assert.ThrowsAny<Exception>(() => new MLContext().Model.Load(damaged, out _));
            Assert.Contains("RNN Sequence Classifier: the model's ONNX graph is damaged", (error.InnerException ?? error).Message);
        }
        finally
        {
            RnnTransformerBase.DefaultScoringEngine = previous;
        }
    }

    [Fact]
    public void EightThreadsWithTheirOwnPredictionEnginesScoreIdentically()
    {
        var ml = new MLContext(seed: 1);
        var data = OnnxExportTests.Rows(ml, 60, seed: 2);
        using var model = ml.Transforms.Rnn.SequenceClassifier(OnnxExportTests.ClassifierOptions("lstm bidirectional")).Fit(data);
        model.ScoringEngine = RnnScoringEngine.OnnxRuntime;
        var rows = ColumnValues.Read(OnnxExportTests.Only(ml, data, "Tokens"), "Tokens").Cast<object[]>()
            .Select(r => new KeyRow { Tokens = r.Select(v => (uint)(ulong)v).ToArray() }).ToArray();
        var expected = Predict(ml, model, rows);
        var results = new List<float[]>[8];
        Parallel.For(0, results.Length, new ParallelOptions { MaxDegreeOfParallelism = results.Length }, t =>
        {
            var engine = ml.Model.CreatePredictionEngine<KeyRow, ClassScores>(model);
            var mine = new List<float[]>();
            for (int repeat = 0; repeat < 5; repeat++)
                mine = rows.Select(r => engine.Predict(r).Score.ToArray()).ToList();
            results[t] = mine;
        });
        foreach (var result in results)
            Assert.Equal(expected, result);
    }

    [Fact]
    public void AutoScoresThroughOnnxRuntimeWhereItCanAndSaysSoOnce()
    {
        var ml = new MLContext(seed: 1);
        var messages = new List<string>();
        ml.Log += (_, e) => { lock (messages) messages.Add(e.Message); };
        var data = OnnxExportTests.Rows(ml, 40, seed: 2);
        using var classifier = ml.Transforms.Rnn.SequenceClassifier(OnnxExportTests.ClassifierOptions("gru bidirectional")).Fit(data);
        var input = OnnxExportTests.Only(ml, data, "Tokens");
        classifier.ScoringEngine = RnnScoringEngine.Auto;
        var auto = OnnxExportTests.Floats(classifier.Transform(input), "Score");
        OnnxExportTests.Floats(classifier.Transform(input), "Score");
        Assert.Equal(Scores(classifier, RnnScoringEngine.OnnxRuntime, input, "Score"), auto);
        Assert.Single(messages, m => m.Contains("RnnSequenceClassifierTransformer: scoring with ONNX Runtime: ScoringEngine is Auto."));

        // A cell of your own that does not describe its step in ONNX has no ONNX form: Auto keeps TorchSharp and says why;
        // OnnxRuntime fails saying so.
        RnnCellKind.Register("test-auto-tanh-sum", (i, h, _) => new Core.TanhSumCell(i, h));
        var options = OnnxExportTests.ClassifierOptions("rnn");
        options.Cell = RnnCellKind.Custom("test-auto-tanh-sum");
        using var custom = ml.Transforms.Rnn.SequenceClassifier(options).Fit(data);
        custom.ScoringEngine = RnnScoringEngine.Auto;
        OnnxExportTests.Floats(custom.Transform(input), "Score");
        Assert.Contains(messages, m => m.Contains("RnnSequenceClassifierTransformer: scoring with TorchSharp (libtorch): the model has no ONNX form: " +
            "RnnSequenceClassifierTransformer: feature column 'Tokens': the cell TanhSumCell does not describe its step"));
        custom.ScoringEngine = RnnScoringEngine.OnnxRuntime;
        var error = Assert.Throws<InvalidOperationException>(() => OnnxExportTests.Floats(custom.Transform(input), "Score"));
        Assert.StartsWith("RnnSequenceClassifierTransformer: ScoringEngine is OnnxRuntime, but the model has no ONNX form:", error.Message);
    }
}
