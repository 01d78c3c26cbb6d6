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
        RnnCell cell = kind switch
        {
            "gru" => new GruCell(3, 4),
            "rnn" => new SimpleRnnCell(3, 4),
            _ => new LstmCell(3, 4),
        };
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
}
