namespace Microsoft.ML.Rnn;

/// <summary>
/// Whether libtorch's fused recurrent kernels are checked before use. libtorch's CPU kernels differ between
/// instruction sets, and some are wrong on some CPUs (libtorch 2.10's oneDNN float32 LSTM on AMD Zen 5 for hidden sizes
/// with H % 32 in 1..16; docs/troubleshooting.md). Set it per component (<c>Options.FusedKernels</c>), for a stretch of
/// code (<see cref="Core.FusedKernelChecks.Use"/>) or for the process (<see cref="Core.FusedKernelChecks.DefaultPolicy"/>).
/// </summary>
public enum FusedKernelPolicy
{
    /// <summary>
    /// The first time a fused kernel of a given kind and shape runs on the CPU in this process, each way of
    /// computing it (libtorch's kernel, the same without oneDNN, the cell's step loop) is checked against float64
    /// equations on a small ragged batch, with gradients when training; only the right ones are used, and the fastest
    /// of them on a batch of the call's size is taken (separately for training and for scoring). A wrong kernel is
    /// reported once, as a warning. Faster where another way beats libtorch's kernel, but the choice depends on timings:
    /// two runs with the same seed may take different (right) ways and then differ by rounding, and a training run's
    /// rounding differences grow into a different model.
    /// </summary>
    Verify,

    /// <summary>
    /// The default. As <see cref="Verify"/>, without the timing: the first right way in the order libtorch's kernel, the
    /// kernel without oneDNN, the step loop. The choice then does not depend on how busy the machine was when it was
    /// made, so two processes on the same machine compute bit-identical results and a seed gives the same model.
    /// </summary>
    VerifyWithoutTiming,

    /// <summary>libtorch's fused kernels are used unchecked, as in earlier releases (fastest to start; wrong where libtorch is).</summary>
    Trust,

    /// <summary>Fused kernels are never used: every cell runs its step loop (slowest; independent of libtorch's RNN kernels).</summary>
    Never,
}
