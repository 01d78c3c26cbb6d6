using Xunit;
using static TorchSharp.torch;

namespace Microsoft.ML.Rnn.Tests.Core;

internal static class TensorAssert
{
    /// <summary>Same shape and max |a - b| within tolerance.</summary>
    public static void Close(Tensor expected, Tensor actual, double tolerance, string what = "")
    {
        Assert.Equal(expected.shape, actual.shape);
        if (expected.numel() == 0) return;
        double diff = (expected.detach().to(ScalarType.Float64) - actual.detach().to(ScalarType.Float64)).abs().max().item<double>();
        Assert.True(diff <= tolerance, $"{what} max abs difference {diff:G6} exceeds {tolerance:G3}");
    }

    public static void AllZero(Tensor t, string what = "")
        => Assert.True(t.detach().abs().sum().item<float>() == 0f, $"{what} expected all zeros");
}
