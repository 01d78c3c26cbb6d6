using Microsoft.ML.Rnn.Core;
using Xunit;
using static TorchSharp.torch;

namespace Microsoft.ML.Rnn.Tests.Core;

public class BidirectionalUnrollerTests
{
    [Fact]
    public void ReverseSequenceReversesWithinEachLengthAndKeepsPadding()
    {
        using var scope = NewDisposeScope();
        // Element [n, t, f] = 100 n + 10 t + f, so every position is recognisable.
        var x = (arange(3).view(3, 1, 1) * 100 + arange(4).view(1, 4, 1) * 10 + arange(2).view(1, 1, 2)).to(float32);
        var reversed = BidirectionalUnroller.ReverseSequence(x, tensor(new long[] { 4, 2, 0 }));
        int[][] expectedSteps = [[3, 2, 1, 0], [1, 0, 2, 3], [0, 1, 2, 3]];
        var expected = zeros(3, 4, 2);
        for (int n = 0; n < 3; n++)
            for (int t = 0; t < 4; t++)
                for (int f = 0; f < 2; f++)
                    expected[n, t, f] = 100 * n + 10 * expectedSteps[n][t] + f;
        TensorAssert.Close(expected, reversed, 0);
        TensorAssert.Close(x.flip(1), BidirectionalUnroller.ReverseSequence(x, null), 0);
    }

    [Fact]
    public void BackwardDirectionReadsEachSequenceReversedWithinItsLength()
    {
        using var scope = NewDisposeScope();
        var fw = new TanhSumCell(3, 2, seed: 1);
        var bw = new TanhSumCell(3, 4, seed: 2);
        var x = randn(2, 5, 3, generator: new Generator(3));
        var lengths = tensor(new long[] { 5, 3 });
        var result = BidirectionalUnroller.Unroll(fw, bw, x, lengths, path: UnrollPath.Step);
        Assert.Equal(new long[] { 2, 5, 6 }, result.Outputs!.shape);
        for (int n = 0; n < 2; n++)
        {
            long len = lengths[n].item<long>();
            // Hand-built reversal of the valid part only.
            var valid = x[n, TensorIndex.Slice(0, len)].flip(0).unsqueeze(0);
            var alone = DynamicUnroller.Unroll(bw, valid, path: UnrollPath.Step);
            TensorAssert.Close(alone.Outputs[0].flip(0), result.BackwardOutputs[n, TensorIndex.Slice(0, len)], 1e-6,
                $"backward outputs of sequence {n}");
            TensorAssert.AllZero(result.BackwardOutputs[n, TensorIndex.Slice(len)]);
            TensorAssert.Close(alone.FinalState[0][0], result.BackwardFinalState[0][n], 1e-6, "backward final h");
            // The backward output at step 0 has read the whole valid sequence: it is the backward final h.
            TensorAssert.Close(result.BackwardFinalState[0][n], result.BackwardOutputs[n, 0], 1e-6);
        }
        var forward = DynamicUnroller.Unroll(fw, x, lengths, path: UnrollPath.Step);
        TensorAssert.Close(forward.Outputs, result.ForwardOutputs, 0);
        TensorAssert.Close(cat([result.ForwardOutputs, result.BackwardOutputs], 2), result.Outputs, 0);
    }

    [Fact]
    public void MergeModesCombineTheDirections()
    {
        using var scope = NewDisposeScope();
        var fw = new TanhSumCell(3, 2, seed: 1);
        var bw = new TanhSumCell(3, 2, seed: 2);
        var x = randn(2, 4, 3);
        var lengths = tensor(new long[] { 4, 2 });
        var none = BidirectionalUnroller.Unroll(fw, bw, x, lengths, mergeMode: MergeMode.None);
        Assert.Null(none.Outputs);
        var f = none.ForwardOutputs;
        var b = none.BackwardOutputs;
        TensorAssert.Close(f + b, BidirectionalUnroller.Unroll(fw, bw, x, lengths, mergeMode: MergeMode.Sum).Outputs!, 1e-6);
        TensorAssert.Close((f + b) / 2, BidirectionalUnroller.Unroll(fw, bw, x, lengths, mergeMode: MergeMode.Average).Outputs!, 1e-6);
        TensorAssert.Close(f * b, BidirectionalUnroller.Unroll(fw, bw, x, lengths, mergeMode: MergeMode.Multiply).Outputs!, 1e-6);
    }

    [Fact]
    public void TimeMajorEqualsBatchMajorTransposed()
    {
        using var scope = NewDisposeScope();
        var fw = new TanhSumCell(3, 2, seed: 1);
        var bw = new TanhSumCell(3, 2, seed: 2);
        var x = randn(2, 4, 3);
        var lengths = tensor(new long[] { 3, 4 });
        var bm = BidirectionalUnroller.Unroll(fw, bw, x, lengths);
        var tm = BidirectionalUnroller.Unroll(fw, bw, x.transpose(0, 1), lengths, timeMajor: true);
        TensorAssert.Close(bm.Outputs!.transpose(0, 1), tm.Outputs!, 0);
        TensorAssert.Close(bm.BackwardOutputs.transpose(0, 1), tm.BackwardOutputs, 0);
        TensorAssert.Close(bm.BackwardFinalState[1], tm.BackwardFinalState[1], 0);
    }

    [Fact]
    public void FusedAndStepPathsAgree()
    {
        using var scope = NewDisposeScope();
        var fw = new TanhSumCell(3, 2, fusable: true, seed: 1);
        var bw = new TanhSumCell(3, 3, fusable: true, seed: 2);
        var x = randn(3, 5, 3);
        var lengths = tensor(new long[] { 5, 0, 2 });
        UnrollerAgreement.Assert([fw, bw], p => BidirectionalUnroller.Unroll(fw, bw, x, lengths, path: p) is var r
            ? [r.Outputs!, .. r.ForwardFinalState, .. r.BackwardFinalState] : []);
    }

    [Fact]
    public void GradientsMatchFiniteDifferencesWithLengths()
    {
        using var scope = NewDisposeScope();
        var fw = new TanhSumCell(2, 2, dtype: float64, seed: 1);
        var bw = new TanhSumCell(2, 2, dtype: float64, seed: 2);
        var x = randn(2, 3, 2, dtype: float64).requires_grad_();
        var lengths = tensor(new long[] { 2, 3 });
        GradientCheck.AssertGradientsMatch(() =>
        {
            var r = BidirectionalUnroller.Unroll(fw, bw, x, lengths, path: UnrollPath.Step);
            return r.Outputs!.pow(2).sum() + r.BackwardFinalState[1].sum();
        }, [.. fw.parameters(), .. bw.parameters(), x]);
    }

    [Fact]
    public void MergeOfUnequalSizesIsRejected()
    {
        using var scope = NewDisposeScope();
        var e = Assert.Throws<ArgumentException>(() =>
            BidirectionalUnroller.Unroll(new TanhSumCell(3, 2), new TanhSumCell(3, 4), randn(1, 2, 3), mergeMode: MergeMode.Sum));
        Assert.Equal("BidirectionalUnroller: merge mode Sum needs equal output sizes, got forward 2 and backward 4. (Parameter 'mergeMode')", e.Message);
        var f = Assert.Throws<ArgumentException>(() =>
            BidirectionalUnroller.Unroll(new TanhSumCell(3, 2), new TanhSumCell(4, 2), randn(1, 2, 3)));
        Assert.Equal("BidirectionalUnroller: cell 'TanhSumCell' expects 4 input features, got inputs of shape (1, 2, 3). (Parameter 'inputs')", f.Message);
    }
}
