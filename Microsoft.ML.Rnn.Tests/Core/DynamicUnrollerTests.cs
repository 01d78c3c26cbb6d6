using Microsoft.ML.Rnn.Core;
using Xunit;
using static TorchSharp.torch;

namespace Microsoft.ML.Rnn.Tests.Core;

public class DynamicUnrollerTests
{
    /// <summary>Reference: run the cell step by step on one sequence cut to its length (no masking involved).</summary>
    private static (Tensor Outputs, Tensor[] Final) Manual(RnnCell cell, Tensor sequence, long length, Tensor[] state)
    {
        var outs = new List<Tensor>();
        for (long t = 0; t < length; t++)
        {
            var (o, s) = cell.Step(sequence[TensorIndex.Single(t)].unsqueeze(0), state);
            outs.Add(o);
            state = s;
        }
        return (outs.Count > 0 ? cat(outs, 0) : zeros(0, cell.OutputSize), state);
    }

    [Fact]
    public void OutputsZeroPastLengthAndFinalStateAtLastValidStep()
    {
        using var scope = NewDisposeScope();
        var cell = new TanhSumCell(5, 3);
        var x = randn(3, 4, 5, generator: new Generator(2));
        var lengths = tensor(new long[] { 4, 2, 3 });
        var result = DynamicUnroller.Unroll(cell, x, lengths, path: UnrollPath.Step);
        Assert.Equal(new long[] { 3, 4, 3 }, result.Outputs.shape);
        for (int n = 0; n < 3; n++)
        {
            long len = lengths[n].item<long>();
            var (outs, final) = Manual(cell, x[n], len, cell.ZeroState(1));
            TensorAssert.Close(outs, result.Outputs[n, TensorIndex.Slice(0, len)], 1e-6, $"outputs of sequence {n}");
            TensorAssert.AllZero(result.Outputs[n, TensorIndex.Slice(len)], $"padding outputs of sequence {n}");
            TensorAssert.Close(final[0], result.FinalState[0][n].unsqueeze(0), 1e-6, "final h");
            TensorAssert.Close(final[1], result.FinalState[1][n].unsqueeze(0), 1e-6, "final running sum");
        }
    }

    [Fact]
    public void ZeroLengthSequenceGivesInitialStateAndZeroOutputs()
    {
        using var scope = NewDisposeScope();
        var cell = new TanhSumCell(2, 3);
        var x = randn(2, 3, 2);
        var h0 = randn(2, 3);
        var a0 = randn(2, 3);
        foreach (var path in new[] { UnrollPath.Step, UnrollPath.Auto })
        {
            var result = DynamicUnroller.Unroll(cell, x, tensor(new long[] { 0, 2 }), [h0, a0], path: path);
            TensorAssert.AllZero(result.Outputs[0], "outputs of the empty sequence");
            TensorAssert.Close(h0[0], result.FinalState[0][0], 0, "h of the empty sequence");
            TensorAssert.Close(a0[0], result.FinalState[1][0], 0, "a of the empty sequence");
            Assert.NotEqual(0f, result.FinalState[0][1].abs().sum().item<float>());
        }
        // All sequences empty: no step runs, the initial state comes back (as new tensors).
        var empty = DynamicUnroller.Unroll(cell, x, tensor(new long[] { 0, 0 }), [h0, a0]);
        TensorAssert.Close(h0, empty.FinalState[0], 0);
        Assert.NotSame(h0, empty.FinalState[0]);
        TensorAssert.AllZero(empty.Outputs);
    }

    [Fact]
    public void TimeMajorEqualsBatchMajorTransposed()
    {
        using var scope = NewDisposeScope();
        var cell = new TanhSumCell(4, 3);
        var x = randn(2, 5, 4);
        var lengths = tensor(new long[] { 5, 3 });
        var batchMajor = DynamicUnroller.Unroll(cell, x, lengths);
        var timeMajor = DynamicUnroller.Unroll(cell, x.transpose(0, 1).contiguous(), lengths, timeMajor: true);
        Assert.Equal(new long[] { 5, 2, 3 }, timeMajor.Outputs.shape);
        TensorAssert.Close(batchMajor.Outputs.transpose(0, 1), timeMajor.Outputs, 0);
        TensorAssert.Close(batchMajor.FinalState[0], timeMajor.FinalState[0], 0);
    }

    [Fact]
    public void NoLengthsMeansFullLength()
    {
        using var scope = NewDisposeScope();
        var cell = new TanhSumCell(4, 3);
        var x = randn(2, 5, 4);
        var a = DynamicUnroller.Unroll(cell, x);
        var b = DynamicUnroller.Unroll(cell, x, tensor(new long[] { 5, 5 }));
        TensorAssert.Close(a.Outputs, b.Outputs, 0);
        TensorAssert.Close(a.FinalState[1], b.FinalState[1], 0);
        TensorAssert.Close(a.Outputs[TensorIndex.Colon, -1], a.FinalState[0], 0, "last output is final h");
    }

    [Fact]
    public void BeginSequenceIsCalledOncePerUnroll()
    {
        using var scope = NewDisposeScope();
        var cell = new TanhSumCell(2, 2, fusable: true);
        DynamicUnroller.Unroll(cell, randn(3, 6, 2), path: UnrollPath.Step);
        Assert.Equal(1, cell.BeginSequenceCalls);
        DynamicUnroller.Unroll(cell, randn(3, 6, 2), path: UnrollPath.Fused);
        Assert.Equal(2, cell.BeginSequenceCalls);
        Assert.Equal(1, cell.FusedCalls);
    }

