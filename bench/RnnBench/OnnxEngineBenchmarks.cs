using Microsoft.ML;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Microsoft.ML.Rnn;

namespace RnnBench;

/// <summary>
/// Figure 12: a classifier saved to a zip and loaded with <c>Model.Load</c>, scored through each engine
/// (<see cref="RnnScoringEngine"/>: TorchSharp, and ONNX Runtime in-process through Microsoft.ML.Rnn.OnnxRuntime),
/// against a raw ONNX Runtime session on the file <c>ConvertToOnnx</c> writes (figure 10's reference, with the
/// engine's session options: no spinning, one thread for a single row, every core for batches): PredictionEngine
/// latency, Transform throughput, and the default ensemble of five networks against one.
/// </summary>
internal sealed class OnnxEngineBenchmarks(BenchSettings settings, List<BenchRecord> records)
{
    private readonly MLContext _ml = new(seed: 1);

    /// <summary>As figure 10's classifier and file, but the classifier saved to a zip and loaded from it.</summary>
    private (RnnSequenceClassifierTransformer Loaded, string OnnxPath, SyntheticData Data, IDataView View) Prepare(BenchConfig c, int rows, int ensembleSize)
    {
        var (model, path, data, view) = OnnxBenchmarks.Prepare(_ml, c, rows, ensembleSize);
        string zip = Path.ChangeExtension(path, ".zip");
        using (model)
            _ml.Model.Save(model, view.Schema, zip);
        var loaded = (RnnSequenceClassifierTransformer)new MLContext(seed: 1).Model.Load(zip, out _);
        File.Delete(zip);
        return (loaded, path, data, view);
    }

    /// <summary>A raw session with the engine's options for the same work: one thread for a row, every core for batches.</summary>
    private static InferenceSession RawSession(string path, int threads)
    {
        using var options = new SessionOptions { IntraOpNumThreads = threads, InterOpNumThreads = 1 };
        options.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");
        return new InferenceSession(path, options);
    }

    /// <summary>PredictionEngine p50 and p99 on the loaded zip, ONNX Runtime engine against the raw session and against TorchSharp.</summary>
    public void Latency(BenchConfig c, int ensembleSize = 1)
    {
        var (loaded, path, data, _) = Prepare(c, 32, ensembleSize);
        try
        {
            using var session = RawSession(path, threads: 1);
            var inputs = data.Rows.Select(r => NamedOnnxValue.CreateFromTensor(nameof(SequenceRow.Features),
                new DenseTensor<float>(r.Features, [1, r.Features.Length]))).ToArray();
            int k = 0;
            double[] raw = Harness.Latencies(() => { using var r = session.Run([inputs[k++ % inputs.Length]], ["Score.output"]); },
                settings.LatencyCalls / 10, settings.LatencyCalls);
            double[] onnx = PredictionLatencies(loaded, RnnScoringEngine.OnnxRuntime, data), torch = PredictionLatencies(loaded, RnnScoringEngine.TorchSharp, data);
            string networks = ensembleSize == 1 ? "" : $", {ensembleSize} networks";
            Add(BenchRecord.Latency($"12 latency p50: zip PredictionEngine, ONNX Runtime engine vs raw session{networks}", c, onnx, raw, 0.5, 1.1, "raw ONNX Runtime session"));
            Add(BenchRecord.Latency($"12 latency p99: zip PredictionEngine, ONNX Runtime engine vs TorchSharp engine{networks}", c, onnx, torch, 0.99, 1.0, "TorchSharp engine"));
            Add(BenchRecord.Latency($"12 latency p50: zip PredictionEngine, ONNX Runtime engine vs TorchSharp engine{networks}", c, onnx, torch, 0.5, null, "TorchSharp engine"));
            if (ensembleSize > 1)
            {
                Add(BenchRecord.Latency($"12 latency p50: zip PredictionEngine, ONNX Runtime engine, {ensembleSize} networks vs 1", c, onnx,
                    OneNetworkLatencies(c, data), 0.5, 2.0, "one network"));
                // Merging the members into one network per layer with block-diagonal weights does the arithmetic of one
                // network ensembleSize times as wide (ONNX Runtime's kernels do not skip zeros): measured, not built.
                var wide = c with { HiddenSize = c.HiddenSize * ensembleSize };
                Add(BenchRecord.Latency($"12 latency p50: one network {ensembleSize}x as wide (a block-diagonal merge) vs {ensembleSize} networks", wide,
                    OneNetworkLatencies(wide, data), onnx, 0.5, null, $"{ensembleSize} networks"));
            }
        }
        finally
        {
            loaded.Dispose();
            File.Delete(path);
        }
    }

