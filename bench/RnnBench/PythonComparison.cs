using System.Text.Json;

namespace RnnBench;

/// <summary>Reads bench/results/python.json (bench/python/bench_torch.py) and compares the C# figures of the same configs.</summary>
internal static class PythonComparison
{
    public static void Add(string path, ClassifierBenchmarks classifier, List<BenchRecord> records)
    {
        if (!File.Exists(path))
        {
            Console.WriteLine($"(no {path}: run /usr/bin/python3 bench/python/bench_torch.py first for the C#/Python ratios)");
            return;
        }
        using var document = JsonDocument.Parse(File.ReadAllText(path));
        var root = document.RootElement;
        string version = root.TryGetProperty("torch", out var v) ? v.GetString() ?? "?" : "?";
        foreach (var entry in root.GetProperty("records").EnumerateArray())
        {
            var c = entry.GetProperty("config");
            var config = new BenchConfig(c.GetProperty("n").GetInt32(), c.GetProperty("l").GetInt32(),
                c.GetProperty("inputSize").GetInt32(), c.GetProperty("hiddenSize").GetInt32());
            var train = Sample(entry.GetProperty("train"));
            var infer = Sample(entry.GetProperty("inference"));
            bool isConfig1 = config == BenchSettings.Config1;
            if (classifier.MlNetTraining.TryGetValue(config, out var mlnet))
                Push(records, BenchRecord.Compare($"py training: ML.NET Fit vs PyTorch {version}", config, mlnet, train, "sequences/s",
                    $"PyTorch {version} nn.LSTM+Linear+Adam", isConfig1 ? 1.5 : null, true));
            if (classifier.RawTraining.TryGetValue(config, out var raw))
                Push(records, BenchRecord.Compare($"py training: raw TorchSharp vs PyTorch {version}", config, raw, train, "sequences/s",
                    $"PyTorch {version} nn.LSTM+Linear+Adam", null, true));
            if (classifier.RawInference.TryGetValue(config, out var rawInfer))
                Push(records, BenchRecord.Compare($"py inference: raw TorchSharp vs PyTorch {version}", config, rawInfer, infer, "sequences/s",
                    $"PyTorch {version} no-grad forward", null, true));
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
