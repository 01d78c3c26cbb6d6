using Microsoft.ML.Rnn.Core;
using Xunit;
using static TorchSharp.torch;

namespace Microsoft.ML.Rnn.Tests.Core.Cells;

public class CellFactoryTests
{
    [Theory]
    [InlineData(RnnCellType.Lstm, typeof(LstmCell), 2)]
    [InlineData(RnnCellType.Gru, typeof(GruCell), 1)]
    [InlineData(RnnCellType.SimpleRnn, typeof(SimpleRnnCell), 1)]
    public void BuiltInTypesMakeFusableCells(RnnCellType type, Type expected, int stateCount)
    {
        using var scope = NewDisposeScope();
        var cell = CellFactory.ForKind(RnnCellKind.FromType(type))(3, 5, "x");
        Assert.IsType(expected, cell);
        Assert.Equal(3, cell.InputSize);
        Assert.Equal(5, cell.OutputSize);
        Assert.Equal(stateCount, cell.StateSizes.Count);
        Assert.True(cell.CanFuse);
    }

    [Fact]
    public void BidirectionalLayersReadBothDirectionsAndDropoutWrapsAllButTheLast()
    {
        using var scope = NewDisposeScope();
        var layers = CellFactory.BuildLayers(CellFactory.ForKind(RnnCellKind.FromType(RnnCellType.Gru)), 3, 4, 3, bidirectional: true, dropoutBetweenLayers: 0.25);
        Assert.NotNull(layers.Backward);
        Assert.Equal([3L, 8L, 8L], layers.Forward.Select(c => c.InputSize));
        Assert.Equal([3L, 8L, 8L], layers.Backward!.Select(c => c.InputSize));
        foreach (var direction in new[] { layers.Forward, layers.Backward })
        {
            var dropout = Assert.IsType<DropoutCell>(direction[0]);
            Assert.Equal(0.75, dropout.OutputKeepProbability);
            Assert.IsType<DropoutCell>(direction[1]);
            Assert.IsType<GruCell>(direction[2]);
            Assert.All(direction, c => Assert.True(c.CanFuse));
        }
        // Separate parameters for every cell.
        var all = layers.Forward.Concat(layers.Backward).SelectMany(c => c.parameters()).ToList();
        Assert.Equal(all.Count, all.Select(p => p.Handle).Distinct().Count());
    }

    [Fact]
    public void UnidirectionalWithoutDropoutHasPlainCells()
    {
        using var scope = NewDisposeScope();
        var layers = CellFactory.BuildLayers(CellFactory.ForKind(RnnCellKind.FromType(RnnCellType.Lstm)), 2, 6, 2, bidirectional: false);
        Assert.Null(layers.Backward);
        Assert.Equal([2L, 6L], layers.Forward.Select(c => c.InputSize));
        Assert.All(layers.Forward, c => Assert.IsType<LstmCell>(c));
    }

    [Fact]
    public void RejectsBadArgumentsAndMismatchedBuilders()
    {
        var builder = CellFactory.ForKind(RnnCellKind.FromType(RnnCellType.SimpleRnn));
        Assert.Equal("layers", Assert.Throws<ArgumentOutOfRangeException>(() => CellFactory.BuildLayers(builder, 2, 3, 0, false)).ParamName);
        Assert.Equal("dropoutBetweenLayers", Assert.Throws<ArgumentOutOfRangeException>(() => CellFactory.BuildLayers(builder, 2, 3, 1, false, 1.0)).ParamName);
        var e = Assert.Throws<InvalidOperationException>(() => CellFactory.BuildLayers((i, h, _) => new SimpleRnnCell(i + 1, h), 2, 3, 1, false));
        Assert.Equal("CellFactory: the cell builder was asked for a cell (2 -> 3) and returned SimpleRnnCell (3 -> 3).", e.Message);
        // A cell may output another size than H (an LSTM's projection): the layer above reads what it outputs.
        var projected = CellFactory.BuildLayers((i, h, _) => new SimpleRnnCell(i, h + 1), 2, 3, 2, false);
        Assert.Equal([2L, 4L], projected.Forward.Select(c => c.InputSize));
    }
}
