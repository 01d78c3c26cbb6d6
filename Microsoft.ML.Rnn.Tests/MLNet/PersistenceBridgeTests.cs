using Microsoft.ML.Data;
using Xunit;

namespace Microsoft.ML.Rnn.Tests.MLNet;

/// <summary>
/// Proves the ML.NET persistence bridge (docs/persistence.md) with the test-only LinearProbeTransformer: the
/// estimator workout, values checked against plain arithmetic, loading in a separate process with
/// MLContext.Model.Load only, and a clear error for a model in a newer format.
/// </summary>
public sealed class PersistenceBridgeTests : IDisposable
{
    private static readonly string[] Classes = { "alpha", "beta" };
    private readonly string _directory = Directory.CreateTempSubdirectory("rnn-bridge-").FullName;

    private sealed class KnownSizeRow
    {
        [VectorType(6)] public float[] Steps = Array.Empty<float>();
    }

    private sealed class VariableRow
    {
        public float[] Steps = Array.Empty<float>();
    }

    private sealed class TextRow
    {
        public string Steps = "";
    }

    private sealed class OtherRow
    {
        [VectorType(6)] public float[] Other = Array.Empty<float>();
    }

    private static IDataView KnownSizeData(MLContext ml) => ml.Data.LoadFromEnumerable(new[]
    {
        new KnownSizeRow { Steps = new[] { 1f, 2f, 3f, -1f, 0.5f, 4f } },
        new KnownSizeRow { Steps = new[] { 0f, 0f, 1f, 2f, -3f, 0.25f } },
        new KnownSizeRow { Steps = new[] { -2f, 1f, 0f, 1f, 1f, 1f } },
    });

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void WorkoutPassesForTheProbe()
    {
        var ml = new MLContext(seed: 1);
        var data = KnownSizeData(ml);
        var result = EstimatorWorkout.Run(ml, new LinearProbeEstimator(ml, "Steps", 3, Classes), data, new WorkoutOptions
        {
            ModelPath = Path.Combine(_directory, "probe.zip"),
            InvalidInputs = new (IDataView, string)[]
            {
                (ml.Data.LoadFromEnumerable(new[] { new OtherRow { Other = new float[6] } }), "Steps"),
                (ml.Data.LoadFromEnumerable(new[] { new TextRow { Steps = "a b" } }), "Steps"),
            },
        });
        result.Fitted.Dispose();

        var predicted = result.LoadedOutput.Schema["Predicted"];
        Assert.Equal(new KeyDataViewType(typeof(uint), 2), predicted.Type);
        Assert.Equal(new object[] { "alpha", "beta" }, (object[])ColumnValues.ReadAnnotation(predicted, AnnotationUtils.Kinds.KeyValues));
    }

    [Fact]
    public void LoadedProbeComputesTheSavedLinearMap()
    {
        var ml = new MLContext(seed: 1);
        var data = KnownSizeData(ml);
        using var fitted = new LinearProbeEstimator(ml, "Steps", 3, Classes, seed: 11).Fit(data);
        var (weight, bias) = fitted.Parameters();
        string path = Path.Combine(_directory, "probe.zip");
        ml.Model.Save(fitted, data.Schema, path);
        var loaded = new MLContext().Model.Load(path, out _);

        var scores = ColumnValues.Read(loaded.Transform(data), "Score").Cast<object[]>().ToList();
        var keys = ColumnValues.Read(loaded.Transform(data), "Predicted");
        var rows = data.GetColumn<float[]>("Steps").ToList();
        for (int r = 0; r < rows.Count; r++)
        {
            // Score_g = 1.5 * mean over the 2 steps of (W x_t + b)_g, in double arithmetic.
            var expected = new double[2];
            for (int g = 0; g < 2; g++)
            {
                for (int t = 0; t < 2; t++)
                {
                    double y = bias[g];
                    for (int f = 0; f < 3; f++)
                        y += weight[g * 3 + f] * rows[r][t * 3 + f];
                    expected[g] += 1.5 * y / 2;
                }
                Assert.Equal(expected[g], (float)scores[r][g], 5);
            }
            Assert.Equal(expected[1] > expected[0] ? 2UL : 1UL, keys[r]);
        }
    }

