namespace Microsoft.ML.Rnn.Tests;

/// <summary>
/// How far two float32 computations of the same values may differ, in one place. float32 rounds at 6e-8 relative;
/// the values compared here are O(1) (gates, tanh outputs, probabilities), each the end of a chain of sums of at most a
/// few hundred products, and different paths (libtorch's fused kernels, oneDNN, the step loop, a float64 reference)
/// sum in different orders. Measured differences between right paths stay below 2e-6; the faults these tests exist to
/// catch are 0.1 and more. Where the point of a test is that the same computation repeats exactly (same process, same
/// path, same inputs), it compares bit for bit and says so instead of using these.
/// </summary>
internal static class Tolerances
{
    /// <summary>Outputs and states of one step, or of an unroll over tens of steps, computed two ways (1e-5).</summary>
    public const double Float32Unroll = 1e-5;

    /// <summary>Gradients: sums over every row and step of products of the above (1e-4).</summary>
    public const double Float32Gradient = 1e-4;

    /// <summary>A model's scores after a save/load or in another process, through the same or another right path (1e-5).</summary>
    public const float Float32Score = 1e-5f;

    /// <summary>Equality of floats within <paramref name="tolerance"/>, for xunit's collection asserts.</summary>
    public static IEqualityComparer<float> Within(float tolerance) => new FloatComparer(tolerance);

    private sealed class FloatComparer(float tolerance) : IEqualityComparer<float>
    {
        public bool Equals(float x, float y) => Math.Abs(x - y) <= tolerance;
        public int GetHashCode(float obj) => 0;
    }
}
