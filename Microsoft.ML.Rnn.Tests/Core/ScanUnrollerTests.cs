using Microsoft.ML.Rnn.Core;
using Xunit;
using static TorchSharp.torch;

namespace Microsoft.ML.Rnn.Tests.Core;

public class ScanUnrollerTests
{
    [Fact]
    public void ReturnsEveryStepsStateRepeatingTheLastValidOne()
    {
        using var scope = NewDisposeScope();
        var cell = new EchoCell(2);
        var x = randn(3, 4, 2);
        var result = ScanUnroller.Scan(cell, x, tensor(new long[] { 4, 2, 0 }), [full(3, 1, 10f)]);
        Assert.Single(result.States);
        Assert.Equal(new long[] { 3, 4, 1 }, result.States[0].shape);
        // The counter state after each step: it stops at the length and repeats.
        var expected = tensor(new float[] { 11, 12, 13, 14, 11, 12, 12, 12, 10, 10, 10, 10 }).view(3, 4, 1);
        TensorAssert.Close(expected, result.States[0], 0);
        TensorAssert.Close(tensor(new float[] { 14, 12, 10 }).view(3, 1), result.FinalState[0], 0);
        TensorAssert.Close(x[0], result.Outputs[0], 0);
        TensorAssert.AllZero(result.Outputs[1, TensorIndex.Slice(2)]);
        TensorAssert.AllZero(result.Outputs[2]);
    }

    [Fact]
    public void MatchesTheDynamicUnrollerAndAManualLoop()
    {
        using var scope = NewDisposeScope();
        var cell = new TanhSumCell(3, 2, fusable: true);
        var x = randn(2, 5, 3);
        var lengths = tensor(new long[] { 5, 3 });
        var scan = ScanUnroller.Scan(cell, x, lengths);
        var dynamic = DynamicUnroller.Unroll(cell, x, lengths);
        TensorAssert.Close(dynamic.Outputs, scan.Outputs, 1e-6);
        TensorAssert.Close(dynamic.FinalState[1], scan.FinalState[1], 1e-6);
        Assert.Equal(0, cell.FusedCalls - 1); // only the dynamic unroll fused

        var state = cell.ZeroState(2);
        for (int t = 0; t < 5; t++)
        {
            (_, state) = cell.Step(x[TensorIndex.Colon, t], state);
            TensorAssert.Close(state[0][0], scan.States[0][0, t], 1e-6, $"h of sequence 0 at step {t}");
            TensorAssert.Close(state[1][0], scan.States[1][0, t], 1e-6, $"a of sequence 0 at step {t}");
        }
        TensorAssert.Close(scan.States[1][1, 2], scan.States[1][1, 4], 0, "repeated past length");

        var tm = ScanUnroller.Scan(cell, x.transpose(0, 1), lengths, timeMajor: true);
        TensorAssert.Close(scan.States[0].transpose(0, 1), tm.States[0], 0);
    }

    [Fact]
    public void GradientsFlowThroughTheStates()
    {
        using var scope = NewDisposeScope();
        var cell = new TanhSumCell(2, 2, dtype: float64);
        var x = randn(2, 3, 2, dtype: float64).requires_grad_();
        var lengths = tensor(new long[] { 3, 1 });
        GradientCheck.AssertGradientsMatch(
            () => ScanUnroller.Scan(cell, x, lengths).States[1].pow(2).sum(), [.. cell.parameters(), x]);
    }

    [Fact]
    public void ValidatesLikeTheDynamicUnroller()
    {
        using var scope = NewDisposeScope();
        var e = Assert.Throws<ArgumentException>(() => ScanUnroller.Scan(new EchoCell(2), randn(1, 2, 3)));
        Assert.Equal("ScanUnroller: cell 'EchoCell' expects 2 input features, got inputs of shape (1, 2, 3). (Parameter 'inputs')", e.Message);
    }
}