    /// <summary>PredictionEngine latencies of one network of shape <paramref name="c"/> on a loaded zip, scored through ONNX Runtime.</summary>
    private double[] OneNetworkLatencies(BenchConfig c, SyntheticData data)
    {
        var (single, path, _, _) = Prepare(c, 32, 1);
        try
        {
            return PredictionLatencies(single, RnnScoringEngine.OnnxRuntime, data);
        }
        finally
        {
            single.Dispose();
            File.Delete(path);
        }
    }

    /// <summary>PredictionEngine latencies of <paramref name="model"/> scored through <paramref name="engine"/>.</summary>
    private double[] PredictionLatencies(RnnSequenceClassifierTransformer model, RnnScoringEngine engine, SyntheticData data)
    {
        model.ScoringEngine = engine;
        var predictor = _ml.Model.CreatePredictionEngine<SequenceRow, ClassPrediction>(model, inputSchemaDefinition: data.Schema());
        int next = 0;
        return Harness.Latencies(() => predictor.Predict(data.Rows[next++ % data.Rows.Length]), settings.LatencyCalls / 10, settings.LatencyCalls);
    }

    /// <summary>Transform throughput on the loaded zip, ONNX Runtime engine against the raw session's batches of N rows.</summary>
    public void Throughput(BenchConfig c)
    {
        var (loaded, path, data, view) = Prepare(c, settings.RowsPerEpoch(c), 1);
        try
        {
            using var session = RawSession(path, threads: Environment.ProcessorCount);
            int width = c.L * c.InputSize;
            var batches = data.Rows.Chunk(c.N).Where(b => b.Length == c.N).Select(b => NamedOnnxValue.CreateFromTensor(nameof(SequenceRow.Features),
                new DenseTensor<float>(b.SelectMany(r => r.Features).ToArray(), [c.N, width]))).ToArray();
            double work = batches.Length * c.N;
            void Raw()
            {
                foreach (var batch in batches)
                {
                    using var r = session.Run([batch], ["Score.output"]);
                }
            }
            loaded.ScoringEngine = RnnScoringEngine.OnnxRuntime;
            var (engine, raw) = Harness.TimeAlternating(() => ClassifierBenchmarks.ReadScores(loaded, view), Raw,
                settings.Warmup, settings.Repetitions, callsPerRepetition: 1);
            Add(BenchRecord.Compare("12 throughput: zip Transform, ONNX Runtime engine vs raw session batches", c, engine.AsRate(work), raw.AsRate(work),
                "sequences/s", "raw ONNX Runtime session", 0.9, true));
            loaded.ScoringEngine = RnnScoringEngine.TorchSharp;
            var (torch, rawAgain) = Harness.TimeAlternating(() => ClassifierBenchmarks.ReadScores(loaded, view), Raw,
                settings.Warmup, settings.Repetitions, callsPerRepetition: 1);
            Add(BenchRecord.Compare("12 throughput: zip Transform, TorchSharp engine vs raw session batches", c, torch.AsRate(work), rawAgain.AsRate(work),
                "sequences/s", "raw ONNX Runtime session", null, true));
        }
        finally
        {
            loaded.Dispose();
            File.Delete(path);
        }
    }

    private void Add(BenchRecord record)
    {
        records.Add(record);
        Report.PrintRow(record);
    }
}