    [Fact]
    public void AutoUsesFusedOnlyWhenTheCellCanFuse()
    {
        using var scope = NewDisposeScope();
        var fusable = new TanhSumCell(2, 2, fusable: true);
        var plain = new TanhSumCell(2, 2, fusable: false);
        DynamicUnroller.Unroll(fusable, randn(1, 3, 2));
        DynamicUnroller.Unroll(plain, randn(1, 3, 2));
        Assert.Equal(1, fusable.FusedCalls);
        Assert.Equal(0, plain.FusedCalls);
    }

    [Fact]
    public void FusedAndStepPathsAgreeWithVariableLengths()
    {
        using var scope = NewDisposeScope();
        var cell = new TanhSumCell(3, 4, fusable: true);
        var x = randn(4, 6, 3, generator: new Generator(5));
        var lengths = tensor(new long[] { 6, 0, 2, 5 });
        var h0 = randn(4, 4, generator: new Generator(6));
        var a0 = randn(4, 4, generator: new Generator(7));
        UnrollerAgreement.Assert([cell],
            p => DynamicUnroller.Unroll(cell, x, lengths, [h0, a0], path: p) is var r ? [r.Outputs, .. r.FinalState] : []);
    }

    [Fact]
    public void GradientsMatchFiniteDifferencesWithLengths()
    {
        using var scope = NewDisposeScope();
        var cell = new TanhSumCell(2, 3, dtype: float64);
        var x = randn(3, 4, 2, dtype: float64).requires_grad_();
        var h0 = randn(3, 3, dtype: float64).requires_grad_();
        var lengths = tensor(new long[] { 4, 0, 2 });
        GradientCheck.AssertGradientsMatch(() =>
        {
            var r = DynamicUnroller.Unroll(cell, x, lengths, [h0, zeros(3, 3, dtype: float64)], path: UnrollPath.Step);
            return r.Outputs.pow(2).sum() + r.FinalState[0].sum() + r.FinalState[1].pow(2).sum();
        }, [.. cell.parameters(), x, h0]);
    }

    [Fact]
    public void ForcingFusedOnANonFusableCellThrowsNamingTheBlocker()
    {
        using var scope = NewDisposeScope();
        var cell = new TanhSumCell(2, 2, fusable: false);
        var e = Assert.Throws<NotSupportedException>(() => DynamicUnroller.Unroll(cell, randn(1, 2, 2), path: UnrollPath.Fused));
        Assert.Equal("DynamicUnroller: UnrollPath.Fused was requested but cell 'TanhSumCell' cannot run fused: TanhSumCell built with fusable: false.", e.Message);
    }

    [Fact]
    public void ValidationMessagesArePinned()
    {
        using var scope = NewDisposeScope();
        var cell = new TanhSumCell(5, 3);
        var x = randn(2, 4, 5);

        var rank = Assert.Throws<ArgumentException>(() => DynamicUnroller.Unroll(cell, randn(4, 5)));
        Assert.Equal("DynamicUnroller: expected inputs of rank 3 (N, L, H_in), got shape (4, 5). (Parameter 'inputs')", rank.Message);

        var rankTm = Assert.Throws<ArgumentException>(() => DynamicUnroller.Unroll(cell, randn(4, 5), timeMajor: true));
        Assert.StartsWith("DynamicUnroller: expected inputs of rank 3 (L, N, H_in)", rankTm.Message);

        var features = Assert.Throws<ArgumentException>(() => DynamicUnroller.Unroll(cell, randn(2, 4, 6)));
        Assert.Equal("DynamicUnroller: cell 'TanhSumCell' expects 5 input features, got inputs of shape (2, 4, 6). (Parameter 'inputs')", features.Message);

        var lenShape = Assert.Throws<ArgumentException>(() => DynamicUnroller.Unroll(cell, x, tensor(new long[] { 1, 2, 3 })));
        Assert.Equal("DynamicUnroller: expected sequence lengths of shape (2), got (3). (Parameter 'sequenceLengths')", lenShape.Message);

        var lenType = Assert.Throws<ArgumentException>(() => DynamicUnroller.Unroll(cell, x, tensor(new float[] { 1, 2 })));
        Assert.Equal("DynamicUnroller: sequence lengths must be integers, got Float32. (Parameter 'sequenceLengths')", lenType.Message);

        var lenRange = Assert.Throws<ArgumentOutOfRangeException>(() => DynamicUnroller.Unroll(cell, x, tensor(new long[] { 5, 1 })));
        Assert.Equal("DynamicUnroller: sequence lengths must lie in [0, 4] (the number of steps), got values from 1 to 5. (Parameter 'sequenceLengths')", lenRange.Message);

        var negative = Assert.Throws<ArgumentOutOfRangeException>(() => DynamicUnroller.Unroll(cell, x, tensor(new int[] { -1, 1 })));
        Assert.Equal("sequenceLengths", negative.ParamName);

        var count = Assert.Throws<ArgumentException>(() => DynamicUnroller.Unroll(cell, x, initialState: [zeros(2, 3)]));
        Assert.Equal("DynamicUnroller: cell 'TanhSumCell' has 2 state tensors, got 1. (Parameter 'initialState')", count.Message);

        var shape = Assert.Throws<ArgumentException>(() => DynamicUnroller.Unroll(cell, x, initialState: [zeros(2, 3), zeros(3, 3)]));
        Assert.Equal("DynamicUnroller: expected initial state 1 of shape (2, 3), got (3, 3). (Parameter 'initialState')", shape.Message);
    }
}
