using static TorchSharp.torch;

namespace Microsoft.ML.Rnn.Core;

/// <summary>
/// Several bidirectional layers, as TensorFlow 1.x's <c>stack_bidirectional_dynamic_rnn</c>: each layer's forward
/// and backward outputs are concatenated and fed to the next layer.
/// </summary>
/// <remarks>
/// Layer i's cells take H_in (i = 0) or H_fw(i-1) + H_bw(i-1) input features. Shapes as in
/// <see cref="DynamicUnroller"/>.
/// </remarks>
public static class StackedBidirectionalUnroller
{
    /// <summary>Unrolls every layer in order.</summary>
    /// <param name="forwardCells">One forward cell per layer.</param>
    /// <param name="backwardCells">One backward cell per layer, as many as forward cells.</param>
    /// <param name="inputs">(N, L, H_in), or (L, N, H_in) when <paramref name="timeMajor"/>.</param>
    /// <param name="sequenceLengths">(N) valid lengths in [0, L]; null means all L.</param>
    /// <param name="forwardInitialStates">Per layer, the forward initial state or null for zeros; null means all zeros.</param>
    /// <param name="backwardInitialStates">Per layer, the backward initial state or null for zeros; null means all zeros.</param>
    /// <param name="timeMajor">True when inputs and outputs put time first.</param>
    /// <param name="path">Fused kernel, step loop, or automatic choice, for every cell.</param>
    /// <param name="finalState">False when only the outputs are needed: the final states are then empty (faster for
    /// an LSTM with varying lengths).</param>
    public static StackedBidirectionalResult Unroll(IReadOnlyList<RnnCell> forwardCells,
        IReadOnlyList<RnnCell> backwardCells, Tensor inputs, Tensor? sequenceLengths = null,
        IReadOnlyList<IReadOnlyList<Tensor>?>? forwardInitialStates = null,
        IReadOnlyList<IReadOnlyList<Tensor>?>? backwardInitialStates = null,
        bool timeMajor = false, UnrollPath path = UnrollPath.Auto, bool finalState = true)
    {
        ArgumentNullException.ThrowIfNull(forwardCells);
        ArgumentNullException.ThrowIfNull(backwardCells);
        ArgumentNullException.ThrowIfNull(inputs);
        const string me = nameof(StackedBidirectionalUnroller);
        if (forwardCells.Count == 0)
            throw new ArgumentException($"{me}: at least one layer is needed.", nameof(forwardCells));
        if (backwardCells.Count != forwardCells.Count)
        {
            throw new ArgumentException(
                $"{me}: got {forwardCells.Count} forward cells but {backwardCells.Count} backward cells.", nameof(backwardCells));
        }
        StackedCell.CheckOneCellPerLayer(forwardCells, me, nameof(forwardCells));
        StackedCell.CheckOneCellPerLayer(backwardCells, me, nameof(backwardCells));
        CheckStateList(forwardInitialStates, forwardCells.Count, nameof(forwardInitialStates));
        CheckStateList(backwardInitialStates, forwardCells.Count, nameof(backwardInitialStates));
        for (int i = 1; i < forwardCells.Count; i++)
        {
            long fed = forwardCells[i - 1].OutputSize + backwardCells[i - 1].OutputSize;
            if (forwardCells[i].InputSize != fed || backwardCells[i].InputSize != fed)
            {
                throw new ArgumentException(
                    $"{me}: layer {i} cells take {forwardCells[i].InputSize} (forward) and {backwardCells[i].InputSize} (backward) input features, but layer {i - 1} outputs {fed}.",
                    nameof(forwardCells));
            }
        }

        using var scope = NewDisposeScope();
        DynamicUnroller.BatchMajor(inputs, timeMajor, backwardCells[0], me);
        var x = DynamicUnroller.BatchMajor(inputs, timeMajor, forwardCells[0], me);
        var batch = SequenceBatch.Create(x, sequenceLengths, me, nameof(sequenceLengths));
        var result = UnrollLayers(forwardCells, backwardCells, batch, forwardInitialStates, backwardInitialStates, path, finalState);
        var outputs = timeMajor ? result.Outputs.transpose(0, 1) : result.Outputs;
        return new StackedBidirectionalResult(outputs.alias().MoveToOuterDisposeScope(),
            result.ForwardFinalStates.Select(states => states.Select(s => s.MoveToOuterDisposeScope()).ToArray()).ToArray(),
            result.BackwardFinalStates.Select(states => states.Select(s => s.MoveToOuterDisposeScope()).ToArray()).ToArray());
    }

    /// <summary>Every layer in order on a checked (N, L, H_in) batch; results stay in the caller's scope.</summary>
    internal static StackedBidirectionalResult UnrollLayers(IReadOnlyList<RnnCell> forwardCells, IReadOnlyList<RnnCell> backwardCells,
        SequenceBatch batch, IReadOnlyList<IReadOnlyList<Tensor>?>? forwardInitialStates,
        IReadOnlyList<IReadOnlyList<Tensor>?>? backwardInitialStates, UnrollPath path, bool finalState)
    {
        var layerInput = batch;
        Tensor outputs = batch.Data;
        var forwardStates = new List<Tensor[]>();
        var backwardStates = new List<Tensor[]>();
        for (int i = 0; i < forwardCells.Count; i++)
        {
            var (fw, bw, bwOutputs) = BidirectionalUnroller.UnrollBoth(forwardCells[i], backwardCells[i], layerInput,
                forwardInitialStates?[i], backwardInitialStates?[i], path, finalState);
            outputs = cat([fw.Outputs, bwOutputs], 2);
            layerInput = batch.WithData(outputs);
            forwardStates.Add(fw.FinalState);
            backwardStates.Add(bw.FinalState);
        }
        return new StackedBidirectionalResult(outputs, forwardStates, backwardStates);
    }

    private static void CheckStateList(IReadOnlyList<IReadOnlyList<Tensor>?>? states, int layers, string name)
    {
        if (states is not null && states.Count != layers)
        {
            throw new ArgumentException(
                $"{nameof(StackedBidirectionalUnroller)}: expected {layers} initial states (one per layer), got {states.Count}.", name);
        }
    }
}
