// Benchmark harness of the speed issue: every figure is measured against its reference in the same process (warm-up,
// repeated timings, median with p10/p90), printed as a table and kept as a dated record, bench/results/<date>-<cpu>.json.
// Usage: dotnet run -c Release --project bench/RnnBench -- [--quick] [--figures 4,5]  (a subset, for iterating on one figure)
// Figure 10 scores the classifier converted to ONNX with ONNX Runtime against this library's PredictionEngine and Transform.
// Figure 11 times the character encoder's training step against its straightforward formulation on the topics' texts.
// Figure 12 scores a loaded zip through each scoring engine (TorchSharp, ONNX Runtime in-process) against a raw ONNX Runtime session.
// Figure 13 times the default ensemble's Fit with its networks side by side against one after the other.
// Figure 14 fits the defaults as the README and DigitsRows write them on the real data, next to SDCA and LightGbm.
// Figure 15 scores a layer ONNX has an operator for as that operator against the same layer as a Scan over its step.
// Figure 1 also runs bench/python/bench_torch.py (Debian's python3-torch) in the same run for the C#/PyTorch rows.
// Timings never decide a test; "met" only reports whether a ratio reaches its goal on this run.
using System.Diagnostics;
using Microsoft.ML.Rnn;
using Microsoft.ML.Rnn.Core;
using RnnBench;
using static TorchSharp.torch;

bool quick = args.Contains("--quick");
var settings = quick ? BenchSettings.QuickRun : BenchSettings.Full;
int figuresAt = Array.IndexOf(args, "--figures");
var figures = figuresAt >= 0 && figuresAt + 1 < args.Length
    ? args[figuresAt + 1].Split(',').Select(int.Parse).ToHashSet()
    : Enumerable.Range(1, 15).Where(f => !quick || f != 14).ToHashSet();   // figure 14 fits the defaults on real data for minutes: full runs only
string root = FindRepositoryRoot();
var records = new List<BenchRecord>();
var total = Stopwatch.StartNew();

Console.WriteLine($"RnnBench ({(quick ? "quick" : "full")}): {settings.Repetitions} repetitions after {settings.Warmup} warm-up, " +
                  $"median with p10/p90 in the JSON; libtorch threads {get_num_threads()}, cores {Environment.ProcessorCount}, " +
                  $"load average {LoadAverage()}");
// Figures 1-11 measure the TorchSharp path (the benchmark references Microsoft.ML.Rnn.OnnxRuntime for figure 12, which
// would otherwise make Auto score the classifiers through ONNX Runtime); figure 12 chooses each engine itself.
RnnTransformerBase.DefaultScoringEngine = RnnScoringEngine.TorchSharp;
GlobalWarmup.Run();
Report.PrintHeader();