    [Fact]
    public void ModelLoadsInAFreshProcessWithoutRegistration()
    {
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(new[]
        {
            new VariableRow { Steps = new[] { 1f, 2f, 3f } },
            new VariableRow { Steps = new[] { 0f, 0f, 1f, 2f, -3f, 0.25f, 7f, 8f, 9f } },
            new VariableRow { Steps = Array.Empty<float>() },
        });
        using var fitted = new LinearProbeEstimator(ml, "Steps", 3, Classes).Fit(data);
        string path = Path.Combine(_directory, "probe.zip");
        ml.Model.Save(fitted, data.Schema, path);

        var output = fitted.Transform(data);
        var expectedScores = ColumnValues.Read(output, "Score").Cast<object[]>().Select(v => v.Cast<float>().ToArray()).ToList();
        var expectedKeys = ColumnValues.Read(output, "Predicted").Select(k => (float)(ulong)k).ToList();

        var printed = LoaderProcess.Run(ml, path, data, new[] { "Score", "Predicted" }, typeof(LinearProbeTransformer).Assembly.Location);

        Assert.Equal(3, printed["Score"].Count);
        for (int r = 0; r < 3; r++)
        {
            Assert.Equal(expectedScores[r].Length, printed["Score"][r].Length);
            for (int g = 0; g < expectedScores[r].Length; g++)
                Assert.True(Math.Abs(expectedScores[r][g] - printed["Score"][r][g]) <= 1e-6,
                    $"row {r}, score {g}: in-process {expectedScores[r][g]:R}, Loader process {printed["Score"][r][g]:R}");
            Assert.Equal(new[] { expectedKeys[r] }, printed["Predicted"][r]);
        }
    }

    private sealed class ProbeOutput
    {
        public float[] Score = Array.Empty<float>();
        public uint Predicted = uint.MaxValue;
    }

    [Fact]
    public void PredictionEngineWorksOnTheLoadedModel()
    {
        var ml = new MLContext(seed: 1);
        var data = KnownSizeData(ml);
        using var fitted = new LinearProbeEstimator(ml, "Steps", 3, Classes).Fit(data);
        string path = Path.Combine(_directory, "probe.zip");
        ml.Model.Save(fitted, data.Schema, path);
        var expected = ColumnValues.Read(fitted.Transform(data), "Score").Cast<object[]>().First().Cast<float>().ToArray();

        var loadContext = new MLContext();
        var engine = loadContext.Model.CreatePredictionEngine<KnownSizeRow, ProbeOutput>(loadContext.Model.Load(path, out _));
        var prediction = engine.Predict(new KnownSizeRow { Steps = new[] { 1f, 2f, 3f, -1f, 0.5f, 4f } });

        Assert.Equal(expected, prediction.Score);
        Assert.Equal(expected[1] > expected[0] ? 2u : 1u, prediction.Predicted);
    }

    [Fact]
    public void ModelInANewerFormatFailsWithAClearMessage()
    {
        var ml = new MLContext(seed: 1);
        var data = KnownSizeData(ml);
        using var fitted = new LinearProbeEstimator(ml, "Steps", 3, Classes).Fit(data);
        string path = Path.Combine(_directory, "newer.zip");
        LinearProbeTransformer.SaveAsVersionForTests = 0x00020001;
        try
        {
            ml.Model.Save(fitted, data.Schema, path);
        }
        finally
        {
            LinearProbeTransformer.SaveAsVersionForTests = null;
        }

        var error = Assert.ThrowsAny<Exception>(() => new MLContext().Model.Load(path, out _));
        string messages = string.Join(" | ", Chain(error).Select(e => e.Message));
        Assert.Contains("Linear Probe (test): cannot load this model: it was saved in format version 0x00020001 by a newer Microsoft.ML.Rnn", messages);
        Assert.Contains("reads format versions up to 0x00010001. Update the Microsoft.ML.Rnn package to load it.", messages);
    }

    private static IEnumerable<Exception> Chain(Exception e)
    {
        for (Exception? x = e; x is not null; x = x.InnerException)
            yield return x;
    }
}
