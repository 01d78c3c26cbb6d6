using Microsoft.ML.Rnn;
using Microsoft.ML.Rnn.Core;
using static TorchSharp.torch;

namespace RnnBench;

/// <summary>Figures 4–6, the training half of 7, and 8: the library's Core unrollers on an LstmCell.</summary>
internal sealed class CoreBenchmarks(BenchSettings settings, List<BenchRecord> records)
{
    /// <summary>
    /// 4: valid tokens/s of DynamicUnroller Auto with lengths uniform in [5, 50] vs fused on a padded batch of equal
    /// total tokens (time segments in every case), for an LstmCell (with its final state, whose cell state is recomputed
    /// for sequences ending inside a segment, and outputs only, as the components unroll) and a GruCell; at libtorch's
    /// default thread count and at one thread. Each pair is timed in alternating repetitions of 20 calls.
    /// </summary>
    public void VariableLengths(BenchConfig c)
    {
        var random = new Random(11);
        var lengthValues = Enumerable.Range(0, c.N).Select(_ => (long)random.Next(5, c.L + 1)).ToArray();
        long tokens = lengthValues.Sum();
        int equalSteps = (int)Math.Round((double)tokens / c.N);
        manual_seed(3);
        using var x = randn(c.N, c.L, c.InputSize);
        using var lengths = tensor(lengthValues);
        using var padded = randn(c.N, equalSteps, c.InputSize);
        using var noGrad = no_grad();
        using var lstm = new LstmCell(c.InputSize, c.HiddenSize);
        using var gru = new GruCell(c.InputSize, c.HiddenSize);
        var cases = new (string Name, RnnCell Cell, bool FinalState)[]
        {
            ("LSTM", lstm, true), ("LSTM, outputs only as the components unroll", lstm, false), ("GRU", gru, true),
        };
        int defaultThreads = get_num_threads();
        foreach (int threads in defaultThreads == 1 ? [1] : new[] { defaultThreads, 1 })
        {
            set_num_threads(threads);
            try
            {
                foreach (var (name, cell, finalState) in cases)
                {
                    var (auto, fused) = Harness.TimeAlternating(
                        () => DynamicUnroller.Unroll(cell, x, lengths, finalState: finalState),
                        () => DynamicUnroller.Unroll(cell, padded, path: UnrollPath.Fused),
                        settings.Warmup, settings.Repetitions, callsPerRepetition: 20);
                    Add(BenchRecord.Compare($"4 variable lengths ({name}; {threads} thread(s)): Auto with lengths vs fused, equal tokens (L'={equalSteps})",
                        c, auto.AsRate(tokens), fused.AsRate((double)c.N * equalSteps), "tokens/s", "fused, no lengths, (N, mean length)", 0.9, true));
                }
            }
            finally
            {
                set_num_threads(defaultThreads);
            }
        }
    }

    /// <summary>
    /// 5: the C# step loop on an LstmCell vs libtorch's fused kernel unchecked (<see cref="FusedKernelPolicy.Trust"/>),
    /// and the library's timed choice (<see cref="FusedKernelPolicy.Verify"/>: checked, then the fastest
    /// right way) against both; inference and training (forward + backward), at libtorch's default thread count and at
    /// the package's training default (all cores but one), where it differs.
    /// </summary>
    public void StepVersusFused(BenchConfig c)
    {
        int defaultThreads = get_num_threads();
        int packageThreads = Math.Max(1, Environment.ProcessorCount - 1);
        foreach (int threads in packageThreads == defaultThreads ? [defaultThreads] : new[] { defaultThreads, packageThreads })
        {
            set_num_threads(threads);
            try
            {
                string label = threads == defaultThreads ? $"{threads} threads, libtorch default" : $"{threads} thread(s), package default";
                foreach (bool training in new[] { false, true })
                {
                    var (step, fused, chosen) = ThreeWays(c, training);
                    string mode = training ? "training" : "inference";
                    Add(BenchRecord.Compare($"5 step path vs fused: {mode} ({label})", c, step, fused, "ms/batch", "fused kernel", training ? 1.3 : 2.0, false));
                    Add(BenchRecord.Compare($"5 library's choice vs fused: {mode} ({label}; {Chosen(c, training)})", c, chosen, fused,
                        "ms/batch", "fused kernel, unchecked", null, false));
                    Add(BenchRecord.Compare($"5 library's choice vs step path: {mode} ({label})", c, chosen, step, "ms/batch", "step loop", null, false));
                }
            }
            finally
            {
                set_num_threads(defaultThreads);
            }
        }
    }

