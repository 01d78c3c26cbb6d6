using Xunit;
using static TorchSharp.torch;

namespace Microsoft.ML.Rnn.Tests;

public class GradientCheckTests
{
    [Fact]
    public void AcceptsCorrectGradient()
    {
        using var scope = NewDisposeScope();
        var w = randn(3, 4, dtype: float64).requires_grad_();
        var x = randn(4, 2, dtype: float64);
        GradientCheck.AssertGradientsMatch(() => tanh(w.matmul(x)).pow(2).sum(), [w]);
    }

    [Fact]
    public void RejectsWrongGradient()
    {
        using var scope = NewDisposeScope();
        var w = randn(3, dtype: float64).requires_grad_();
        // The custom scalar has the value of sum(w^2) but a detached term, so autograd's gradient is wrong.
        Func<Tensor> wrong = () => w.pow(2).sum() + w.detach().pow(3).sum();
        Assert.ThrowsAny<Xunit.Sdk.XunitException>(() => GradientCheck.AssertGradientsMatch(wrong, [w]));
    }
}