var classifier = new ClassifierBenchmarks(settings, records);
var core = new CoreBenchmarks(settings, records);
if (figures.Contains(1)) foreach (var c in settings.FixedConfigs.Append(BenchSettings.DefaultCell)) classifier.Training(c);
if (figures.Contains(2)) foreach (var c in settings.FixedConfigs.Append(BenchSettings.DefaultCell)) classifier.Inference(c);
if (figures.Contains(3) || figures.Contains(7)) classifier.LatencyAndPredictionMemory(BenchSettings.Config4);
if (figures.Contains(13)) classifier.EnsembleTraining(BenchSettings.Config4 with { N = 32, L = 8, InputSize = 8, HiddenSize = 64 });   // the digits model's shape
if (figures.Contains(4)) core.VariableLengths(BenchSettings.VariableConfig);
if (figures.Contains(5)) core.StepVersusFused(BenchSettings.Config1);
if (figures.Contains(6))
{
    var matmul = core.MatmulGflops();
    foreach (var c in settings.FixedConfigs) core.FusedGflops(c, matmul);
}
if (figures.Contains(7)) core.TrainingMemory(new BenchConfig(16, 20, 16, 32));
if (figures.Contains(8)) core.Threads(BenchSettings.Config1);
if (figures.Contains(9)) foreach (var c in BenchSettings.AffectedConfigs) core.AffectedShapes(c);
if (figures.Contains(10))
{
    var onnx = new OnnxBenchmarks(settings, records);
    onnx.Latency(BenchSettings.Config4);
    onnx.Latency(BenchSettings.Config4 with { L = 8, InputSize = 8, HiddenSize = 64, Directions = 2 });   // the digits model's shape
    foreach (var c in settings.FixedConfigs.Where(c => c.N > 1)) onnx.Throughput(c);
}
if (figures.Contains(11)) new CharacterEncoderBenchmarks(settings, records, root).TrainingStep();
if (figures.Contains(12))
{
    var engines = new OnnxEngineBenchmarks(settings, records);
    engines.Latency(BenchSettings.Config4);
    engines.Latency(BenchSettings.Config4 with { L = 8, InputSize = 8, HiddenSize = 64, Directions = 2 });   // the digits model's shape
    engines.Latency(BenchSettings.Config4 with { L = 8, InputSize = 8, HiddenSize = 64, Directions = 2 }, ensembleSize: 5);   // the default ensemble
    foreach (var c in settings.FixedConfigs.Where(c => c.N > 1)) engines.Throughput(c);
}
if (figures.Contains(15))
{
    var scan = new OnnxScanBenchmarks(settings, records);
    scan.Compare(BenchSettings.Config1);
    scan.Compare(BenchSettings.DefaultCell);
    scan.Compare(BenchSettings.Config4);
    scan.Compare(BenchSettings.Config4 with { Gru = true });
    scan.Compare(BenchSettings.Config4 with { L = 8, InputSize = 8, HiddenSize = 64, Directions = 2, Gru = true });   // the digits model's shape
}
if (figures.Contains(14))
{
    var defaults = new DefaultsBenchmarks(settings, records, root);
    defaults.Digits();
    defaults.Topics();
}
if (figures.Contains(1))
    PythonComparison.RunAndAdd(root, quick, classifier, records);
KernelCheckReport.Print(FusedKernelChecks.Verdicts);

// A subset run must not overwrite the full run's figures.
// A run of every figure is a record of its day and CPU (another run that day on that CPU replaces it); a subset run
// writes subset.json, which is not kept.
string cpu = new string(FusedKernelChecks.Cpu.ToLowerInvariant().Select(ch => char.IsAsciiLetterOrDigit(ch) ? ch : '-').ToArray());
string record = $"{DateTime.UtcNow:yyyy-MM-dd}-{string.Join('-', cpu.Split('-', StringSplitOptions.RemoveEmptyEntries))}{(quick ? "-quick" : "")}.json";
string output = Path.Combine(root, "bench", "results", figuresAt < 0 ? record : "subset.json");
Report.WriteJson(output, new
{
    Meta = new
    {
        Mode = quick ? "quick" : "full",
        Date = DateTime.UtcNow.ToString("o"),
        settings.Warmup,
        settings.Repetitions,
        LibtorchThreads = get_num_threads(),
        Cores = Environment.ProcessorCount,
        LoadAverageAtEnd = LoadAverage(),
        Runtime = System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription,
        Note = "ratio = value / reference; meetsGoal compares ratio with goal (>= when higherIsBetter). Informative only.",
        ElapsedSeconds = total.Elapsed.TotalSeconds,
    },
    Records = records,
    FusedKernelChecks = new { FusedKernelChecks.Cpu, Verdicts = FusedKernelChecks.Verdicts.Select(KernelCheckReport.ForJson) },
});
Console.WriteLine($"\n{records.Count} figures in {total.Elapsed.TotalSeconds:F1} s; written to {Path.GetRelativePath(root, output)}");

static string LoadAverage()
{
    try { return string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)); }
    catch (IOException) { return "?"; }
}

static string FindRepositoryRoot()
{
    foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
    {
        for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Rnn.MLNet.sln"))) return dir.FullName;
        }
    }
    return Directory.GetCurrentDirectory();
}
