using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.Rnn.Core;

/// <summary>How a fused kernel's results are computed.</summary>
public enum FusedKernelPath
{
    /// <summary>libtorch's fused kernel as libtorch runs it (oneDNN for a float32 LSTM on x86 CPUs).</summary>
    Native,
    /// <summary>libtorch's fused kernel with oneDNN switched off for the call (LSTM only: no other kernel uses oneDNN).</summary>
    NativeWithoutOneDnn,
    /// <summary>The cell's own step loop: a libtorch call per gate operation and step, no RNN kernel.</summary>
    StepLoop,
}

/// <summary>A fused kernel's kind and shape: what a check's verdict holds for within a process.</summary>
/// <param name="Kind">LSTM, GRU, RNN (tanh) or RNN (ReLU).</param>
/// <param name="InputSize">H_in.</param>
/// <param name="HiddenSize">H.</param>
/// <param name="Dtype">Element type.</param>
/// <param name="Device">CPU or CUDA.</param>
public readonly record struct FusedKernelShape(FusedKernelKind Kind, long InputSize, long HiddenSize, ScalarType Dtype, DeviceType Device)
{
    /// <inheritdoc/>
    public override string ToString()
    {
        string kind = Kind switch
        {
            FusedKernelKind.Lstm => "LSTM",
            FusedKernelKind.Gru => "GRU",
            FusedKernelKind.RnnTanh => "RNN (tanh)",
            _ => "RNN (ReLU)",
        };
        return $"{kind} (input {InputSize}, hidden {HiddenSize}, {Dtype}, {Device})";
    }
}

/// <summary>One way of computing a kernel, as checked and (optionally) timed.</summary>
/// <param name="Path">The way.</param>
/// <param name="Error">Largest difference from the float64 reference over outputs, final states and, when training,
/// gradients; each relative to the reference's largest magnitude when that exceeds 1.</param>
/// <param name="IsRight">Whether <paramref name="Error"/> is within rounding (<see cref="FusedKernelChecks.Float32Tolerance"/>, <see cref="FusedKernelChecks.Float64Tolerance"/>).</param>
/// <param name="Milliseconds">Median time of one call (forward, or forward and backward when training) on the timing
/// batch; null when not timed.</param>
public sealed record FusedKernelPathCheck(FusedKernelPath Path, double Error, bool IsRight, double? Milliseconds);

/// <summary>What <see cref="FusedKernelChecks"/> decided for one kernel shape, for training or for scoring.</summary>
/// <param name="Shape">The kernel's kind and shape.</param>
/// <param name="Training">True for calls that record gradients (forward and backward checked and timed).</param>
/// <param name="Threads">libtorch's intra-op threads when the choice was made.</param>
/// <param name="Cpu">The CPU it ran on.</param>
/// <param name="Checks">Every way checked, in order of preference.</param>
/// <param name="Chosen">The way this process uses.</param>
/// <param name="CheckMilliseconds">Time spent checking (reference and every way).</param>
/// <param name="TimingMilliseconds">Time spent timing the right ways (0 without timing).</param>
/// <param name="TimingBatch">(N, L) of the timing batch; null without timing.</param>
public sealed record FusedKernelVerdict(FusedKernelShape Shape, bool Training, int Threads, string Cpu,
    IReadOnlyList<FusedKernelPathCheck> Checks, FusedKernelPath Chosen, double CheckMilliseconds, double TimingMilliseconds,
    (long N, long L)? TimingBatch)
{
    /// <summary>True when libtorch's own kernel gave wrong values for this shape on this CPU.</summary>
    public bool NativeIsWrong => Checks.Any(c => c.Path == FusedKernelPath.Native && !c.IsRight);
}
