using Microsoft.ML.Rnn.Core;
using Xunit;
using static TorchSharp.torch;

namespace Microsoft.ML.Rnn.Tests.Core;

/// <summary>The README's core example, kept compiling and true.</summary>
public class ReadmeExampleTests
{
    [Fact]
    public void StackedCellExampleGivesDocumentedShapesAndSemantics()
    {
        using var scope = NewDisposeScope();
        var cell = new StackedCell([new LstmCell(5, 3), new GruCell(3, 3)]);
        var inputs = randn(2, 4, 5);
        var lengths = tensor(new long[] { 4, 1 });
        var (outputs, finalState) = DynamicUnroller.Unroll(cell, inputs, lengths);

        Assert.Equal(new long[] { 2, 4, 3 }, outputs.shape);
        Assert.Equal(0f, outputs[1, 1..].abs().sum().item<float>());
        Assert.Equal(3, finalState.Length); // LSTM (c, h) then GRU h
        Assert.True(finalState[2].allclose(stack([outputs[0, 3], outputs[1, 0]])));
    }
}
