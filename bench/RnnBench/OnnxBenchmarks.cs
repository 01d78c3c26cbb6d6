using Microsoft.ML;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Microsoft.ML.Rnn;
using static TorchSharp.torch;

namespace RnnBench;

/// <summary>
/// Figure 10: the classifier converted with ML.NET's ConvertToOnnx and scored by ONNX Runtime, against this library's
/// PredictionEngine (single rows, p50/p99 latency) and batched Transform (batches of N, sequences/s). ONNX Runtime gets
/// as many intra-op threads as libtorch has, so that the ratios compare like with like.
/// </summary>
internal sealed class OnnxBenchmarks(BenchSettings settings, List<BenchRecord> records)
{
    private readonly MLContext _ml = new(seed: 1);

    /// <summary>A classifier of config <paramref name="c"/> (1 epoch), its ONNX file, and the rows it was trained on.</summary>
    private (RnnSequenceClassifierTransformer Model, string OnnxPath, SyntheticData Data, IDataView View) Prepare(BenchConfig c, int rows)
        => Prepare(_ml, c, rows, ensembleSize: 1);

    /// <summary>
    /// An LSTM classifier of config <paramref name="c"/> (1 epoch on <paramref name="rows"/> synthetic rows), the file
    /// <c>ConvertToOnnx</c> writes for it (a temporary file), its data and their view.
    /// </summary>
    internal static (RnnSequenceClassifierTransformer Model, string OnnxPath, SyntheticData Data, IDataView View) Prepare(MLContext ml,
        BenchConfig c, int rows, int ensembleSize)
    {
        var data = new SyntheticData(c, rows);
        var view = data.ToDataView(ml);
        var model = ml.Transforms.Rnn.SequenceClassifier(new RnnSequenceClassifier.Options
        {
            FeaturesPerStep = c.InputSize, HiddenSize = c.HiddenSize, Bidirectional = c.Directions == 2, MaxEpochs = 1,
            BatchSize = Math.Max(c.N, 16), ValidationFraction = 0, EarlyStoppingPatience = null, Seed = 1, NumberOfThreads = get_num_threads(),
            EnsembleSize = ensembleSize,
            Cell = c.Gru ? RnnCellKind.Gru() : RnnCellKind.Lstm(),   // figures 10 and 12 are LSTM classifiers
        }).Fit(view);
        // The graph's inputs are the columns at the root of the pipeline the converter walks back to: a cache of the features alone.
        var features = ml.Data.Cache(ml.Transforms.SelectColumns(nameof(SequenceRow.Features)).Fit(view).Transform(view));
        string path = Path.Combine(Path.GetTempPath(), $"rnnbench-{Guid.NewGuid():N}.onnx");
        using (var stream = File.Create(path))
            ml.Model.ConvertToOnnx(model, features, stream);
        return (model, path, data, view);
    }

    private InferenceSession Session(string path)
    {
        var options = new SessionOptions { IntraOpNumThreads = get_num_threads(), InterOpNumThreads = 1 };
        return new InferenceSession(path, options);
    }

    /// <summary>10a: single-row latency, ONNX Runtime session.Run vs PredictionEngine.</summary>
    public void Latency(BenchConfig c)
    {
        var (model, path, data, _) = Prepare(c, 32);
        try
        {
            using var engine = _ml.Model.CreatePredictionEngine<SequenceRow, ClassPrediction>(model, inputSchemaDefinition: data.Schema());
            using var session = Session(path);
            var inputs = data.Rows.Select(r => NamedOnnxValue.CreateFromTensor(nameof(SequenceRow.Features),
                new DenseTensor<float>(r.Features, [1, r.Features.Length]))).ToArray();
            string[] outputs = ["Score.output"];
            int next = 0, k = 0;
            var engineTimes = Harness.Latencies(() => engine.Predict(data.Rows[next++ % data.Rows.Length]), settings.LatencyCalls / 10, settings.LatencyCalls);
            var onnxTimes = Harness.Latencies(() => { using var r = session.Run([inputs[k++ % inputs.Length]], outputs); }, settings.LatencyCalls / 10, settings.LatencyCalls);
            foreach (double q in new[] { 0.5, 0.99 })
                Add(BenchRecord.Latency($"10 latency p{q * 100:0}: ONNX Runtime vs PredictionEngine", c with { N = 1 }, onnxTimes, engineTimes, q, null, "PredictionEngine (libtorch)"));
        }
        finally
        {
            model.Dispose();
            File.Delete(path);
        }
    }

    /// <summary>10b: batches of N rows, ONNX Runtime session.Run vs Transform read through a cursor.</summary>
    public void Throughput(BenchConfig c)
    {
        var (model, path, data, view) = Prepare(c, settings.RowsPerEpoch(c));
        try
        {
            using var session = Session(path);
            int width = c.L * c.InputSize;
            var batches = data.Rows.Chunk(c.N).Where(b => b.Length == c.N).Select(b => NamedOnnxValue.CreateFromTensor(nameof(SequenceRow.Features),
                new DenseTensor<float>(b.SelectMany(r => r.Features).ToArray(), [c.N, width]))).ToArray();
            string[] outputs = ["Score.output"];
            double work = batches.Length * c.N;
            void Onnx()
            {
                foreach (var batch in batches)
                {
                    using var r = session.Run([batch], outputs);
                }
            }
            // The rows are whole batches of N (RowsPerEpoch), so both sides score the same rows.
            var (onnx, transform) = Harness.TimeAlternating(Onnx, () => ClassifierBenchmarks.ReadScores(model, view),
                settings.Warmup, settings.Repetitions, callsPerRepetition: 1);
            Add(BenchRecord.Compare("10 throughput: ONNX Runtime batches vs Transform", c, onnx.AsRate(work), transform.AsRate(work),
                "sequences/s", "ML.NET Transform (libtorch)", null, true));
        }
        finally
        {
            model.Dispose();
            File.Delete(path);
        }
    }

    private void Add(BenchRecord record)
    {
        records.Add(record);
        Report.PrintRow(record);
    }
}
