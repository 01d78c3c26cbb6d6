using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.Rnn.Core;

/// <summary>Which steps of a padded batch are real: the one mask every length-aware computation starts from.</summary>
internal static class LengthMask
{
    /// <summary>(N, L) bool on <paramref name="device"/>: true where step t &lt; the row's length.</summary>
    /// <param name="lengths">(N) integer lengths, on any device.</param>
    /// <param name="steps">L, the padded length.</param>
    /// <param name="device">Where the mask is needed.</param>
    public static Tensor Valid(Tensor lengths, long steps, Device device)
    {
        using var time = Time(steps, device);
        return time.unsqueeze(0).lt(lengths.to(ScalarType.Int64, device).unsqueeze(1));
    }

    /// <summary>(L) int64 step indices 0 … L-1.</summary>
    public static Tensor Time(long steps, Device device)
    {
        using var stop = steps.ToScalar();
        return arange(KeptScalars.Zero, stop, KeptScalars.One, dtype: ScalarType.Int64, device: device);
    }
}
