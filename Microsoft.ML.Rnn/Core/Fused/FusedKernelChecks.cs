using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.Rnn.Core;

/// <summary>
/// Checks libtorch's fused recurrent kernels before they compute anything, once per kernel shape and process, and
/// picks how each shape is computed (<see cref="FusedKernelPolicy"/>). libtorch's CPU kernels are not the same code on
/// every CPU: libtorch 2.10's oneDNN float32 LSTM returns values off by 0.1–1.4 on AMD Zen 5 for hidden sizes with
/// H % 32 in 1..16, and right ones on Zen 4. A check runs every way of computing the shape (<see cref="FusedKernelPath"/>)
/// on a small batch with ragged lengths and compares it with the kernel's equations in float64
/// (<see cref="KernelReference"/>), forward only for scoring and with gradients for training. Wrong ways are never
/// used in the process; a wrong libtorch kernel is reported once (<see cref="Trace"/> and the warnings sink of
/// <see cref="Use"/>). Among the right ways the fastest is timed and taken, as cuDNN's benchmark mode does.
/// </summary>
/// <remarks>
/// Only CPU kernels in float32 and float64 are checked; other devices and dtypes run libtorch's kernel. The verdicts
/// are process-wide (<see cref="Verdicts"/>) and thread-safe; a check leaves libtorch's random generator as it found
/// it, so it does not change what a seeded run computes.
/// </remarks>
public static class FusedKernelChecks
{
    /// <summary>
    /// Largest accepted difference from the float64 reference in float32 (relative to the reference's magnitude when it
    /// exceeds 1). Float32 rounds at 6e-8 relative; a step's gates are sums of H_in + H products and the check runs
    /// 7 steps, which bounds honest rounding well below 1e-4 for any size up to thousands of units, while the faults
    /// seen are 0.1 and more.
    /// </summary>
    public const double Float32Tolerance = 1e-3;

    /// <summary>As <see cref="Float32Tolerance"/> for float64 (rounding 1e-16 relative).</summary>
    public const double Float64Tolerance = 1e-9;

    private static readonly AsyncLocal<Settings?> s_ambient = new();
    private static readonly ConcurrentDictionary<(FusedKernelShape, bool Training, int Threads, bool Timed), FusedKernelPath> s_chosen = new();
    private static Func<FusedKernelShape, bool>[] s_faultsForTests = [];
    private static readonly Dictionary<FusedKernelShape, double[]> s_forwardErrors = [];   // under s_gate
    private static readonly Lock s_gate = new();
    private static readonly List<FusedKernelVerdict> s_verdicts = [];
    private static readonly HashSet<FusedKernelShape> s_warned = [];
    private static readonly Lazy<string> s_cpu = new(DescribeCpu);

    /// <summary>The environment variable that sets <see cref="DefaultPolicy"/> without code: a policy's name, any case.</summary>
    public const string EnvironmentVariable = "MICROSOFT_ML_RNN_FUSED_KERNELS";

    private static FusedKernelPolicy? s_default;

    /// <summary>
    /// The policy of code outside any <see cref="Use"/> scope, for the whole process: <see cref="FusedKernelPolicy.VerifyWithoutTiming"/>
    /// (a seed gives the same model in every run) unless the environment variable <see cref="EnvironmentVariable"/> names another.
    /// </summary>
    /// <exception cref="InvalidOperationException">The environment variable holds something else than a policy's name.</exception>
    public static FusedKernelPolicy DefaultPolicy
    {
        get => s_default ??= ParsePolicy(Environment.GetEnvironmentVariable(EnvironmentVariable));
        set
        {
            if (!Enum.IsDefined(value))
                throw new ArgumentOutOfRangeException(nameof(value), value, "FusedKernelChecks: unknown policy.");
            s_default = value;
        }
    }

    /// <summary>The policy in force here: the innermost <see cref="Use"/> scope's, or <see cref="DefaultPolicy"/>.</summary>
    public static FusedKernelPolicy Policy => s_ambient.Value?.Policy ?? DefaultPolicy;

    /// <summary>
    /// Sets the policy, and where warnings go, for the code that runs until the returned scope is disposed (in this
    /// thread and the async calls it starts). The ML.NET components use it to apply their options and send the
    /// warnings to the MLContext's log.
    /// </summary>
    /// <param name="policy">The policy.</param>
    /// <param name="warnings">Receives each warning (also written to <see cref="Trace"/>); null for Trace only.</param>
    public static IDisposable Use(FusedKernelPolicy policy, Action<string>? warnings = null)
    {
        if (!Enum.IsDefined(policy))
            throw new ArgumentOutOfRangeException(nameof(policy), policy, "FusedKernelChecks: unknown policy.");
        var previous = s_ambient.Value;
        s_ambient.Value = new Settings(policy, warnings);
        return new Restore(previous);
    }

