using Microsoft.ML.Rnn.Core;
using Xunit;
using static TorchSharp.torch;

namespace Microsoft.ML.Rnn.Tests.Core.Wrappers;

public class DropoutCellTests
{
    [Fact]
    public void VariationalMasksAreTheSameAtEveryStepAndOffInEval()
    {
        using var scope = NewDisposeScope();
        // The echo probe outputs its input: with all-ones inputs the outputs are exactly the masks.
        var cell = new DropoutCell(new EchoCell(64), inputKeepProbability: 0.5, outputKeepProbability: 0.8, variational: true);
        var x = ones(3, 5, 64);
        cell.train();
        var outputs = DynamicUnroller.Unroll(cell, x, path: UnrollPath.Step).Outputs;
        for (int t = 1; t < 5; t++) TensorAssert.Close(outputs[TensorIndex.Colon, 0], outputs[TensorIndex.Colon, t], 0, $"step {t}");
        var values = outputs.unique().Item1;
        // Kept units are scaled by 1/(0.5 * 0.8); both masks drop some units.
        TensorAssert.Close(tensor(new float[] { 0f, 2.5f }), values, 1e-6);
        Assert.NotEqual(0, outputs[TensorIndex.Colon, 0].eq(0).sum().item<long>());
        // Masks differ between sequences of the batch and between unrolls.
        Assert.NotEqual(0, (outputs[0, 0] - outputs[1, 0]).abs().sum().item<float>());
        var again = DynamicUnroller.Unroll(cell, x, path: UnrollPath.Step).Outputs;
        Assert.Empty(cell.buffers()); // masks are not module state
        Assert.NotEqual(0, (again - outputs).abs().sum().item<float>());

        cell.eval();
        TensorAssert.Close(x, DynamicUnroller.Unroll(cell, x).Outputs, 0, "eval mode is the identity");
    }

    [Fact]
    public void NonVariationalMasksChangeEveryStep()
    {
        using var scope = NewDisposeScope();
        var cell = new DropoutCell(new EchoCell(64), inputKeepProbability: 0.5);
        cell.train();
        var outputs = DynamicUnroller.Unroll(cell, ones(2, 3, 64), path: UnrollPath.Step).Outputs;
        Assert.NotEqual(0, (outputs[TensorIndex.Colon, 0] - outputs[TensorIndex.Colon, 1]).abs().sum().item<float>());
        TensorAssert.Close(tensor(new float[] { 0f, 2f }), outputs.unique().Item1, 1e-6);
    }

    [Fact]
    public void StateDropoutAppliesToTheChosenStateEntries()
    {
        using var scope = NewDisposeScope();
        var inner = new TanhSumCell(2, 32, fusable: true);
        var spareFirst = new DropoutCell(inner, stateKeepProbability: 0.5, variational: true, dropStates: [false, true]);
        spareFirst.train();
        spareFirst.BeginSequence(4, CPU, float32);
        var x = randn(4, 2);
        var state = inner.ZeroState(4);
        var (expectedOut, expectedState) = inner.Step(x, state);
        var (output, next) = spareFirst.Step(x, state);
        TensorAssert.Close(expectedOut, output, 0);
        TensorAssert.Close(expectedState[0], next[0], 0, "the spared state entry");
        var dropped = next[1].eq(0) & expectedState[1].ne(0);
        Assert.NotEqual(0, dropped.sum().item<long>());
        Assert.False(spareFirst.CanFuse);
        Assert.Equal("state dropout (stateKeepProbability < 1) acts between steps", spareFirst.FuseBlocker);
    }

    [Fact]
    public void TrainAndEvalReachTheInnerCellWhichIsASubmodule()
    {
        using var scope = NewDisposeScope();
        var inner = new TanhSumCell(2, 3);
        var cell = new DropoutCell(inner, outputKeepProbability: 0.9);
        Assert.Equal(3, cell.parameters().Count());
        Assert.Contains(cell.named_children(), c => ReferenceEquals(c.module, inner));
        cell.eval();
        Assert.False(inner.training);
        cell.train();
        Assert.True(inner.training);
        DynamicUnroller.Unroll(cell, randn(1, 2, 2));
        Assert.Equal(1, inner.BeginSequenceCalls);
    }

    [Fact]
    public void FusedAndStepPathsAgreeInEvalMode()
    {
        using var scope = NewDisposeScope();
        var cell = new DropoutCell(new TanhSumCell(3, 4, fusable: true), inputKeepProbability: 0.7, outputKeepProbability: 0.6);
        Assert.True(cell.CanFuse);
        cell.eval();
        var x = randn(3, 5, 3);
        var lengths = tensor(new long[] { 5, 0, 2 });
        UnrollerAgreement.Assert([cell], p => DynamicUnroller.Unroll(cell, x, lengths, path: p) is var r
            ? [r.Outputs, .. r.FinalState] : []);
    }

    [Fact]
    public void VariationalFusedAndStepPathsAgreeInTrainingWithTheSameSeed()
    {
        using var scope = NewDisposeScope();
        var cell = new DropoutCell(new TanhSumCell(3, 4, fusable: true), inputKeepProbability: 0.7, outputKeepProbability: 0.6, variational: true);
        cell.train();
        var x = randn(3, 5, 3);
        var lengths = tensor(new long[] { 5, 1, 3 });
        UnrollerAgreement.Assert([cell], p =>
        {
            random.manual_seed(11); // the same masks for both paths (sampled in BeginSequence)
            return DynamicUnroller.Unroll(cell, x, lengths, path: p) is var r ? [r.Outputs, .. r.FinalState] : [];
        });
    }

    [Fact]
    public void GradientsMatchFiniteDifferencesInTraining()
    {
        using var scope = NewDisposeScope();
        var cell = new DropoutCell(new TanhSumCell(2, 3, dtype: float64), inputKeepProbability: 0.8,
            outputKeepProbability: 0.7, stateKeepProbability: 0.9, variational: true);
        cell.train();
        var x = randn(2, 3, 2, dtype: float64).requires_grad_();
        var lengths = tensor(new long[] { 3, 2 });
        GradientCheck.AssertGradientsMatch(() =>
        {
            random.manual_seed(3);
            var r = DynamicUnroller.Unroll(cell, x, lengths);
            return r.Outputs.pow(2).sum() + r.FinalState[1].sum();
        }, [.. cell.parameters(), x]);
    }

    [Fact]
    public void ErrorsArePinned()
    {
        using var scope = NewDisposeScope();
        var p = Assert.Throws<ArgumentOutOfRangeException>(() => new DropoutCell(new EchoCell(2), inputKeepProbability: 0));
        Assert.StartsWith("DropoutCell: inputKeepProbability must be in (0, 1], got 0.", p.Message);
        var flags = Assert.Throws<ArgumentException>(() => new DropoutCell(new EchoCell(2), dropStates: [true, false]));
        Assert.Equal("DropoutCell: expected 1 state dropout flags (one per state entry), got 2. (Parameter 'dropStates')", flags.Message);
        var cell = new DropoutCell(new EchoCell(2), inputKeepProbability: 0.5, variational: true);
        cell.train();
        var e = Assert.Throws<InvalidOperationException>(() => cell.Step(ones(3, 2), [zeros(3, 1)]));
        Assert.Equal("DropoutCell: variational dropout needs BeginSequence(3, ...) before the first step in training mode; no masks were sampled.", e.Message);
        cell.BeginSequence(2, CPU, float32);
        var f = Assert.Throws<InvalidOperationException>(() => cell.Step(ones(3, 2), [zeros(3, 1)]));
        Assert.EndsWith("masks were sampled for batch size 2.", f.Message);
    }
}
