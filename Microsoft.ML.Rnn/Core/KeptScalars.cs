using TorchSharp;

namespace Microsoft.ML.Rnn.Core;

/// <summary>
/// Scalars that live as long as the process. TorchSharp's implicit number-to-<see cref="Scalar"/> conversion creates a
/// temporary that only the finalizer owns; it becomes unreachable once its handle is passed to libtorch, so a garbage
/// collection during the native call can free it while libtorch reads it (the call then fails with "Expected false to
/// be true"). Library code passes these, or a scalar it disposes after the call, instead (pinned by a test).
/// </summary>
internal static class KeptScalars
{
    public static readonly Scalar Zero = 0L.ToScalar();
    public static readonly Scalar One = 1L.ToScalar();
    public static readonly Scalar NegativeInfinity = double.NegativeInfinity.ToScalar();
    public static readonly Scalar Half = 0.5.ToScalar();
    public static readonly Scalar Two = 2L.ToScalar();

    /// <summary>
    /// a + b. TorchSharp's operator + and <c>add(b)</c> call <c>add(b, 1)</c>, converting the 1 implicitly inside
    /// TorchSharp; this passes a kept one (Architecture/ImplicitScalarTests checks TorchSharp's methods too).
    /// </summary>
    public static torch.Tensor Plus(this torch.Tensor a, torch.Tensor b) => a.add(b, One);

    /// <summary>a + b for a scalar b, with a kept alpha (TorchSharp's <c>add(b)</c> converts its 1 implicitly).</summary>
    public static torch.Tensor Plus(this torch.Tensor a, Scalar b) => a.add(b, One);

    /// <summary>The target written at padding steps, which cross_entropy's ignore_index skips.</summary>
    public const long IgnoredTargetIndex = -100;
    public static readonly Scalar IgnoredTarget = IgnoredTargetIndex.ToScalar();
}
