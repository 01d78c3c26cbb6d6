using Microsoft.VisualStudio.TestTools.UnitTesting;

[assembly: DoNotParallelize]

namespace Microsoft.ML.Rnn.EndToEndTests;

/// <summary>
/// Train in one process, score in another: examples/DigitsRows trains a small model, saves the zip and writes its own
/// scores of every digit row; examples/ProductionApp loads that zip (it has no training code) and scores the same file
/// with a PredictionEngine row by row and with Transform in batches. Predictions must be identical, and a missing or
/// corrupt zip must end the app with a clear message and a non-zero exit code.
/// </summary>
[TestClass]
public sealed class ProductionAppTests
{
    private static string s_directory = "";
    private static string s_model = "";
    private static string s_onnx = "";
    private static string s_trainerScores = "";
    private static string s_trainerOutput = "";

    /// <summary>Trains once for the class: 3 epochs, no baselines, in a temporary folder.</summary>
    [ClassInitialize]
    public static void TrainInAnotherProcess(TestContext context)
    {
        s_directory = Path.Combine(Path.GetTempPath(), "rnn-e2e-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(s_directory);
        s_model = Path.Combine(s_directory, "digits-rnn.zip");
        s_onnx = Path.Combine(s_directory, "digits-rnn.onnx");
        s_trainerScores = Path.Combine(s_directory, "trainer-scores.tsv");
        var (exitCode, output, error) = ExampleProcess.Run(ExampleProcess.DigitsRows, s_directory,
            "--epochs", "3", "--rnn-only", "--model", s_model, "--onnx", s_onnx, "--scores", s_trainerScores);
        Assert.AreEqual(0, exitCode, $"DigitsRows failed:\n{output}\n{error}");
        s_trainerOutput = output;
    }

    [ClassCleanup]
    public static void DeleteFolder()
    {
        if (Directory.Exists(s_directory))
            Directory.Delete(s_directory, recursive: true);
    }

    [TestMethod]
    public void TrainerReportsProgressAndWritesItsLearningCurves()
    {
        // Redirected output: one plain line per epoch, then the summary line.
        StringAssert.Contains(s_trainerOutput, "BiLSTM epoch 1/3  loss ");
        StringAssert.Contains(s_trainerOutput, "BiLSTM epoch 3/3  loss ");
        StringAssert.Contains(s_trainerOutput, "val acc ");
        Assert.IsFalse(s_trainerOutput.Contains('\r'), "no live redraw when the output is redirected");
        var png = Path.Combine(s_directory, "digits-rnn-curves.png");
        Assert.IsTrue(File.Exists(png));
        byte[] header = File.ReadAllBytes(png)[..8];
        CollectionAssert.AreEqual(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A }, header);
    }

    [TestMethod]
    public void ProductionAppScoresTheFileExactlyAsTheTrainingProcessDid()
    {
        string batch = Path.Combine(s_directory, "production-batch.tsv");
        string single = Path.Combine(s_directory, "production-single.tsv");
        var (exitCode, output, error) = ExampleProcess.Run(ExampleProcess.ProductionApp, s_directory,
            s_model, "--rows", "5", "--scores", batch, "--single-scores", single);
        Assert.AreEqual(0, exitCode, $"ProductionApp failed:\n{output}\n{error}");

        string[] expected = File.ReadAllLines(s_trainerScores);
        string[] batchLines = File.ReadAllLines(batch);
        Assert.AreEqual(1797, expected.Length);
        // Round-trip floats: identical text means bit-identical probabilities for every row.
        CollectionAssert.AreEqual(expected, batchLines);
        // The PredictionEngine (one row at a time) agrees with the batched Transform: same predicted class, and the
        // same probabilities up to float rounding (a batch of 1 and a batch of 32 take different matmul kernels).
        string[] singleLines = File.ReadAllLines(single);
        Assert.HasCount(5, singleLines);
        for (int row = 0; row < 5; row++)
        {
            var (batchKey, batchScores) = Parse(expected[row]);
            var (singleKey, singleScores) = Parse(singleLines[row]);
            Assert.AreEqual(batchKey, singleKey, $"row {row}");
            Assert.HasCount(batchScores.Length, singleScores);
            for (int k = 0; k < batchScores.Length; k++)
                Assert.AreEqual(batchScores[k], singleScores[k], 1e-5f, $"row {row}, class {k}");
        }
        StringAssert.Contains(output, "scored 1797 rows in batches");
        StringAssert.Contains(output, "row 0: predicted ");
    }

    /// <summary>
    /// The model DigitsRows converted with ML.NET's ConvertToOnnx, scored by examples/OnnxProductionApp, which references
    /// ONNX Runtime only: the same predicted class for every row and the same probabilities up to float rounding (two
    /// runtimes sum in different orders), from an app whose build holds no libtorch, TorchSharp or ML.NET.
    /// </summary>
    [TestMethod]
    public void OnnxAppScoresTheFileAsTheTrainingProcessDidWithoutLibtorch()
    {
        string batch = Path.Combine(s_directory, "onnx-batch.tsv");
        var (exitCode, output, error) = ExampleProcess.Run(ExampleProcess.OnnxProductionApp, s_directory, s_onnx, "--rows", "2", "--scores", batch);
        Assert.AreEqual(0, exitCode, $"OnnxProductionApp failed:\n{output}\n{error}");
        string[] expected = File.ReadAllLines(s_trainerScores), actual = File.ReadAllLines(batch);
        Assert.HasCount(expected.Length, actual);
        for (int row = 0; row < expected.Length; row++)
        {
            var (expectedKey, expectedScores) = Parse(expected[row]);
            var (key, scores) = Parse(actual[row]);
            Assert.AreEqual(expectedKey, key, $"row {row}");
            for (int k = 0; k < scores.Length; k++)
                Assert.AreEqual(expectedScores[k], scores[k], 1e-5f, $"row {row}, class {k}");
        }
        StringAssert.Contains(output, "scored 1797 rows in one call");
        var files = Directory.GetFiles(Path.GetDirectoryName(ExampleProcess.OnnxProductionApp)!, "*", SearchOption.AllDirectories).Select(Path.GetFileName).ToList();
        CollectionAssert.Contains(files, "Microsoft.ML.OnnxRuntime.dll");
        Assert.IsFalse(files.Any(f => f!.Contains("torch", StringComparison.OrdinalIgnoreCase) || f!.StartsWith("Microsoft.ML.Data", StringComparison.Ordinal)),
            "the ONNX app's build holds no libtorch, TorchSharp or ML.NET: " + string.Join(", ", files.Where(f => f!.Contains("torch", StringComparison.OrdinalIgnoreCase))));
    }

