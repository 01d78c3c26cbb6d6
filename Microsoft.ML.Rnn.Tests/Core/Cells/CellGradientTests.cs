using Xunit;
using static TorchSharp.torch;

namespace Microsoft.ML.Rnn.Tests.Core.Cells;

/// <summary>float64 finite-difference checks of autograd through every cell and variant, and through the fused path.</summary>
public class CellGradientTests
{
    [Theory]
    [MemberData(nameof(GoldenCellTests.CaseNames), MemberType = typeof(GoldenCellTests))]
    public void StepGradientsMatchFiniteDifferences(string name)
    {
        using var scope = NewDisposeScope();
        manual_seed(5);
        var c = GoldenCellTests.Case(name);
        using var cell = GoldenCellTests.MakeCell(c, float64);
        // The fixture's weights make the clip cases actually clip.
        GoldenCellTests.LoadWeights(cell, c);
        const long n = 2, steps = 3;
        var inputs = randn(steps, n, cell.InputSize, dtype: float64).requires_grad_();
        var init = cell.StateSizes.Select(s => randn(n, s, dtype: float64).requires_grad_()).ToArray();
        var outWeights = randn(steps, n, cell.OutputSize, dtype: float64);
        var stateWeights = cell.StateSizes.Select(s => randn(n, s, dtype: float64)).ToArray();

        Tensor Loss()
        {
            Tensor[] state = init;
            Tensor loss = zeros(1, dtype: float64);
            var xs = inputs.unbind(0);
            for (int t = 0; t < steps; t++)
            {
                var (o, s) = cell.Step(xs[t], state);
                loss = loss + (o * outWeights[t]).sum();
                state = s;
            }
            for (int k = 0; k < state.Length; k++)
                loss = loss + (state[k] * stateWeights[k]).sum();
            return loss.sum();
        }

        var leaves = cell.parameters().Cast<Tensor>().Append(inputs).Concat(init).ToList();
        GradientCheck.AssertGradientsMatch(Loss, leaves);
    }

    [Theory]
    [InlineData("rnn_tanh")]
    [InlineData("rnn_relu")]
    [InlineData("gru_reset_after")]
    [InlineData("lstm_default")]
    public void FusedGradientsMatchFiniteDifferences(string name)
    {
        using var scope = NewDisposeScope();
        manual_seed(6);
        var c = GoldenCellTests.Case(name);
        using var cell = GoldenCellTests.MakeCell(c, float64);
        GoldenCellTests.LoadWeights(cell, c);
        Assert.True(cell.CanFuse);
        const long n = 3, l = 4;
        var inputs = randn(n, l, cell.InputSize, dtype: float64).requires_grad_();
        var lengths = tensor(new long[] { 4, 0, 2 });
        var init = cell.StateSizes.Select(s => randn(n, s, dtype: float64).requires_grad_()).ToArray();
        var outWeights = randn(n, l, cell.OutputSize, dtype: float64);
        var stateWeights = cell.StateSizes.Select(s => randn(n, s, dtype: float64)).ToArray();

        Tensor Loss()
        {
            var (o, final) = cell.ForwardFused(inputs, lengths, init);
            var loss = (o * outWeights).sum();
            for (int k = 0; k < final.Length; k++)
                loss = loss + (final[k] * stateWeights[k]).sum();
            return loss;
        }

        var leaves = cell.parameters().Cast<Tensor>().Append(inputs).Concat(init).ToList();
        GradientCheck.AssertGradientsMatch(Loss, leaves);
    }
}
