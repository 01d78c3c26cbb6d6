using Microsoft.ML;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Microsoft.ML.Rnn.Onnx;
using static TorchSharp.torch;

namespace RnnBench;

/// <summary>
/// Figure 15: a classifier whose cell ONNX has an operator for, converted as that operator (what the export writes for
/// it) against the same classifier converted as a Scan over the cell's step (what a cell without an operator exports
/// as), both scored by ONNX Runtime: batches of N rows (sequences/s) and single rows (p50 latency). The operator is
/// kept where it applies because it is the faster; this figure measures by how much.
/// </summary>
internal sealed class OnnxScanBenchmarks(BenchSettings settings, List<BenchRecord> records)
{
    private readonly MLContext _ml = new(seed: 1);

    public void Compare(BenchConfig c)
    {
        var (model, operatorPath, data, view) = OnnxBenchmarks.Prepare(_ml, c, settings.RowsPerEpoch(c), ensembleSize: 1);
        string scanPath = Path.ChangeExtension(operatorPath, ".scan.onnx");
        try
        {
            var features = _ml.Data.Cache(_ml.Transforms.SelectColumns(nameof(SequenceRow.Features)).Fit(view).Transform(view));
            OnnxEncoderExport.AlwaysScan = true;
            using (var stream = File.Create(scanPath))
                _ml.Model.ConvertToOnnx(model, features, stream);
            OnnxEncoderExport.AlwaysScan = false;

            var options = new SessionOptions { IntraOpNumThreads = get_num_threads(), InterOpNumThreads = 1 };
            using var fused = new InferenceSession(operatorPath, options);
            using var scan = new InferenceSession(scanPath, options);
            var batches = data.Rows.Chunk(c.N).Where(b => b.Length == c.N).Select(b => NamedOnnxValue.CreateFromTensor(nameof(SequenceRow.Features),
                new DenseTensor<float>(b.SelectMany(r => r.Features).ToArray(), [c.N, c.L * c.InputSize]))).ToArray();
            string[] outputs = ["Score.output"];
            Action Run(InferenceSession session) => () =>
            {
                foreach (var batch in batches)
                {
                    using var r = session.Run([batch], outputs);
                }
            };
            string name = $"15 ONNX {(c.Gru ? "GRU" : "LSTM")} operator vs Scan";
            if (c.N == 1)
            {
                double[] Latencies(InferenceSession session)
                {
                    int next = 0;
                    return Harness.Latencies(() => { using var r = session.Run([batches[next++ % batches.Length]], outputs); }, settings.LatencyCalls / 10, settings.LatencyCalls);
                }
                Add(BenchRecord.Latency(name + " (single rows, p50)", c, Latencies(fused), Latencies(scan), 0.5, 1.0, "the same layer as a Scan"));
            }
            else
            {
                double work = batches.Length * c.N;
                var (operatorSample, scanSample) = Harness.TimeAlternating(Run(fused), Run(scan), settings.Warmup, settings.Repetitions, callsPerRepetition: 1);
                Add(BenchRecord.Compare(name, c, operatorSample.AsRate(work), scanSample.AsRate(work), "sequences/s", "the same layer as a Scan", 1.0, true));
            }
        }
        finally
        {
            OnnxEncoderExport.AlwaysScan = false;
            model.Dispose();
            File.Delete(operatorPath);
            File.Delete(scanPath);
        }
    }

    private void Add(BenchRecord record)
    {
        records.Add(record);
        Report.PrintRow(record);
    }
}
