using Microsoft.ML.Rnn.Core;
using Xunit;
using static TorchSharp.torch;

namespace Microsoft.ML.Rnn.Tests.Core;

public class StackedBidirectionalUnrollerTests
{
    [Fact]
    public void EachLayerFeedsItsConcatenatedOutputsToTheNext()
    {
        using var scope = NewDisposeScope();
        RnnCell[] fws = [new TanhSumCell(3, 2, seed: 1), new TanhSumCell(5, 4, seed: 3)];
        RnnCell[] bws = [new TanhSumCell(3, 3, seed: 2), new TanhSumCell(5, 1, seed: 4)];
        var x = randn(2, 4, 3);
        var lengths = tensor(new long[] { 4, 2 });
        var result = StackedBidirectionalUnroller.Unroll(fws, bws, x, lengths);

        var first = BidirectionalUnroller.Unroll(fws[0], bws[0], x, lengths);
        var second = BidirectionalUnroller.Unroll(fws[1], bws[1], first.Outputs!, lengths);
        Assert.Equal(new long[] { 2, 4, 5 }, result.Outputs.shape);
        TensorAssert.Close(second.Outputs!, result.Outputs, 0);
        Assert.Equal(2, result.ForwardFinalStates.Count);
        TensorAssert.Close(first.ForwardFinalState[0], result.ForwardFinalStates[0][0], 0);
        TensorAssert.Close(first.BackwardFinalState[1], result.BackwardFinalStates[0][1], 0);
        TensorAssert.Close(second.BackwardFinalState[0], result.BackwardFinalStates[1][0], 0);
        TensorAssert.AllZero(result.Outputs[1, TensorIndex.Slice(2)]);

        var tm = StackedBidirectionalUnroller.Unroll(fws, bws, x.transpose(0, 1), lengths, timeMajor: true);
        TensorAssert.Close(result.Outputs.transpose(0, 1), tm.Outputs, 0);
    }

    [Fact]
    public void FusedAndStepPathsAgree()
    {
        using var scope = NewDisposeScope();
        RnnCell[] fws = [new TanhSumCell(3, 2, true, seed: 1), new TanhSumCell(4, 2, true, seed: 3)];
        RnnCell[] bws = [new TanhSumCell(3, 2, true, seed: 2), new TanhSumCell(4, 3, true, seed: 4)];
        var x = randn(3, 4, 3);
        var lengths = tensor(new long[] { 1, 4, 0 });
        UnrollerAgreement.Assert([.. fws, .. bws], p => StackedBidirectionalUnroller.Unroll(fws, bws, x, lengths, path: p) is var r
            ? [r.Outputs, .. r.ForwardFinalStates.SelectMany(s => s), .. r.BackwardFinalStates.SelectMany(s => s)] : []);
    }

    [Fact]
    public void GradientsMatchFiniteDifferencesWithLengths()
    {
        using var scope = NewDisposeScope();
        RnnCell[] fws = [new TanhSumCell(2, 2, dtype: float64, seed: 1), new TanhSumCell(4, 2, dtype: float64, seed: 3)];
        RnnCell[] bws = [new TanhSumCell(2, 2, dtype: float64, seed: 2), new TanhSumCell(4, 1, dtype: float64, seed: 4)];
        var x = randn(2, 3, 2, dtype: float64).requires_grad_();
        var lengths = tensor(new long[] { 3, 1 });
        GradientCheck.AssertGradientsMatch(() =>
        {
            var r = StackedBidirectionalUnroller.Unroll(fws, bws, x, lengths);
            return r.Outputs.pow(2).sum() + r.BackwardFinalStates[0][0].sum();
        }, [.. fws.SelectMany(c => c.parameters()), .. bws.SelectMany(c => c.parameters()), x]);
    }

    [Fact]
    public void LayerMismatchesAreRejected()
    {
        using var scope = NewDisposeScope();
        var x = randn(1, 2, 3);
        var count = Assert.Throws<ArgumentException>(() => StackedBidirectionalUnroller.Unroll(
            [new TanhSumCell(3, 2)], [new TanhSumCell(3, 2), new TanhSumCell(4, 2)], x));
        Assert.Equal("StackedBidirectionalUnroller: got 1 forward cells but 2 backward cells. (Parameter 'backwardCells')", count.Message);
        var sizes = Assert.Throws<ArgumentException>(() => StackedBidirectionalUnroller.Unroll(
            [new TanhSumCell(3, 2), new TanhSumCell(3, 2)], [new TanhSumCell(3, 2), new TanhSumCell(4, 2)], x));
        Assert.Equal("StackedBidirectionalUnroller: layer 1 cells take 3 (forward) and 4 (backward) input features, but layer 0 outputs 4. (Parameter 'forwardCells')", sizes.Message);
        var empty = Assert.Throws<ArgumentException>(() => StackedBidirectionalUnroller.Unroll([], [], x));
        Assert.Equal("StackedBidirectionalUnroller: at least one layer is needed. (Parameter 'forwardCells')", empty.Message);
    }
}
