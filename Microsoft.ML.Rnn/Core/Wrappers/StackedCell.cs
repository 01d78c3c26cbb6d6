using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Microsoft.ML.Rnn.Core;

/// <summary>
/// Several cells applied in order at every step, itself a cell (TensorFlow 1.x's <c>MultiRNNCell</c>): layer i's
/// output is layer i+1's input, and the state is the concatenation of the layers' state lists.
/// </summary>
/// <remarks>
/// H_in is the first layer's input size, H_out the last layer's output size; <see cref="StateSizes"/> lists
/// layer 0's state sizes, then layer 1's, and so on. Fusable when every layer is: the fused path then runs each
/// layer's fused kernel over the whole sequence in turn.
/// </remarks>
public sealed class StackedCell : RnnCell
{
    private readonly ModuleList<RnnCell> layers;
    private readonly RnnCell[] cells;
    private readonly long[] sizes;
    private readonly int[] stateOffsets;

    /// <summary>Stacks <paramref name="layers"/>; each layer's input size must equal the previous layer's output size.</summary>
    public StackedCell(IReadOnlyList<RnnCell> layers, string name = "stacked") : base(name)
    {
        ArgumentNullException.ThrowIfNull(layers);
        if (layers.Count == 0) throw new ArgumentException($"{nameof(StackedCell)}: at least one layer is needed.", nameof(layers));
        CheckOneCellPerLayer(layers, nameof(StackedCell), nameof(layers));
        for (int i = 1; i < layers.Count; i++)
        {
            if (layers[i].InputSize != layers[i - 1].OutputSize)
            {
                throw new ArgumentException(
                    $"{nameof(StackedCell)}: layer {i} expects {layers[i].InputSize} input features but layer {i - 1} outputs {layers[i - 1].OutputSize}.",
                    nameof(layers));
            }
        }
        cells = layers.ToArray();
        stateOffsets = new int[cells.Length + 1];
        for (int i = 0; i < cells.Length; i++) stateOffsets[i + 1] = stateOffsets[i] + cells[i].StateSizes.Count;
        sizes = cells.SelectMany(c => c.StateSizes).ToArray();
        this.layers = new ModuleList<RnnCell>(cells);
        RegisterComponents();
    }

    /// <summary>
    /// Throws when one cell instance (itself or inside a wrapper) would run in two layers: its weights and its state
    /// would be shared by both, silently when its input and output sizes are equal. This is TensorFlow's
    /// <c>MultiRNNCell([cell] * n)</c> pitfall (a Python list repeats one object).
    /// </summary>
    internal static void CheckOneCellPerLayer(IReadOnlyList<RnnCell> layers, string caller, string parameter)
    {
        var layerOf = new Dictionary<RnnCell, int>(ReferenceEqualityComparer.Instance);
        for (int i = 0; i < layers.Count; i++)
        {
            ArgumentNullException.ThrowIfNull(layers[i], $"{parameter}[{i}]");
            foreach (var cell in layers[i].modules().OfType<RnnCell>().Prepend(layers[i]))
            {
                if (layerOf.TryGetValue(cell, out int other) && other != i)
                {
                    throw new ArgumentException(
                        $"{caller}: layers {other} and {i} hold the same {cell.GetType().Name} instance; each layer needs a cell of " +
                        "its own (in Python, [cell] * n repeats one object): build one cell per layer.", parameter);
                }
                layerOf[cell] = i;
            }
        }
    }

    /// <summary>The layers, first to last.</summary>
    public IReadOnlyList<RnnCell> Layers => cells;

    /// <inheritdoc/>
    public override long InputSize => cells[0].InputSize;

    /// <inheritdoc/>
    public override IReadOnlyList<long> StateSizes => sizes;

    /// <inheritdoc/>
    public override long OutputSize => cells[^1].OutputSize;

    /// <inheritdoc/>
    public override (Tensor Output, Tensor[] State) Step(Tensor input, IReadOnlyList<Tensor> state)
    {
        CheckStateCount(state.Count);
        var next = new Tensor[sizes.Length];
        var x = input;
        for (int i = 0; i < cells.Length; i++)
        {
            var (output, layerState) = cells[i].Step(x, Slice(state, i));
            Array.Copy(layerState, 0, next, stateOffsets[i], layerState.Length);
            x = output;
        }
        return (x, next);
    }

    /// <inheritdoc/>
    public override void BeginSequence(long batchSize, Device device, ScalarType dtype)
    {
        foreach (var cell in cells) cell.BeginSequence(batchSize, device, dtype);
    }

    /// <inheritdoc/>
    public override bool CanFuse => cells.All(c => c.CanFuse);

    /// <inheritdoc/>
    public override string FuseBlocker
    {
        get
        {
            int i = Array.FindIndex(cells, c => !c.CanFuse);
            return i < 0 ? "none" : $"layer {i} ({cells[i].GetType().Name}): {cells[i].FuseBlocker}";
        }
    }

    /// <inheritdoc/>
    public override (Tensor Outputs, Tensor[] FinalState) ForwardFused(SequenceBatch inputs, IReadOnlyList<Tensor> initialState)
    {
        if (!CanFuse) throw new NotSupportedException($"{nameof(StackedCell)}: cannot run fused: {FuseBlocker}.");
        CheckStateCount(initialState.Count);
        var final = new Tensor[sizes.Length];
        var x = inputs;
        for (int i = 0; i < cells.Length; i++)
        {
            var (outputs, layerState) = cells[i].ForwardFused(x, Slice(initialState, i));
            Array.Copy(layerState, 0, final, stateOffsets[i], layerState.Length);
            x = inputs.WithData(outputs);
        }
        return (x.Data, final);
    }

    /// <inheritdoc/>
    public override Tensor ForwardFusedOutputs(SequenceBatch inputs, IReadOnlyList<Tensor> initialState)
    {
        if (!CanFuse) throw new NotSupportedException($"{nameof(StackedCell)}: cannot run fused: {FuseBlocker}.");
        CheckStateCount(initialState.Count);
        var x = inputs;
        for (int i = 0; i < cells.Length; i++)
            x = inputs.WithData(cells[i].ForwardFusedOutputs(x, Slice(initialState, i)));
        return x.Data;
    }

    private Tensor[] Slice(IReadOnlyList<Tensor> state, int layer)
    {
        var slice = new Tensor[stateOffsets[layer + 1] - stateOffsets[layer]];
        for (int k = 0; k < slice.Length; k++) slice[k] = state[stateOffsets[layer] + k];
        return slice;
    }

    private void CheckStateCount(int count)
    {
        if (count != sizes.Length)
            throw new ArgumentException($"{nameof(StackedCell)}: expected {sizes.Length} state tensors, got {count}.", "state");
    }
}
