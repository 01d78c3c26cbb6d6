using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Rnn;
using static TorchSharp.torch;

namespace RnnBench;

/// <summary>Figures 1–3 and the prediction half of 7: the ML.NET RnnSequenceClassifier against raw TorchSharp.</summary>
internal sealed class ClassifierBenchmarks(BenchSettings settings, List<BenchRecord> records)
{
    private readonly MLContext _ml = new(seed: 1);

    private RnnSequenceClassifier Estimator(BenchConfig c, int epochs) => _ml.Transforms.Rnn.SequenceClassifier(new RnnSequenceClassifier.Options
    {
        FeaturesPerStep = c.InputSize, HiddenSize = c.HiddenSize, NumberOfLayers = c.Layers, Bidirectional = c.Directions == 2,
        MaxEpochs = epochs, BatchSize = c.N, ValidationFraction = 0, EarlyStoppingPatience = null, Seed = 1,
        NumberOfThreads = get_num_threads(), // the raw loop's thread count, so the ratio compares like with like
        EnsembleSize = 1,                     // one network, as the raw loop trains
        Cell = c.Gru ? RnnCellKind.Gru() : RnnCellKind.Lstm(),   // the raw loop's nn.LSTM or nn.GRU
    });

    /// <summary>
    /// 1: sequences/s of Fit (reading the IDataView included) vs the faster raw TorchSharp path on the same tensors:
    /// nn.LSTM or nn.GRU (libtorch's fused kernel) + Linear + Adam, or the same network as nn.LSTMCell / nn.GRUCell
    /// called step by step (faster where the fused kernel is slow on the CPU).
    /// </summary>
    public void Training(BenchConfig c)
    {
        var data = new SyntheticData(c, settings.RowsPerEpoch(c));
        var view = data.ToDataView(_ml);
        var estimator = Estimator(c, settings.Epochs);
        double work = data.Rows.Length * (double)settings.Epochs;
        var batches = data.Batches();
        try
        {
            Action RawLoop(bool stepLoop) => () =>
            {
                using var model = new RawRnnClassifier(c, SyntheticData.Classes, stepLoop: stepLoop);
                for (int e = 0; e < settings.Epochs; e++)
                {
                    foreach (var (x, y) in batches)
                    {
                        using var step = NewDisposeScope();
                        model.TrainStep(x, y);
                    }
                }
            };
            // Alternating runs: all three see the same machine state (this figure swung between runs when timed in blocks).
            var times = Harness.TimeAlternating([() => estimator.Fit(view).Dispose(), RawLoop(false), RawLoop(true)],
                settings.Warmup, settings.Repetitions, callsPerRepetition: 1);
            var (mlnet, fused, stepLoop) = (times[0].AsRate(work), times[1].AsRate(work), times[2].AsRate(work));
            string cell = c.Gru ? "GRU" : "LSTM";
            var (best, bestName) = stepLoop.Median > fused.Median
                ? (stepLoop, $"raw nn.{cell}Cell step loop+Linear+Adam (faster raw path here)")
                : (fused, $"raw nn.{cell}+Linear+Adam (fused; faster raw path here)");
            Add(BenchRecord.Compare("1 training: ML.NET Fit vs the best raw TorchSharp path", c, mlnet, best, "sequences/s", bestName, 1.0, true));
            Add(BenchRecord.Compare("1 training: raw step loop vs raw fused kernel", c, stepLoop, fused, "sequences/s", $"raw nn.{cell}+Linear+Adam", null, true));
            RawTraining[c] = fused;
            MlNetTraining[c] = mlnet;
        }
        finally
        {
            foreach (var (x, y) in batches) { x.Dispose(); y.Dispose(); }
        }
    }

    /// <summary>
    /// 13: seconds per Fit of the default classifier (five bidirectional GRUs; the user sets the shapes only) with its
    /// networks side by side where cores are free, against the same Fit one network after the other
    /// (<c>NumberOfThreads = 1</c>: each network on one thread, as side by side). Epochs fixed, no validation rows.
    /// </summary>
    public void EnsembleTraining(BenchConfig c)
    {
        // Four times the rows and three times the epochs of figure 1: the networks' training, not Fit's fixed costs
        // (reading the rows, building the networks), is what runs side by side.
        var data = new SyntheticData(c, 4 * settings.RowsPerEpoch(c));
        var view = data.ToDataView(_ml);
        RnnSequenceClassifier Defaults(int? threads) => _ml.Transforms.Rnn.SequenceClassifier(new RnnSequenceClassifier.Options
        {
            FeaturesPerStep = c.InputSize, HiddenSize = c.HiddenSize, MaxEpochs = 3 * settings.Epochs, ValidationFraction = 0,
            EarlyStoppingPatience = null, Seed = 1, NumberOfThreads = threads,
        });
        var (sideBySide, sequential) = Harness.TimeAlternating(() => Defaults(null).Fit(view).Dispose(), () => Defaults(1).Fit(view).Dispose(),
            settings.Warmup, settings.Repetitions, callsPerRepetition: 1);
        Add(BenchRecord.Compare($"13 training: default ensemble's Fit, networks side by side vs one after the other ({Environment.ProcessorCount} cores)",
            c, sideBySide, sequential, "s", "one after the other", 0.6, false));
    }

    /// <summary>Training rates by config, for the Python comparison.</summary>
    public Dictionary<BenchConfig, Sample> RawTraining { get; } = [];