    /// <summary>
    /// 9: what correctness costs where libtorch's oneDNN LSTM is wrong on some CPUs (hidden sizes with H % 32 in 1..16,
    /// such as 100 and 200): the library's checked choice vs the raw fused kernel and vs the step loop, inference and
    /// training. The record names whether the raw kernel is wrong on this CPU.
    /// </summary>
    public void AffectedShapes(BenchConfig c)
    {
        foreach (bool training in new[] { false, true })
        {
            var (step, fused, chosen) = ThreeWays(c, training);
            string mode = training ? "training" : "inference";
            var verdict = FusedKernelChecks.Verdicts.Last(v => v.Shape.InputSize == c.InputSize && v.Shape.HiddenSize == c.HiddenSize && v.Training == training);
            string raw = verdict.NativeIsWrong ? $"raw kernel WRONG here, off by {verdict.Checks[0].Error:G2}" : "raw kernel right here";
            Add(BenchRecord.Compare($"9 H={c.HiddenSize} library's choice vs raw fused: {mode} ({verdict.Chosen}; {raw})", c, chosen, fused,
                "ms/batch", "raw fused kernel, unchecked", null, false));
            Add(BenchRecord.Compare($"9 H={c.HiddenSize} library's choice vs step path: {mode}", c, chosen, step, "ms/batch", "step loop", null, false));
        }
    }

    /// <summary>
    /// Milliseconds per batch of an LstmCell unroll three ways, timed in alternating repetitions: the step loop
    /// (<see cref="FusedKernelPolicy.Never"/>), the fused kernel unchecked (<see cref="FusedKernelPolicy.Trust"/>) and
    /// the library's timed choice (<see cref="FusedKernelPolicy.Verify"/>, whose check runs in the warm-up).
    /// </summary>
    private (Sample Step, Sample Fused, Sample Chosen) ThreeWays(BenchConfig c, bool training)
    {
        manual_seed(3);
        using var cell = new LstmCell(c.InputSize, c.HiddenSize);
        using var x = randn(c.N, c.L, c.InputSize);
        Action Body(FusedKernelPolicy policy) => () =>
        {
            using var checks = FusedKernelChecks.Use(policy);
            if (!training)
            {
                using var noGrad = no_grad();
                DynamicUnroller.Unroll(cell, x);
                return;
            }
            cell.zero_grad();
            DynamicUnroller.Unroll(cell, x).Outputs.mean().backward();
        };
        var samples = Harness.TimeAlternating([Body(FusedKernelPolicy.Never), Body(FusedKernelPolicy.Trust), Body(FusedKernelPolicy.Verify)],
            settings.Warmup, settings.Repetitions, callsPerRepetition: 5);
        return (samples[0].Scaled(1e3), samples[1].Scaled(1e3), samples[2].Scaled(1e3));
    }

    private static FusedKernelPath Chosen(BenchConfig c, bool training)
        => FusedKernelChecks.Verdicts.Last(v => v.Shape.InputSize == c.InputSize && v.Shape.HiddenSize == c.HiddenSize
                                                && v.Training == training && v.Threads == get_num_threads()).Chosen;

    /// <summary>Median GFLOP/s of one 1024³ float32 matmul in this process (the reference of figure 6).</summary>
    public Sample MatmulGflops()
    {
        manual_seed(5);
        using var a = randn(1024, 1024);
        using var b = randn(1024, 1024);
        return Harness.Time(() => a.matmul(b), settings.Warmup + 2, settings.Repetitions * 3).AsRate(2.0 * 1024 * 1024 * 1024 / 1e9);
    }

    /// <summary>6: fused LSTM inference GFLOP/s, counting 2·4H·(H_in + H)·N·L, as a fraction of the matmul's.</summary>
    public void FusedGflops(BenchConfig c, Sample matmul)
    {
        manual_seed(3);
        using var cell = new LstmCell(c.InputSize, c.HiddenSize);
        using var x = randn(c.N, c.L, c.InputSize);
        using var noGrad = no_grad();
        double gflop = 2.0 * 4 * c.HiddenSize * (c.InputSize + c.HiddenSize) * c.N * c.L / 1e9;
        var fused = Harness.Time(() => DynamicUnroller.Unroll(cell, x, path: UnrollPath.Fused), settings.Warmup, settings.Repetitions).AsRate(gflop);
        Add(BenchRecord.Compare("6 fused inference GFLOP/s vs 1024^3 matmul", c, fused, matmul, "GFLOP/s", "1024^3 float32 matmul", 0.85, true));
    }

    /// <summary>One library training step: LstmCell (Auto path) → last step → Linear, cross-entropy, clipping, Adam.</summary>
    private sealed class CoreTrainer : IDisposable
    {
        private readonly LstmCell _cell;
        private readonly TorchSharp.Modules.Linear _linear;
        private readonly optim.Optimizer _optimizer;
        private readonly TorchSharp.Modules.Parameter[] _parameters;

