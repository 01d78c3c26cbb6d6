namespace Microsoft.ML.Rnn.Core;

/// <summary>Builds one cell taking <paramref name="inputSize"/> features and producing <paramref name="hiddenSize"/>.</summary>
/// <param name="inputSize">H_in of the cell.</param>
/// <param name="hiddenSize">H of the cell; its output is its hidden state h (of size H, or an LSTM's projection size).</param>
/// <param name="name">Module name to give the cell.</param>
public delegate RnnCell CellBuilder(long inputSize, long hiddenSize, string name);

/// <summary>The cells of a multi-layer, optionally bidirectional recurrent encoder.</summary>
/// <param name="Forward">Layers of the forward direction, first to last.</param>
/// <param name="Backward">Layers of the backward direction, or null when unidirectional.</param>
public sealed record CellLayers(IReadOnlyList<RnnCell> Forward, IReadOnlyList<RnnCell>? Backward);

/// <summary>Creates the cells networks are made of, from a cell kind (<see cref="RnnCellKind"/>, the one factory of cells) or a builder of your own.</summary>
public static class CellFactory
{
    /// <summary>The builder of a cell kind (built-in with its options, or registered).</summary>
    public static CellBuilder ForKind(RnnCellKind kind)
    {
        ArgumentNullException.ThrowIfNull(kind);
        return (inputSize, hiddenSize, _) => kind.Build(inputSize, hiddenSize);
    }

    /// <summary>
    /// Builds <paramref name="layers"/> layers of cells (two sets when <paramref name="bidirectional"/>): layer 0 takes
    /// <paramref name="inputSize"/> features, deeper layers take the previous layer's output (both directions
    /// concatenated when bidirectional, unless <paramref name="stacking"/> is <see cref="BidirectionalStacking.PerDirection"/>,
    /// where each direction's layers read only their own direction). With <paramref name="dropoutBetweenLayers"/> &gt; 0, every layer but the
    /// last is wrapped in a <see cref="DropoutCell"/> on its output, which keeps the cells fusable.
    /// </summary>
    public static CellLayers BuildLayers(CellBuilder builder, long inputSize, long hiddenSize, int layers,
        bool bidirectional, double dropoutBetweenLayers = 0, BidirectionalStacking stacking = BidirectionalStacking.LayerByLayer)
    {
        ArgumentNullException.ThrowIfNull(builder);
        if (inputSize < 1)
            throw new ArgumentOutOfRangeException(nameof(inputSize), inputSize, "CellFactory: the input size must be at least 1.");
        if (hiddenSize < 1)
            throw new ArgumentOutOfRangeException(nameof(hiddenSize), hiddenSize, "CellFactory: the hidden size must be at least 1.");
        if (layers < 1)
            throw new ArgumentOutOfRangeException(nameof(layers), layers, "CellFactory: the number of layers must be at least 1.");
        if (!(dropoutBetweenLayers >= 0 && dropoutBetweenLayers < 1))
            throw new ArgumentOutOfRangeException(nameof(dropoutBetweenLayers), dropoutBetweenLayers, "CellFactory: dropout must be in [0, 1).");
        if (!Enum.IsDefined(stacking))
            throw new ArgumentOutOfRangeException(nameof(stacking), stacking, "CellFactory: unknown bidirectional stacking.");

        var forward = new List<RnnCell>();
        var backward = bidirectional ? new List<RnnCell>() : null;
        for (int i = 0; i < layers; i++)
        {
            // A layer reads what the one below outputs: H, or an LSTM's projection size.
            long below = i == 0 ? inputSize : forward[i - 1].OutputSize * (bidirectional && stacking == BidirectionalStacking.LayerByLayer ? 2 : 1);
            forward.Add(Wrap(builder, below, hiddenSize, $"fw{i}", i, layers, dropoutBetweenLayers));
            backward?.Add(Wrap(builder, below, hiddenSize, $"bw{i}", i, layers, dropoutBetweenLayers));
        }
        return new CellLayers(forward, backward);
    }

    private static RnnCell Wrap(CellBuilder builder, long inputSize, long hiddenSize, string name, int layer, int layers, double dropout)
    {
        var cell = builder(inputSize, hiddenSize, name);
        if (cell.InputSize != inputSize)
        {
            throw new InvalidOperationException(
                $"CellFactory: the cell builder was asked for a cell ({inputSize} -> {hiddenSize}) and returned {cell.GetType().Name} ({cell.InputSize} -> {cell.OutputSize}).");
        }
        return dropout > 0 && layer < layers - 1
            ? new DropoutCell(cell, outputKeepProbability: 1 - dropout, name: name + "_dropout")
            : cell;
    }
}