    /// <summary>ML.NET training rates by config, for the Python comparison.</summary>
    public Dictionary<BenchConfig, Sample> MlNetTraining { get; } = [];

    /// <summary>Raw inference rates by config, for the Python comparison.</summary>
    public Dictionary<BenchConfig, Sample> RawInference { get; } = [];

    /// <summary>2: sequences/s of a batched Transform read through a cursor vs raw batched no-grad forward + softmax.</summary>
    public void Inference(BenchConfig c)
    {
        var data = new SyntheticData(c, settings.RowsPerEpoch(c));
        var view = data.ToDataView(_ml);
        using var model = Estimator(c, 1).Fit(view);
        double work = data.Rows.Length;
        void Transform() => ReadScores(model, view);

        var batches = data.Batches();
        try
        {
            using var rawModel = new RawRnnClassifier(c, SyntheticData.Classes);
            void RawForward()
            {
                foreach (var (x, _) in batches)
                {
                    using var step = NewDisposeScope();
                    rawModel.Predict(x);
                }
            }
            // Alternating passes: both see the same machine state (separate blocks drifted by several percent).
            var (mlnet, raw) = Harness.TimeAlternating(Transform, RawForward, settings.Warmup, settings.Repetitions, callsPerRepetition: 1);
            raw = raw.AsRate(work);
            Add(BenchRecord.Compare("2 inference: ML.NET Transform vs raw fused forward", c, mlnet.AsRate(work), raw, "sequences/s", $"raw nn.{(c.Gru ? "GRU" : "LSTM")} no-grad batches", 0.95, true));
            RawInference[c] = raw;
        }
        finally
        {
            foreach (var (x, y) in batches) { x.Dispose(); y.Dispose(); }
        }
    }

    /// <summary>3: PredictionEngine single-sequence latency (p50, p99) vs a raw single no-grad forward; then 7 (predictions).</summary>
    public void LatencyAndPredictionMemory(BenchConfig c)
    {
        var data = new SyntheticData(c, 32);
        var view = data.ToDataView(_ml);
        var trainConfig = c with { N = 16 };
        using var model = _ml.Transforms.Rnn.SequenceClassifier(new RnnSequenceClassifier.Options
        {
            FeaturesPerStep = c.InputSize, HiddenSize = c.HiddenSize, MaxEpochs = 1, BatchSize = trainConfig.N,
            ValidationFraction = 0, EarlyStoppingPatience = null, Seed = 1, NumberOfThreads = get_num_threads(), EnsembleSize = 1,
            Cell = RnnCellKind.Lstm(), Bidirectional = c.Directions == 2,   // the raw forward's nn.LSTM and its directions
        }).Fit(view);
        using var engine = _ml.Model.CreatePredictionEngine<SequenceRow, ClassPrediction>(model, inputSchemaDefinition: data.Schema());
        int next = 0;
        var mlnet = Harness.Latencies(() => engine.Predict(data.Rows[next++ % data.Rows.Length]), settings.LatencyCalls / 10, settings.LatencyCalls);

        using var raw = new RawRnnClassifier(c, SyntheticData.Classes);
        var inputs = data.Rows.Take(8).Select(r => tensor(r.Features, [1, c.L, c.InputSize]).DetachFromDisposeScope()).ToArray();
        try
        {
            int k = 0;
            var reference = Harness.Latencies(() => raw.Predict(inputs[k++ % inputs.Length]), settings.LatencyCalls / 10, settings.LatencyCalls);
            foreach (var (q, goal) in new[] { (0.5, (double?)1.5), (0.99, null) })
            {
                Add(BenchRecord.Latency($"3 latency p{q * 100:0}: PredictionEngine vs raw single forward", c with { N = 1 }, mlnet, reference, q, goal,
                    "raw nn.LSTM no-grad (1, L, H_in)"));
            }
        }
        finally
        {
            foreach (var x in inputs) x.Dispose();
        }

        // 7 (predictions): RSS after a warm-up vs after MemoryPredictions more predictions.
        for (int i = 0; i < 1000; i++) engine.Predict(data.Rows[i % data.Rows.Length]);
        long before = SettledRss();
        for (int i = 0; i < settings.MemoryPredictions; i++) engine.Predict(data.Rows[i % data.Rows.Length]);
        long after = SettledRss();
        Add(new BenchRecord($"7 memory: RSS after {settings.MemoryPredictions} PredictionEngine predictions", c with { N = 1 },
            after / 1048576.0, before / 1048576.0, (double)after / before, 1.05, false, "MB", "RSS before (after 1000 warm-up predictions)", null, null));
    }

    /// <summary>Scores every row of <paramref name="view"/> with a batched Transform read through a cursor (the Score column).</summary>
    internal static void ReadScores(ITransformer model, IDataView view)
    {
        var scored = model.Transform(view);
        var column = scored.Schema["Score"];
        using var cursor = scored.GetRowCursor([column]);
        var getter = cursor.GetGetter<VBuffer<float>>(column);
        VBuffer<float> buffer = default;
        while (cursor.MoveNext()) getter(ref buffer);
    }

    internal static long SettledRss()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        return Harness.ResidentBytes();
    }

    private void Add(BenchRecord record)
    {
        records.Add(record);
        Report.PrintRow(record);
    }
}
