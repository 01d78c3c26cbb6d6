using System.Diagnostics;

namespace RnnBench;

/// <summary>Median and spread of repeated timings (seconds), with the repetition count.</summary>
internal sealed record Sample(double Median, double P10, double P90, int Repetitions)
{
    /// <summary>Summarises <paramref name="values"/> (order irrelevant).</summary>
    public static Sample Of(IReadOnlyList<double> values)
    {
        var sorted = values.OrderBy(v => v).ToArray();
        return new Sample(Percentile(sorted, 0.5), Percentile(sorted, 0.1), Percentile(sorted, 0.9), sorted.Length);
    }

    /// <summary>Linear-interpolated percentile of an ascending array.</summary>
    public static double Percentile(double[] sorted, double q)
    {
        if (sorted.Length == 0) return double.NaN;
        double pos = q * (sorted.Length - 1);
        int lo = (int)Math.Floor(pos), hi = (int)Math.Ceiling(pos);
        return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
    }

    /// <summary>The same sample as a rate: <paramref name="work"/> / time (spread flips: slow p90 time is the p10 rate).</summary>
    public Sample AsRate(double work) => new(work / Median, work / P90, work / P10, Repetitions);

    /// <summary>The same sample scaled (e.g. seconds to milliseconds).</summary>
    public Sample Scaled(double factor) => new(Median * factor, P10 * factor, P90 * factor, Repetitions);
}

/// <summary>Warm-up then timed repetitions; the body runs inside its own dispose scope each time.</summary>
internal static class Harness
{
    /// <summary>Runs <paramref name="body"/> <paramref name="warmup"/> times untimed, then <paramref name="repetitions"/> timed.</summary>
    public static Sample Time(Action body, int warmup, int repetitions)
    {
        for (int i = 0; i < warmup; i++) Scoped(body);
        var times = new double[repetitions];
        for (int i = 0; i < repetitions; i++)
        {
            // A collection between repetitions keeps finalizer-driven native frees out of the timed region.
            GC.Collect();
            GC.WaitForPendingFinalizers();
            var clock = Stopwatch.StartNew();
            Scoped(body);
            clock.Stop();
            times[i] = clock.Elapsed.TotalSeconds;
        }
        return Sample.Of(times);
    }

    /// <summary>
    /// Times two bodies in alternating repetitions of <paramref name="callsPerRepetition"/> calls each (seconds per call),
    /// so that both see the same machine state: millisecond-long calls timed in separate blocks drifted by up to 2×
    /// between blocks when libtorch ran on two threads.
    /// </summary>
    public static (Sample First, Sample Second) TimeAlternating(Action first, Action second, int warmup, int repetitions, int callsPerRepetition)
    {
        var samples = TimeAlternating([first, second], warmup, repetitions, callsPerRepetition);
        return (samples[0], samples[1]);
    }

    /// <summary>As the two-body overload, for any number of bodies (one sample per body, in order).</summary>
    public static Sample[] TimeAlternating(Action[] bodies, int warmup, int repetitions, int callsPerRepetition)
    {
        for (int i = 0; i < warmup * callsPerRepetition; i++)
            foreach (var body in bodies) Scoped(body);
        var times = bodies.Select(_ => new double[repetitions]).ToArray();
        for (int i = 0; i < repetitions; i++)
        {
            for (int which = 0; which < bodies.Length; which++)
            {
                GC.Collect();
                GC.WaitForPendingFinalizers();
                var clock = Stopwatch.StartNew();
                for (int k = 0; k < callsPerRepetition; k++) Scoped(bodies[which]);
                times[which][i] = clock.Elapsed.TotalSeconds / callsPerRepetition;
            }
        }
        return times.Select(Sample.Of).ToArray();
    }

    /// <summary>Times each of <paramref name="calls"/> single calls (for latency percentiles), after a warm-up.</summary>
    public static double[] Latencies(Action call, int warmup, int calls)
    {
        for (int i = 0; i < warmup; i++) Scoped(call);
        var times = new double[calls];
        for (int i = 0; i < calls; i++)
        {
            long start = Stopwatch.GetTimestamp();
            Scoped(call);
            times[i] = Stopwatch.GetElapsedTime(start).TotalSeconds;
        }
        Array.Sort(times);
        return times;
    }

    private static void Scoped(Action body)
    {
        using var scope = TorchSharp.torch.NewDisposeScope();
        body();
    }

    /// <summary>Resident set size of this process in bytes (Linux /proc/self/status VmRSS).</summary>
    public static long ResidentBytes()
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) * 1024;
        }
        return Environment.WorkingSet;
    }
}
