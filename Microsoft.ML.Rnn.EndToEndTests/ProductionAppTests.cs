[assembly: DoNotParallelize]

namespace Microsoft.ML.Rnn.EndToEndTests;

/// <summary>
/// Train in one process, score in another: examples/DigitsRows trains a small model, saves the zip and writes its own
/// scores of every digit row; examples/ProductionApp loads that zip (it has no training code and no libtorch: it scores
/// through ONNX Runtime in-process) and scores the same file with a PredictionEngine row by row and with Transform in
/// batches. Predictions must be the training process's, and a missing or corrupt zip must end the app with a clear
/// message and a non-zero exit code.
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
    public void ProductionAppScoresTheZipThroughOnnxRuntimeAsTheTrainingProcessDidWithoutLibtorch()
    {
        string folder = Path.GetDirectoryName(ExampleProcess.ProductionApp)!;
        AssertNoLibtorch(folder, "before the run");
        string batch = Path.Combine(s_directory, "production-batch.tsv");
        string single = Path.Combine(s_directory, "production-single.tsv");
        var (exitCode, output, error) = ExampleProcess.Run(ExampleProcess.ProductionApp, s_directory,
            s_model, "--rows", "5", "--scores", batch, "--single-scores", single);
        Assert.AreEqual(0, exitCode, $"ProductionApp failed:\n{output}\n{error}");

        // The training process scored through libtorch, the app through ONNX Runtime: the same predicted class for
        // every row, and the same probabilities up to float rounding (two runtimes sum in different orders); the
        // PredictionEngine's rows as the batches'.
        string[] expected = File.ReadAllLines(s_trainerScores);
        Assert.AreEqual(1797, expected.Length);
        AssertSameScores(expected, File.ReadAllLines(batch));
        string[] singleLines = File.ReadAllLines(single);
        Assert.HasCount(5, singleLines);
        AssertSameScores(expected[..5], singleLines);
        StringAssert.Contains(output, "scored 1797 rows in batches");
        StringAssert.Contains(output, "row 0: predicted ");
        // Nothing reached for libtorch: TorchSharp would have copied it next to the app on first use.
        AssertNoLibtorch(folder, "after the run");
    }

    /// <summary>
    /// examples/ProductionApp published for Linux x64 as a user would ship it: small (no libtorch), and the published
    /// app scores the zip as the training process did.
    /// </summary>
    [TestMethod]
    public void PublishedProductionAppIsSmallHoldsNoLibtorchAndScoresTheZip()
    {
        string project = Path.GetFullPath(Path.Combine(Path.GetDirectoryName(ExampleProcess.ProductionApp)!, "..", "..", "..", "ProductionApp.csproj"));
        string published = Path.Combine(s_directory, "published");
        var (exitCode, output, error) = ExampleProcess.Run("publish", s_directory, project, "-c", "Release", "-r", "linux-x64", "-o", published,
            "-nodeReuse:false", "--disable-build-servers");
        Assert.AreEqual(0, exitCode, $"dotnet publish failed:\n{output}\n{error}");
        long bytes = Directory.GetFiles(published, "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length);
        Assert.IsLessThanOrEqualTo(60L * 1024 * 1024, bytes, $"published size {bytes:N0} bytes");
        AssertNoLibtorch(published, "in the published folder");

        string scores = Path.Combine(s_directory, "published-batch.tsv");
        (exitCode, output, error) = ExampleProcess.Run(Path.Combine(published, "ProductionApp.dll"), s_directory, s_model, "--rows", "1", "--scores", scores);
        Assert.AreEqual(0, exitCode, $"published ProductionApp failed:\n{output}\n{error}");
        AssertSameScores(File.ReadAllLines(s_trainerScores), File.ReadAllLines(scores));
        AssertNoLibtorch(published, "after the published app ran");
    }

    /// <summary>
    /// A zip without its ONNX graph (as saved before the graph was written) needs the network, that is libtorch, which
    /// the app does not ship: it stops with code 6 and a message saying so, instead of calling the file corrupt.
    /// </summary>
    [TestMethod]
    public void AZipWithoutItsOnnxGraphExitsWithCodeSixSayingItNeedsLibtorch()
    {
        string withoutGraph = Path.Combine(s_directory, "without-graph.zip");
        File.Copy(s_model, withoutGraph, overwrite: true);
        using (var zip = System.IO.Compression.ZipFile.Open(withoutGraph, System.IO.Compression.ZipArchiveMode.Update))
        {
            var graphs = zip.Entries.Where(e => e.Name == "OnnxGraph").ToList();
            Assert.HasCount(1, graphs);
            graphs[0].Delete();
        }
        // TorchSharp would otherwise copy libtorch from the NuGet cache next to the app: give it an empty cache.
        string emptyCache = Directory.CreateDirectory(Path.Combine(s_directory, "empty-nuget-cache")).FullName;
        var (exitCode, _, error) = ExampleProcess.Run(ExampleProcess.ProductionApp, s_directory,
            new Dictionary<string, string> { ["NUGET_PACKAGES"] = emptyCache }, withoutGraph);
        Assert.AreEqual(6, exitCode, error);
        StringAssert.Contains(error, "without-graph.zip' in this application: RnnSequenceClassifierTransformer: TorchSharp's native library (libtorch) is needed");
        StringAssert.Contains(error, "ONNX Runtime does not score it: the zip holds no ONNX graph");
        AssertNoLibtorch(Path.GetDirectoryName(ExampleProcess.ProductionApp)!, "after the run");
    }

    /// <summary>No libtorch library under <paramref name="folder"/> (TorchSharp's own small wrapper, libLibTorchSharp.so, is allowed).</summary>
    private static void AssertNoLibtorch(string folder, string when)
    {
        var libtorch = Directory.GetFiles(folder, "*", SearchOption.AllDirectories).Select(Path.GetFileName)
            .Where(f => f!.StartsWith("libtorch", StringComparison.Ordinal) || f!.StartsWith("libc10", StringComparison.Ordinal)).ToList();
        Assert.IsEmpty(libtorch, $"libtorch {when}: {string.Join(", ", libtorch)}");
    }

    /// <summary>The same predicted key for every row and the same probabilities within 1e-5 (two runtimes, float32).</summary>
    private static void AssertSameScores(string[] expected, string[] actual)
    {
        Assert.HasCount(expected.Length, actual);
        for (int row = 0; row < expected.Length; row++)
        {
            var (expectedKey, expectedScores) = Parse(expected[row]);
            var (key, scores) = Parse(actual[row]);
            Assert.AreEqual(expectedKey, key, $"row {row}");
            Assert.HasCount(expectedScores.Length, scores);
            for (int k = 0; k < scores.Length; k++)
                Assert.AreEqual(expectedScores[k], scores[k], 1e-5f, $"row {row}, class {k}");
        }
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
        AssertSameScores(File.ReadAllLines(s_trainerScores), File.ReadAllLines(batch));
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