    /// <summary>Every verdict reached in this process so far, oldest first.</summary>
    public static IReadOnlyList<FusedKernelVerdict> Verdicts
    {
        get { lock (s_gate) return s_verdicts.ToArray(); }
    }

    /// <summary>The CPU as the verdicts and warnings name it (model name and family from /proc/cpuinfo on Linux).</summary>
    public static string Cpu => s_cpu.Value;

    /// <summary>The path for a call of <paramref name="kernel"/> on an (N, L) batch, checking the shape first if needed.</summary>
    internal static FusedKernelPath PathFor(FusedKernel kernel, Tensor inputs)
    {
        var policy = Policy;
        if (policy == FusedKernelPolicy.Never)
            return FusedKernelPath.StepLoop;
        var shape = new FusedKernelShape(kernel.Kind, kernel.InputSize, kernel.HiddenSize, inputs.dtype, inputs.device_type);
        if (policy == FusedKernelPolicy.Trust || !IsChecked(shape))
            return FusedKernelPath.Native;
        bool training = is_grad_enabled(), timed = policy == FusedKernelPolicy.Verify;
        var key = (shape, training, get_num_threads(), timed);
        if (s_chosen.TryGetValue(key, out var path))
            return path;
        FusedKernelVerdict verdict;
        bool warn;
        lock (s_gate)
        {
            if (s_chosen.TryGetValue(key, out path))
                return path;
            verdict = Decide(kernel, shape, inputs.device, training, timed, inputs.shape[0], inputs.shape[1]);
            s_verdicts.Add(verdict);
            warn = verdict.NativeIsWrong && s_warned.Add(shape);
            s_chosen[key] = verdict.Chosen;
        }
        if (warn)
            Warn(Describe(verdict));   // outside the lock: the sink is the caller's code
        return verdict.Chosen;
    }

    /// <summary>Test-only: from now on the libtorch kernels of the shapes <paramref name="affects"/> selects return
    /// perturbed outputs (a simulated CPU fault), and their earlier verdicts are forgotten.</summary>
    internal static void InjectFaultForTests(Func<FusedKernelShape, bool> affects)
    {
        lock (s_gate)
        {
            s_faultsForTests = [.. s_faultsForTests, affects];
            foreach (var key in s_chosen.Keys.Where(k => affects(k.Item1)))
                s_chosen.TryRemove(key, out _);
            s_warned.RemoveWhere(affects.Invoke);
            foreach (var shape in s_forwardErrors.Keys.Where(affects).ToArray())
                s_forwardErrors.Remove(shape);
        }
    }

    /// <summary>True once <see cref="InjectFaultForTests"/> was called (a cheap test before building a shape).</summary>
    internal static bool AnyInjectedFault => s_faultsForTests.Length > 0;

    /// <summary>Whether <see cref="InjectFaultForTests"/> made this shape's libtorch kernel wrong.</summary>
    internal static bool HasInjectedFault(FusedKernelShape shape) => s_faultsForTests.Any(affects => affects(shape));

    /// <summary>The policy <see cref="EnvironmentVariable"/>'s value names (<see cref="FusedKernelPolicy.VerifyWithoutTiming"/> when empty).</summary>
    internal static FusedKernelPolicy ParsePolicy(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
            return FusedKernelPolicy.VerifyWithoutTiming;
        string? name = Enum.GetNames<FusedKernelPolicy>().FirstOrDefault(n => n.Equals(text.Trim(), StringComparison.OrdinalIgnoreCase));
        return name is not null
            ? Enum.Parse<FusedKernelPolicy>(name)
            : throw new InvalidOperationException($"FusedKernelChecks: the environment variable {EnvironmentVariable} is '{text}'; " +
                $"expected one of {string.Join(", ", Enum.GetNames<FusedKernelPolicy>())}.");
    }

    private static bool IsChecked(FusedKernelShape shape)
        => shape.Device == DeviceType.CPU && shape.Dtype is ScalarType.Float32 or ScalarType.Float64;

    private static double ToleranceFor(ScalarType dtype) => dtype == ScalarType.Float64 ? Float64Tolerance : Float32Tolerance;

