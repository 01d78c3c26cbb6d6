using Microsoft.ML.Rnn.Core;
using Microsoft.ML.Rnn.Networks;
using Xunit;
using static TorchSharp.torch;

namespace Microsoft.ML.Rnn.Tests.Core;

/// <summary>
/// The two ways of stacking bidirectional layers: TensorFlow 1.x's <c>stack_bidirectional_dynamic_rnn</c> (every
/// layer reads both directions below; the default) and <c>bidirectional_dynamic_rnn</c> over two <c>MultiRNNCell</c>s
/// (one multi-layer cell per direction, the seeds' style).
/// </summary>
public class BidirectionalStackingTests
{
    [Fact]
    public void PerDirectionIsEachDirectionsStackRunOnItsOwn()
    {
        using var scope = NewDisposeScope();
        manual_seed(3);
        RnnCell[] fw = [new GruCell(3, 4), new GruCell(4, 4)], bw = [new GruCell(3, 4), new GruCell(4, 4)];
        var x = randn(3, 6, 3);
        var lengths = tensor(new long[] { 6, 2, 0 });
        var both = BidirectionalUnroller.Unroll(new StackedCell(fw), new StackedCell(bw), x, lengths);

        // By hand: each direction's layers chained, the backward ones on each sequence reversed within its length.
        var forward = DynamicUnroller.Unroll(fw[1], DynamicUnroller.Unroll(fw[0], x, lengths).Outputs, lengths).Outputs;
        var reversed = BidirectionalUnroller.ReverseSequence(x, lengths);
        var backward = BidirectionalUnroller.ReverseSequence(
            DynamicUnroller.Unroll(bw[1], DynamicUnroller.Unroll(bw[0], reversed, lengths).Outputs, lengths).Outputs, lengths);
        TensorAssert.Close(forward, both.ForwardOutputs, Tolerances.Float32Unroll, "forward stack");
        TensorAssert.Close(backward, both.BackwardOutputs, Tolerances.Float32Unroll, "backward stack");
    }

    [Theory]
    [InlineData(BidirectionalStacking.LayerByLayer, 8)]
    [InlineData(BidirectionalStacking.PerDirection, 4)]
    public void TheEncoderStacksAsAsked(BidirectionalStacking stacking, long deeperInput)
    {
        using var scope = NewDisposeScope();
        manual_seed(5);
        using var encoder = new SequenceEncoder(new SequenceEncoderOptions
        {
            InputSize = 3, HiddenSize = 4, NumberOfLayers = 2, Bidirectional = true, Cell = RnnCellKind.Lstm(), Stacking = stacking,
        });
        var cells = encoder.Cells;
        Assert.Equal(deeperInput, cells.Forward[1].InputSize);
        Assert.Equal(deeperInput, cells.Backward![1].InputSize);
        var x = randn(3, 5, 3);
        var lengths = tensor(new long[] { 5, 1, 3 });
        var encoded = encoder.Encode(x, lengths);
        Assert.Equal([3L, 5, 8], encoded.Outputs.shape);
        if (stacking == BidirectionalStacking.PerDirection)
        {
            // The same cells through the core's bidirectional unroller over two stacks.
            var both = BidirectionalUnroller.Unroll(new StackedCell(cells.Forward), new StackedCell(cells.Backward), x, lengths);
            TensorAssert.Close(both.Outputs!, encoded.Outputs, Tolerances.Float32Unroll, "outputs");
        }
        // Final hidden: the forward direction at each last valid step, the backward one at step 0.
        var expectedFinal = cat([
            stack([encoded.Outputs[0, 4, ..4], encoded.Outputs[1, 0, ..4], encoded.Outputs[2, 2, ..4]]),
            encoded.Outputs[.., 0, 4..]], 1);
        TensorAssert.Close(expectedFinal, encoded.FinalHidden, 0, "final hidden");
    }
}
