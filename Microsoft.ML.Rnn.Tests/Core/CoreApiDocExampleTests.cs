using Microsoft.ML.Rnn.Core;
using Xunit;
using static TorchSharp.torch;

namespace Microsoft.ML.Rnn.Tests.Core;

/// <summary>docs/core-api.md's first example (formerly the README's), kept compiling and true.</summary>
public class CoreApiDocExampleTests
{
    [Fact]
    public void StackedCellExampleGivesDocumentedShapesAndSemantics()
    {
        // snippet: core-unroll
        using var scope = NewDisposeScope();
        var cell = new StackedCell([new LstmCell(5, 3), new GruCell(3, 3)]);   // MultiRNNCell: a stack is a cell
        var inputs = randn(2, 4, 5);                                           // (N, L, H_in), batch-major
        var lengths = tensor(new long[] { 4, 1 });                             // per-sequence lengths
        var (outputs, finalState) = DynamicUnroller.Unroll(cell, inputs, lengths);
        // outputs (2, 4, 3): zero past each length; finalState: the state at each sequence's last valid step.
        // end snippet

        Assert.Equal(new long[] { 2, 4, 3 }, outputs.shape);
        Assert.Equal(0f, outputs[1, 1..].abs().sum().item<float>());
        Assert.Equal(3, finalState.Length); // LSTM (c, h) then GRU h
        Assert.True(finalState[2].allclose(stack([outputs[0, 3], outputs[1, 0]])));
    }
}
