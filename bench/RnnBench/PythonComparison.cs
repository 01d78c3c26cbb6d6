using System.Diagnostics;
using System.Text.Json;

namespace RnnBench;

/// <summary>
/// Runs bench/python/bench_torch.py in this benchmark run (after the C# figures, so the two never share the cores) and
/// compares the C# figures of the same configs with it. Ratios against another machine's or another day's figures would
/// mean nothing, so without Python and torch here those rows are left out.
/// </summary>
internal static class PythonComparison
{
    private const string Interpreter = "/usr/bin/python3";   // Debian's, with python3-torch

    public static void RunAndAdd(string repository, bool quick, ClassifierBenchmarks classifier, List<BenchRecord> records)
    {
        string path = Path.Combine(repository, "bench", "results", "python.json");
        File.Delete(path);   // never compare with an earlier run's file
        if (!File.Exists(Interpreter))
        {
            Console.WriteLine($"(no {Interpreter}: the C#/PyTorch rows are left out)");
            return;
        }
        var start = new ProcessStartInfo(Interpreter) { UseShellExecute = false };
        foreach (var argument in new[] { Path.Combine(repository, "bench", "python", "bench_torch.py"), "--out", path }.Concat(quick ? ["--quick"] : []))
            start.ArgumentList.Add(argument);
        using (var python = Process.Start(start)!)
            python.WaitForExit();
        if (!File.Exists(path))
        {
            Console.WriteLine("(bench_torch.py wrote no figures, torch is probably missing: the C#/PyTorch rows are left out)");
            return;
        }
        using var document = JsonDocument.Parse(File.ReadAllText(path));
        var root = document.RootElement;
        string version = root.TryGetProperty("torch", out var v) ? v.GetString() ?? "?" : "?";
        // Debian's python3-torch is built on generic BLAS, not the upstream wheels' MKL: its rows say so, never "PyTorch" alone.
        string pytorch = $"Debian's PyTorch {version} build (generic BLAS)";
        foreach (var entry in root.GetProperty("records").EnumerateArray())
        {
            var c = entry.GetProperty("config");
            var config = new BenchConfig(c.GetProperty("n").GetInt32(), c.GetProperty("l").GetInt32(),
                c.GetProperty("inputSize").GetInt32(), c.GetProperty("hiddenSize").GetInt32());
            var train = Sample(entry.GetProperty("train"));
            var infer = Sample(entry.GetProperty("inference"));
            bool isConfig1 = config == BenchSettings.Config1;
            if (classifier.MlNetTraining.TryGetValue(config, out var mlnet))
                Push(records, BenchRecord.Compare($"py training: ML.NET Fit vs {pytorch}", config, mlnet, train, "sequences/s",
                    $"{pytorch} nn.LSTM+Linear+Adam", isConfig1 ? 1.5 : null, true));
            if (classifier.RawTraining.TryGetValue(config, out var raw))
                Push(records, BenchRecord.Compare($"py training: raw TorchSharp vs {pytorch}", config, raw, train, "sequences/s",
                    $"{pytorch} nn.LSTM+Linear+Adam", null, true));
            if (classifier.RawInference.TryGetValue(config, out var rawInfer))
                Push(records, BenchRecord.Compare($"py inference: raw TorchSharp vs {pytorch}", config, rawInfer, infer, "sequences/s",
                    $"{pytorch} no-grad forward", null, true));
        }
    }

    private static Sample Sample(JsonElement e) => new(e.GetProperty("median").GetDouble(), e.GetProperty("p10").GetDouble(),
        e.GetProperty("p90").GetDouble(), e.GetProperty("repetitions").GetInt32());

    private static void Push(List<BenchRecord> records, BenchRecord record)
    {
        records.Add(record);
        Report.PrintRow(record);
    }
}