    private static FusedKernelVerdict Decide(FusedKernel kernel, FusedKernelShape shape, Device device, bool training, bool timed, long n, long l)
    {
        var clock = Stopwatch.StartNew();
        // A cell of the same kind and shape with weights of its own: the verdict must hold for every model of the shape.
        using var twin = KernelCheck.Twin(kernel, shape.Dtype, device);
        kernel = twin.Kernel!;
        var candidates = Candidates(shape);
        // The forward check serves scoring and training; training adds the backward check.
        if (!s_forwardErrors.TryGetValue(shape, out var forward))
            s_forwardErrors[shape] = forward = KernelCheck.ForwardErrors(kernel, candidates);
        double[] errors = training
            ? KernelCheck.GradientErrors(kernel, candidates).Zip(forward, Math.Max).ToArray()
            : forward;
        double tolerance = ToleranceFor(shape.Dtype);
        var right = candidates.Where((_, i) => errors[i] <= tolerance).ToArray();
        double checkMs = clock.Elapsed.TotalMilliseconds;
        if (right.Length == 0)
        {
            throw new InvalidOperationException(
                $"FusedKernelChecks: no way of computing {shape} matched its float64 equations on this CPU ({Cpu}): " +
                string.Join(", ", candidates.Select((c, i) => $"{c} off by {errors[i]:G3}")) + ". Please report it with this message.");
        }

        double?[] times = new double?[candidates.Length];
        (long, long)? timingBatch = null;
        var chosen = right[0];
        clock.Restart();
        if (timed && right.Length > 1)
        {
            // The call's batch, capped: speed per step settles within tens of steps, and the timing runs once per
            // shape (a warm-up and up to 3 timed calls of each way) where the user waits for it.
            timingBatch = (Math.Clamp(n, 1, 64), Math.Clamp(l, 1, 32));
            double[] medians = KernelCheck.Time(kernel, right, training, timingBatch.Value.Item1, timingBatch.Value.Item2);
            for (int i = 0; i < right.Length; i++)
                times[Array.IndexOf(candidates, right[i])] = medians[i];
            // Another way replaces the preferred one only when clearly faster, so that timing noise between runs on
            // one machine rarely changes the choice (and with it the last bits of the results).
            int best = 0;
            for (int i = 1; i < right.Length; i++)
                if (medians[i] < 0.9 * medians[best]) best = i;
            chosen = right[best];
        }
        var checks = candidates.Select((c, i) => new FusedKernelPathCheck(c, errors[i], errors[i] <= tolerance, times[i])).ToArray();
        return new FusedKernelVerdict(shape, training, get_num_threads(), Cpu, checks, chosen, checkMs,
            timingBatch is null ? 0 : clock.Elapsed.TotalMilliseconds, timingBatch);
    }

    /// <summary>The ways of computing a shape, in order of preference (libtorch's kernel first: usually the fastest).</summary>
    private static FusedKernelPath[] Candidates(FusedKernelShape shape)
        => shape.Kind == FusedKernelKind.Lstm && shape.Dtype == ScalarType.Float32 && OneDnnSwitch.IsAvailable
            ? [FusedKernelPath.Native, FusedKernelPath.NativeWithoutOneDnn, FusedKernelPath.StepLoop]
            : [FusedKernelPath.Native, FusedKernelPath.StepLoop];

    private static string Describe(FusedKernelVerdict verdict)
    {
        var native = verdict.Checks.First(c => c.Path == FusedKernelPath.Native);
        string instead = verdict.Chosen switch
        {
            FusedKernelPath.NativeWithoutOneDnn => "libtorch's kernel with oneDNN switched off for its calls",
            FusedKernelPath.StepLoop => "the cell's step loop",
            _ => "libtorch's kernel",
        };
        return $"Microsoft.ML.Rnn: libtorch's fused {verdict.Shape} kernel computes wrong values on this CPU ({verdict.Cpu}): " +
               $"off by {native.Error:G3} from its float64 equations ({(verdict.Training ? "forward and backward" : "forward")}). " +
               $"This process computes that shape with {instead} instead, checked right (off by " +
               $"{verdict.Checks.First(c => c.Path == verdict.Chosen).Error:G2}). Results are right; speed may differ. " +
               "See 'Wrong fused kernels' in docs/troubleshooting.md.";
    }

    private static void Warn(string message)
    {
        Trace.TraceWarning(message);
        s_ambient.Value?.Warnings?.Invoke(message);
    }

    private static string DescribeCpu()
    {
        string arch = RuntimeInformation.ProcessArchitecture.ToString();
        try
        {
            if (!File.Exists("/proc/cpuinfo"))
                return $"{arch}, {Environment.ProcessorCount} cores";
            var fields = File.ReadLines("/proc/cpuinfo").TakeWhile(line => line.Length > 0)
                .Select(line => line.Split(':', 2)).Where(parts => parts.Length == 2)
                .GroupBy(parts => parts[0].Trim()).ToDictionary(g => g.Key, g => g.First()[1].Trim());
            string model = fields.GetValueOrDefault("model name", arch);
            return fields.TryGetValue("cpu family", out var family) ? $"{model}, family {family}, model {fields.GetValueOrDefault("model", "?")}" : model;
        }
        catch (IOException)
        {
            return arch;
        }
    }

    private sealed record Settings(FusedKernelPolicy Policy, Action<string>? Warnings);

    private sealed class Restore(Settings? previous) : IDisposable
    {
        private bool _done;

        public void Dispose()
        {
            if (_done) return;
            _done = true;
            s_ambient.Value = previous;
        }
    }
}
