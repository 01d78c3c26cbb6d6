using Microsoft.ML.Rnn.Core;
using Xunit;
using static TorchSharp.torch;

namespace Microsoft.ML.Rnn.Tests.Core;

/// <summary>
/// With lengths, whatever sits in the padding (past each row's length) must not reach outputs, final states or the
/// gradients of valid steps, on either path; the padded fused kernel used for GRU and simple RNN runs over padding.
/// </summary>
public class PaddingIsolationTests
{
    public static TheoryData<string, UnrollPath> Cells() => new()
    {
        { "gru", UnrollPath.Fused }, { "gru", UnrollPath.Step },
        { "rnn", UnrollPath.Fused }, { "rnn", UnrollPath.Step },
        { "lstm", UnrollPath.Fused }, { "lstm", UnrollPath.Step },
    };

    [Theory]
    [MemberData(nameof(Cells))]
    public void NanPaddingChangesNothing(string kind, UnrollPath path)
    {
        using var scope = NewDisposeScope();
        manual_seed(11);
        var cell = NewCell(kind);
        var lengths = tensor(new long[] { 5, 2, 0, 3 });
        var clean = randn(4, 5, 3);
        var valid = arange(5).unsqueeze(0).lt(lengths.unsqueeze(1)).unsqueeze(2);
        var dirty = where(valid, clean, full_like(clean, double.NaN));

        (Tensor Outputs, Tensor[] Final, Tensor Grad) Run(Tensor padded)
        {
            var x = padded.detach().requires_grad_(true);
            var result = DynamicUnroller.Unroll(cell, x, lengths, path: path);
            var loss = result.Outputs.sum() + result.FinalState.Select(s => s.sum()).Aggregate((a, b) => a + b);
            loss.backward();
            var grad = where(valid, x.grad!, zeros_like(x));
            return (result.Outputs, result.FinalState, grad);
        }

        var expected = Run(clean);
        var actual = Run(dirty);
        TensorAssert.Close(expected.Outputs, actual.Outputs, 1e-6, "outputs");
        for (int k = 0; k < expected.Final.Length; k++)
            TensorAssert.Close(expected.Final[k], actual.Final[k], 1e-6, $"final state {k}");
        Assert.False(actual.Grad.isnan().any().item<bool>(), "NaN reached the gradient of a valid step");
        TensorAssert.Close(expected.Grad, actual.Grad, 1e-6, "input gradients at valid steps");
    }

    /// <summary>
    /// Spread lengths take the time-segmented fused path, which computes padding steps of sequences ending inside a
    /// segment (and, for an LSTM's final state, recomputes their cell states); with and without recorded gradients
    /// (inputs are zeroed only when they are), and outputs only.
    /// </summary>
    [Theory]
    [InlineData("gru", true, true)]
    [InlineData("gru", false, true)]
    [InlineData("rnn", true, true)]
    [InlineData("lstm", true, true)]
    [InlineData("lstm", false, true)]
    [InlineData("lstm", true, false)]
    [InlineData("lstm", false, false)]
    public void NanPaddingChangesNothingOnTimeSegments(string kind, bool recordGradients, bool finalState)
    {
        using var scope = NewDisposeScope();
        manual_seed(12);
        var cell = NewCell(kind);
        long[] lengthValues = [3, 30, 0, 17, 9, 25, 1, 30, 12, 6, 21, 14];
        var ends = TimeSegments.Ends(lengthValues, recomputesCellStates: kind == "lstm" && finalState);
        Assert.True(ends.Length > 1 && !ends.SequenceEqual(lengthValues.Where(v => v > 0).Distinct().Order()),
            "the case must take the segmented path, with sequences ending inside a segment");
        var lengths = tensor(lengthValues);
        var clean = randn(lengthValues.Length, 30, 3);
        var valid = arange(30).unsqueeze(0).lt(lengths.unsqueeze(1)).unsqueeze(2);
        var dirty = where(valid, clean, full_like(clean, double.NaN));

        (Tensor Outputs, Tensor[] Final, Tensor? Grad) Run(Tensor padded)
        {
            var x = padded.detach().requires_grad_(recordGradients);
            using var gradients = recordGradients ? enable_grad() : no_grad();
            var result = DynamicUnroller.Unroll(cell, x, lengths, path: UnrollPath.Fused, finalState: finalState);
            if (!recordGradients)
                return (result.Outputs, result.FinalState, null);
            var loss = result.Outputs.sum() + result.FinalState.Select(s => s.sum()).Aggregate(zeros(1), (a, b) => a + b);
            loss.backward();
            return (result.Outputs, result.FinalState, where(valid, x.grad!, zeros_like(x)));
        }

        var expected = Run(clean);
        var actual = Run(dirty);
        Assert.False(actual.Outputs.isnan().any().item<bool>(), "NaN reached the outputs");
        TensorAssert.Close(expected.Outputs, actual.Outputs, 1e-6, "outputs");
        Assert.Equal(finalState ? cell.StateSizes.Count : 0, actual.Final.Length);
        for (int k = 0; k < expected.Final.Length; k++)
            TensorAssert.Close(expected.Final[k], actual.Final[k], 1e-6, $"final state {k}");
        if (recordGradients)
        {
            Assert.False(actual.Grad!.isnan().any().item<bool>(), "NaN reached the gradient of a valid step");
            Assert.False(cell.parameters().Any(p => p.grad!.isnan().any().item<bool>()), "NaN reached a weight gradient");
            TensorAssert.Close(expected.Grad!, actual.Grad!, 1e-6, "input gradients at valid steps");
        }
    }

    private static RnnCell NewCell(string kind) => kind switch
    {
        "gru" => new GruCell(3, 4),
        "rnn" => new SimpleRnnCell(3, 4),
        _ => new LstmCell(3, 4),
    };
}
