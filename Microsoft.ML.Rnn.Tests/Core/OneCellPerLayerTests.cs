using Microsoft.ML.Rnn.Core;
using Xunit;
using static TorchSharp.torch;

namespace Microsoft.ML.Rnn.Tests.Core;

/// <summary>TensorFlow's <c>MultiRNNCell([cell] * n)</c> pitfall: one cell instance in two layers is refused, not shared.</summary>
public class OneCellPerLayerTests
{
    [Fact]
    public void StackingOneCellTwiceIsRefused()
    {
        using var scope = NewDisposeScope();
        var cell = new LstmCell(4, 4);   // equal input and output sizes: without the check the stack would build
        var e = Assert.Throws<ArgumentException>(() => new StackedCell([cell, cell]));
        Assert.Equal("layers", e.ParamName);
        Assert.StartsWith("StackedCell: layers 0 and 1 hold the same LstmCell instance; each layer needs a cell of its own", e.Message);
        // Inside wrappers too.
        var wrapped = Assert.Throws<ArgumentException>(() => new StackedCell([new DropoutCell(cell, 0.9), new DropoutCell(cell, 0.9)]));
        Assert.Contains("layers 0 and 1 hold the same LstmCell instance", wrapped.Message);
        // One cell per layer is fine.
        Assert.Equal(2, new StackedCell([new LstmCell(4, 4), new LstmCell(4, 4)]).Layers.Count);
    }

    [Fact]
    public void TheStackedBidirectionalUnrollerRefusesIt()
    {
        using var scope = NewDisposeScope();
        var forward = new GruCell(3, 2);
        RnnCell[] backward = [new GruCell(3, 2), new GruCell(4, 2)];
        var e = Assert.Throws<ArgumentException>(() => StackedBidirectionalUnroller.Unroll([forward, forward], backward, randn(2, 5, 3)));
        Assert.Equal("forwardCells", e.ParamName);
        Assert.StartsWith("StackedBidirectionalUnroller: layers 0 and 1 hold the same GruCell instance", e.Message);
    }
}
