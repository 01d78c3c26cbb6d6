using Microsoft.ML.Rnn.Core;
using Xunit;
using static TorchSharp.torch;

namespace Microsoft.ML.Rnn.Tests.Core.Wrappers;

public class ResidualCellTests
{
    [Fact]
    public void AddsTheInputToTheInnerOutput()
    {
        using var scope = NewDisposeScope();
        var inner = new TanhSumCell(3, 3);
        var residual = new ResidualCell(inner);
        Assert.Equal(3, residual.parameters().Count());
        var x = randn(2, 3);
        var state = residual.ZeroState(2);
        var (expected, expectedState) = inner.Step(x, state);
        var (output, next) = residual.Step(x, state);
        TensorAssert.Close(expected + x, output, 1e-7);
        TensorAssert.Close(expectedState[1], next[1], 0);
    }

    [Fact]
    public void FusedPathKeepsPaddingZeroAndAgreesWithTheStepPath()
    {
        using var scope = NewDisposeScope();
        var residual = new ResidualCell(new TanhSumCell(3, 3, fusable: true));
        Assert.True(residual.CanFuse);
        var x = randn(3, 4, 3) + 1; // nonzero padding: must not leak into the outputs
        var lengths = tensor(new long[] { 4, 0, 2 });
        var fused = DynamicUnroller.Unroll(residual, x, lengths, path: UnrollPath.Fused);
        TensorAssert.AllZero(fused.Outputs[1]);
        TensorAssert.AllZero(fused.Outputs[2, TensorIndex.Slice(2)]);
        UnrollerAgreement.Assert([residual], p => DynamicUnroller.Unroll(residual, x, lengths, path: p) is var r
            ? [r.Outputs, .. r.FinalState] : []);
        Assert.False(new ResidualCell(new TanhSumCell(3, 3)).CanFuse);
        Assert.Equal("inner cell TanhSumCell: TanhSumCell built with fusable: false", new ResidualCell(new TanhSumCell(3, 3)).FuseBlocker);
    }

    [Fact]
    public void GradientsMatchFiniteDifferences()
    {
        using var scope = NewDisposeScope();
        var residual = new ResidualCell(new TanhSumCell(2, 2, dtype: float64));
        var x = randn(2, 3, 2, dtype: float64).requires_grad_();
        var lengths = tensor(new long[] { 1, 3 });
        GradientCheck.AssertGradientsMatch(
            () => DynamicUnroller.Unroll(residual, x, lengths).Outputs.pow(2).sum(), [.. residual.parameters(), x]);
    }

    [Fact]
    public void TrainEvalAndBeginSequenceReachTheInnerCellWhichIsASubmodule()
    {
        using var scope = NewDisposeScope();
        var inner = new TanhSumCell(2, 2);
        var residual = new ResidualCell(inner);
        Assert.Contains(residual.named_children(), c => ReferenceEquals(c.module, inner));
        residual.eval();
        Assert.False(inner.training);
        residual.train();
        Assert.True(inner.training);
        DynamicUnroller.Unroll(residual, randn(1, 2, 2));
        Assert.Equal(1, inner.BeginSequenceCalls);
    }

    [Fact]
    public void UnequalInputAndOutputSizesAreRejected()
    {
        var e = Assert.Throws<ArgumentException>(() => new ResidualCell(new TanhSumCell(3, 4)));
        Assert.Equal("ResidualCell: the inner cell's input size (3) must equal its output size (4) to add input to output. (Parameter 'cell')", e.Message);
    }
}
