using System.Diagnostics;
using Microsoft.ML.Rnn.Core;
using Microsoft.ML.Rnn.Tests.Reliability;
using Xunit;
using static TorchSharp.torch;

namespace Microsoft.ML.Rnn.Tests.Core;

/// <summary>Measures the process's resident memory, so it runs alone (other tests' allocations would land in it).</summary>
[Collection(ProcessMeasurementCollection.Name)]
public class NativeMemoryTests
{
    /// <summary>
    /// Resident set size in bytes, from /proc/self/statm (Linux) or the working set elsewhere, after a full
    /// collection, minus the memory the managed heap has committed (which the GC keeps and may grow by megabytes):
    /// what remains is native memory.
    /// </summary>
    private static long NativeResidentBytes()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        long managed = GC.GetGCMemoryInfo().TotalCommittedBytes;
        return ResidentBytes() - managed;
    }

    private static long ResidentBytes()
    {
        const string statm = "/proc/self/statm";
        if (File.Exists(statm))
        {
            long pages = long.Parse(File.ReadAllText(statm).Split(' ')[1]);
            return pages * Environment.SystemPageSize;
        }
        using var process = Process.GetCurrentProcess();
        return process.WorkingSet64;
    }

    [Fact]
    public void TrainingStepsInDisposeScopesDoNotGrowNativeMemory()
    {
        var cell = new LstmCell(8, 32);
        var head = nn.Linear(32, 1);
        var optimizer = optim.Adam(cell.parameters().Concat(head.parameters()), 1e-3);
        var g = new Generator(5);
        using var x = randn(16, 12, 8, generator: g);
        using var y = randn(16, 1, generator: g);
        using var lengths = randint(1, 13, [16], generator: g, dtype: ScalarType.Int64);

        void Train(int steps, UnrollPath path)
        {
            for (int i = 0; i < steps; i++)
            {
                using var scope = NewDisposeScope();
                optimizer.zero_grad();
                var r = DynamicUnroller.Unroll(cell, x, lengths, path: path);
                var loss = nn.functional.mse_loss(head.call(r.FinalState[1]), y);
                loss.backward();
                optimizer.step();
            }
        }

        Train(30, UnrollPath.Step);
        Train(30, UnrollPath.Fused);
        long liveBefore = TorchSharp.DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        // Mostly fused steps: the step path is ~15 ms per training step here, the fused one far less. The native
        // allocator grows its arenas now and then (seen: up to 38 MB within the first few hundred steps, depending on
        // what ran before in the process), so the bound applies to a second window after a first one soaked that up.
        Train(60, UnrollPath.Step);
        Train(120, UnrollPath.Fused);
        long before = NativeResidentBytes();
        Train(120, UnrollPath.Fused);
        long growth = NativeResidentBytes() - before;
        Assert.Equal(liveBefore, TorchSharp.DisposeScopeManager.Statistics.ThreadTotalLiveCount);
        // Leaking one step's tensors (about half a megabyte) would add about 60 MB over the window; seen without a
        // leak: 0.8-1.6 MB.
        var paths = FusedKernelChecks.Verdicts.Where(v => v.Shape.InputSize == 8 && v.Shape.HiddenSize == 32).Select(v => $"{(v.Training ? "training" : "scoring")}: {v.Chosen}");
        Assert.True(growth < 16L << 20, $"native resident memory grew by {growth / 1024} KiB over 120 training steps ({string.Join(", ", paths)})");
    }
}
