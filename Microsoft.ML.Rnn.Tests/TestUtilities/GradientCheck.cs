using Xunit;
using static TorchSharp.torch;

namespace Microsoft.ML.Rnn.Tests;

/// <summary>
/// Finite-difference gradient check in float64: compares autograd's gradient of a scalar function with central
/// differences for every element of every given tensor (parameters or inputs that require grad).
/// </summary>
internal static class GradientCheck
{
    /// <param name="loss">Builds the scalar to differentiate; called repeatedly, must be deterministic.</param>
    /// <param name="tensors">float64 leaf tensors with requires_grad set.</param>
    public static void AssertGradientsMatch(Func<Tensor> loss, IReadOnlyList<Tensor> tensors,
        double eps = 1e-6, double tolerance = 1e-5, int maxElementsPerTensor = 64)
    {
        foreach (var t in tensors)
        {
            Assert.Equal(ScalarType.Float64, t.dtype);
            Assert.True(t.requires_grad, "GradientCheck: every tensor must require grad");
            t.grad?.zero_();
        }

        using (var scope = NewDisposeScope())
        {
            loss().backward();
        }

        for (int k = 0; k < tensors.Count; k++)
        {
            var t = tensors[k];
            using var analytic = t.grad is null ? zeros_like(t) : t.grad.detach().clone();
            long n = t.numel();
            long stride = Math.Max(1, n / maxElementsPerTensor);
            for (long i = 0; i < n; i += stride)
            {
                double numeric;
                using (no_grad())
                using (var scope = NewDisposeScope())
                {
                    var flat = t.view(-1);
                    double original = flat[i].item<double>();
                    flat[i] = original + eps;
                    double plus = loss().item<double>();
                    flat[i] = original - eps;
                    double minus = loss().item<double>();
                    flat[i] = original;
                    numeric = (plus - minus) / (2 * eps);
                }
                double expected = analytic.view(-1)[i].item<double>();
                double scale = Math.Max(1.0, Math.Abs(numeric));
                Assert.True(Math.Abs(numeric - expected) <= tolerance * scale,
                    $"gradient of tensor {k} element {i}: autograd {expected:G10}, finite difference {numeric:G10}");
            }
        }
    }
}
