using Microsoft.ML.Rnn.Core;
using Xunit;
using static TorchSharp.torch;

namespace Microsoft.ML.Rnn.Tests.Core.Wrappers;

public class StackedCellTests
{
    [Fact]
    public void RunsLayersInOrderAndConcatenatesTheirStates()
    {
        using var scope = NewDisposeScope();
        var l0 = new TanhSumCell(3, 4, seed: 1);
        var l1 = new TanhSumCell(4, 2, seed: 2);
        var stacked = new StackedCell([l0, l1]);
        Assert.Equal(3, stacked.InputSize);
        Assert.Equal(2, stacked.OutputSize);
        Assert.Equal(new long[] { 4, 4, 2, 2 }, stacked.StateSizes);
        Assert.Equal(6, stacked.parameters().Count());
        Assert.Equal(l0.parameters().Count() + l1.parameters().Count(), stacked.parameters().Distinct().Count());

        var x = randn(2, 3);
        var state = stacked.ZeroState(2).Select(s => s + 0.3f).ToArray();
        var (o0, s0) = l0.Step(x, state[..2]);
        var (o1, s1) = l1.Step(o0, state[2..]);
        var (output, next) = stacked.Step(x, state);
        TensorAssert.Close(o1, output, 0);
        for (int k = 0; k < 2; k++)
        {
            TensorAssert.Close(s0[k], next[k], 0);
            TensorAssert.Close(s1[k], next[2 + k], 0);
        }
    }

    [Fact]
    public void TrainEvalAndBeginSequenceReachTheLayers()
    {
        using var scope = NewDisposeScope();
        var l0 = new TanhSumCell(3, 3);
        var l1 = new TanhSumCell(3, 3);
        var stacked = new StackedCell([l0, l1]);
        stacked.eval();
        Assert.False(l0.training);
        Assert.False(l1.training);
        stacked.train();
        Assert.True(l1.training);
        DynamicUnroller.Unroll(stacked, randn(1, 2, 3));
        Assert.Equal(1, l0.BeginSequenceCalls);
        Assert.Equal(1, l1.BeginSequenceCalls);
    }

    [Fact]
    public void FusesOnlyWhenEveryLayerFusesAndAgreesWithTheStepPath()
    {
        using var scope = NewDisposeScope();
        var fusable = new StackedCell([new TanhSumCell(3, 4, true, seed: 1), new TanhSumCell(4, 2, true, seed: 2)]);
        Assert.True(fusable.CanFuse);
        var mixed = new StackedCell([new TanhSumCell(3, 4, true), new TanhSumCell(4, 2, false)]);
        Assert.False(mixed.CanFuse);
        Assert.Equal("layer 1 (TanhSumCell): TanhSumCell built with fusable: false", mixed.FuseBlocker);

        var x = randn(3, 5, 3);
        var lengths = tensor(new long[] { 5, 0, 3 });
        UnrollerAgreement.Assert([fusable], p => DynamicUnroller.Unroll(fusable, x, lengths, path: p) is var r
            ? [r.Outputs, .. r.FinalState] : []);
    }

    [Fact]
    public void GradientsMatchFiniteDifferences()
    {
        using var scope = NewDisposeScope();
        var stacked = new StackedCell([new TanhSumCell(2, 3, dtype: float64, seed: 1), new TanhSumCell(3, 2, dtype: float64, seed: 2)]);
        var x = randn(2, 3, 2, dtype: float64);
        var lengths = tensor(new long[] { 3, 2 });
        GradientCheck.AssertGradientsMatch(() =>
        {
            var r = DynamicUnroller.Unroll(stacked, x, lengths);
            return r.Outputs.pow(2).sum() + r.FinalState[1].sum() + r.FinalState[2].sum();
        }, stacked.parameters().ToArray());
    }

    [Fact]
    public void MismatchedLayersAreRejected()
    {
        var e = Assert.Throws<ArgumentException>(() => new StackedCell([new TanhSumCell(3, 4), new TanhSumCell(5, 2)]));
        Assert.Equal("StackedCell: layer 1 expects 5 input features but layer 0 outputs 4. (Parameter 'layers')", e.Message);
        var empty = Assert.Throws<ArgumentException>(() => new StackedCell([]));
        Assert.Equal("StackedCell: at least one layer is needed. (Parameter 'layers')", empty.Message);
    }
}