    private static (uint Key, float[] Scores) Parse(string line)
    {
        var parts = line.Split('\t');
        return (uint.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture),
            parts[2].Split(' ').Select(v => float.Parse(v, System.Globalization.CultureInfo.InvariantCulture)).ToArray());
    }

    [TestMethod]
    public void MissingModelExitsWithCodeTwoAndSaysHowToMakeOne()
    {
        var (exitCode, _, error) = ExampleProcess.Run(ExampleProcess.ProductionApp, s_directory, Path.Combine(s_directory, "absent.zip"));
        Assert.AreEqual(2, exitCode);
        StringAssert.Contains(error, "ProductionApp: model file '");
        StringAssert.Contains(error, "absent.zip' not found");
        StringAssert.Contains(error, "dotnet run --project examples/DigitsRows -c Release");
    }

    [TestMethod]
    public void TruncatedModelExitsWithCodeThree()
    {
        string truncated = Path.Combine(s_directory, "truncated.zip");
        byte[] bytes = File.ReadAllBytes(s_model);
        File.WriteAllBytes(truncated, bytes[..(bytes.Length / 2)]);
        var (exitCode, _, error) = ExampleProcess.Run(ExampleProcess.ProductionApp, s_directory, truncated);
        Assert.AreEqual(3, exitCode, error);
        StringAssert.Contains(error, "truncated.zip': it is corrupt, truncated or not an ML.NET model zip");
    }

    [TestMethod]
    public void ZipWithDamagedEntriesExitsWithCodeThree()
    {
        // A valid zip whose entries are damaged: flip bytes in the middle of every entry's data.
        string corrupt = Path.Combine(s_directory, "corrupt.zip");
        File.Copy(s_model, corrupt, overwrite: true);
        using (var zip = System.IO.Compression.ZipFile.Open(corrupt, System.IO.Compression.ZipArchiveMode.Update))
        {
            foreach (var entry in zip.Entries.ToList())
            {
                byte[] data;
                using (var read = entry.Open()) { using var copy = new MemoryStream(); read.CopyTo(copy); data = copy.ToArray(); }
                for (int i = data.Length / 3; i < data.Length / 3 + 16 && i < data.Length; i++)
                    data[i] ^= 0x5A;
                string name = entry.FullName;
                entry.Delete();
                using var write = zip.CreateEntry(name).Open();
                write.Write(data);
            }
        }
        var (exitCode, _, error) = ExampleProcess.Run(ExampleProcess.ProductionApp, s_directory, corrupt);
        Assert.AreEqual(3, exitCode, error);
        StringAssert.Contains(error, "corrupt.zip': it is corrupt, truncated or not an ML.NET model zip");
    }

    [TestMethod]
    public void ModelThatDoesNotClassifyDigitsExitsWithCodeFour()
    {
        // A valid ML.NET model over the same columns that produces no class scores.
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(new[] { new PixelRow { Features = new float[64], Digit = 3 } });
        string other = Path.Combine(s_directory, "normalizer.zip");
        ml.Model.Save(ml.Transforms.NormalizeMinMax("Features").Fit(data), data.Schema, other);
        var (exitCode, _, error) = ExampleProcess.Run(ExampleProcess.ProductionApp, s_directory, other);
        Assert.AreEqual(4, exitCode, error);
        StringAssert.Contains(error, "normalizer.zip' (input columns: Features, Digit) does not score digit rows");
        StringAssert.Contains(error, "it has no multiclass Score and PredictedLabel output columns");
    }

    [TestMethod]
    public void MissingDataFileExitsWithCodeFiveAndBadArgumentsWithCodeOne()
    {
        var (exitCode, _, error) = ExampleProcess.Run(ExampleProcess.ProductionApp, s_directory, s_model, Path.Combine(s_directory, "absent.csv"));
        Assert.AreEqual(5, exitCode, error);
        StringAssert.Contains(error, "absent.csv' not found.");
        (exitCode, _, error) = ExampleProcess.Run(ExampleProcess.ProductionApp, s_directory, s_model, "--rows", "many");
        Assert.AreEqual(1, exitCode, error);
        StringAssert.Contains(error, "ProductionApp: --rows must be a non-negative integer, got 'many'.");
    }

    private sealed class PixelRow
    {
        [Microsoft.ML.Data.VectorType(64)] public float[] Features { get; set; } = [];
        public float Digit { get; set; }
    }

    [TestMethod]
    public void NonModelFileExitsWithCodeThree()
    {
        string text = Path.Combine(s_directory, "notes.zip");
        File.WriteAllText(text, "not a model");
        var (exitCode, _, error) = ExampleProcess.Run(ExampleProcess.ProductionApp, s_directory, text);
        Assert.AreEqual(3, exitCode, error);
        StringAssert.Contains(error, "notes.zip': it is corrupt, truncated or not an ML.NET model zip");
    }
}
