using Microsoft.ML.Rnn.Core;

namespace RnnBench;

/// <summary>
/// The fused-kernel verdicts reached during the run (docs/troubleshooting.md, "Wrong fused kernels"): per kernel shape
/// and mode, each way's error against the float64 equations, its time where timed, the way chosen, and what the check
/// and the timing cost, once per shape and process.
/// </summary>
internal static class KernelCheckReport
{
    public static void Print(IReadOnlyList<FusedKernelVerdict> verdicts)
    {
        Console.WriteLine($"\nFused kernel checks on {FusedKernelChecks.Cpu} ({verdicts.Count} verdicts)");
        Console.WriteLine($"{"kernel",-46} {"mode",-9} {"thr",3} {"chosen",-20} {"check ms",9} {"timing ms",10}  ways (error vs float64; ms per call)");
        foreach (var v in verdicts)
        {
            string ways = string.Join("; ", v.Checks.Select(c => $"{c.Path} {c.Error:G2}{(c.IsRight ? "" : " WRONG")}" +
                                                                 (c.Milliseconds is double ms ? $" {ms:F2} ms" : "")));
            Console.WriteLine($"{v.Shape,-46} {(v.Training ? "training" : "scoring"),-9} {v.Threads,3} {v.Chosen,-20} " +
                              $"{v.CheckMilliseconds,9:F2} {v.TimingMilliseconds,10:F1}  {ways}");
        }
    }

    public static object ForJson(FusedKernelVerdict v) => new
    {
        Shape = v.Shape.ToString(),
        v.Training,
        v.Threads,
        Chosen = v.Chosen.ToString(),
        v.CheckMilliseconds,
        v.TimingMilliseconds,
        TimingBatch = v.TimingBatch is { } b ? new[] { b.N, b.L } : null,
        Ways = v.Checks.Select(c => new { Path = c.Path.ToString(), c.Error, c.IsRight, c.Milliseconds }),
    };
}