        public CoreTrainer(BenchConfig c)
        {
            _cell = new LstmCell(c.InputSize, c.HiddenSize);
            _linear = nn.Linear(c.HiddenSize, SyntheticData.Classes);
            _parameters = _cell.parameters().Concat(_linear.parameters()).ToArray();
            _optimizer = optim.Adam(_parameters, lr: 0.003);
        }

        public void Step(Tensor x, Tensor y)
        {
            _optimizer.zero_grad();
            var h = DynamicUnroller.Unroll(_cell, x).FinalState[1];
            nn.functional.cross_entropy(_linear.call(h), y).backward();
            nn.utils.clip_grad_norm_(_parameters, 5.0);
            _optimizer.step();
        }

        public void Dispose()
        {
            _optimizer.Dispose();
            _cell.Dispose();
            _linear.Dispose();
        }
    }

    /// <summary>7 (training): RSS after a warm-up vs after MemoryTrainingSteps more library training steps.</summary>
    public void TrainingMemory(BenchConfig c)
    {
        manual_seed(3);
        using var trainer = new CoreTrainer(c);
        using var x = randn(c.N, c.L, c.InputSize);
        using var y = randint(0, SyntheticData.Classes, [c.N]);
        void Steps(int count)
        {
            for (int i = 0; i < count; i++)
            {
                using var scope = NewDisposeScope();
                trainer.Step(x, y);
            }
        }
        Steps(50);
        long before = ClassifierBenchmarks.SettledRss();
        Steps(settings.MemoryTrainingSteps);
        long after = ClassifierBenchmarks.SettledRss();
        Add(new BenchRecord($"7 memory: RSS after {settings.MemoryTrainingSteps} training steps", c, after / 1048576.0, before / 1048576.0,
            (double)after / before, 1.05, false, "MB", "RSS before (after 50 warm-up steps)", null, null));
    }

    /// <summary>
    /// 8: library training throughput with libtorch's default thread count, one thread (the package's default on a
    /// two-core machine, see TrainingThreads) and all cores; then default vs one thread again while another thread
    /// keeps one core busy, as another process or ML.NET's own pipeline does in real use.
    /// </summary>
    public void Threads(BenchConfig c)
    {
        int defaultThreads = get_num_threads();
        manual_seed(3);
        using var trainer = new CoreTrainer(c);
        using var x = randn(c.N, c.L, c.InputSize);
        using var y = randint(0, SyntheticData.Classes, [c.N]);
        const int stepsPerRepetition = 3;
        Sample Run(int threads, bool busyCore)
        {
            set_num_threads(threads);
            using var stop = new CancellationTokenSource();
            var busy = busyCore ? Task.Factory.StartNew(() => SpinUntil(stop.Token), TaskCreationOptions.LongRunning) : Task.CompletedTask;
            try
            {
                return Harness.Time(() =>
                {
                    for (int i = 0; i < stepsPerRepetition; i++)
                    {
                        using var scope = NewDisposeScope();
                        trainer.Step(x, y);
                    }
                }, settings.Warmup, settings.Repetitions).AsRate((double)c.N * stepsPerRepetition);
            }
            finally
            {
                stop.Cancel();
                busy.Wait();
                set_num_threads(defaultThreads);
            }
        }
        var baseline = Run(defaultThreads, busyCore: false);
        Add(BenchRecord.Compare($"8 threads: libtorch default ({defaultThreads})", c, baseline, baseline, "sequences/s", "default", null, true));
        Add(BenchRecord.Compare("8 threads: set_num_threads(1)", c, Run(1, busyCore: false), baseline, "sequences/s", $"default ({defaultThreads})", null, true));
        Add(BenchRecord.Compare($"8 threads: all cores ({Environment.ProcessorCount})", c, Run(Environment.ProcessorCount, busyCore: false), baseline,
            "sequences/s", $"default ({defaultThreads})", null, true));
        var loaded = Run(defaultThreads, busyCore: true);
        Add(BenchRecord.Compare($"8 threads, one core busy: default ({defaultThreads})", c, loaded, loaded, "sequences/s", "default, busy core", null, true));
        Add(BenchRecord.Compare("8 threads, one core busy: set_num_threads(1)", c, Run(1, busyCore: true), loaded, "sequences/s",
            $"default ({defaultThreads}), busy core", null, true));
    }

    private static void SpinUntil(CancellationToken token)
    {
        double sink = 1;
        while (!token.IsCancellationRequested)
            for (int i = 0; i < 100_000; i++) sink = Math.Sqrt(sink + i);
        GC.KeepAlive(sink);
    }

    private void Add(BenchRecord record)
    {
        records.Add(record);
        Report.PrintRow(record);
    }
}
