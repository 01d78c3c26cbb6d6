using static TorchSharp.torch;

namespace Microsoft.ML.Rnn.Core;

/// <summary>
/// Runs a cell over time like <see cref="DynamicUnroller"/> (step loop only) but returns the full state after every
/// step, in the spirit of <c>tf.scan</c>: for cells whose interesting quantities live in the state, such as the
/// boundary detectors of a Hierarchical Multiscale LSTM.
/// </summary>
/// <remarks>
/// Shapes as in <see cref="DynamicUnroller"/>; each state sequence is (N, L, S_k), or (L, N, S_k) when time-major.
/// </remarks>
public static class ScanUnroller
{
    /// <summary>Unrolls <paramref name="cell"/> step by step and keeps every step's state.</summary>
    /// <param name="cell">The cell to run at every step.</param>
    /// <param name="inputs">(N, L, H_in), or (L, N, H_in) when <paramref name="timeMajor"/>.</param>
    /// <param name="sequenceLengths">(N) valid lengths in [0, L]; null means all L.</param>
    /// <param name="initialState">One (N, S_k) tensor per state entry; null means the cell's zero state.</param>
    /// <param name="timeMajor">True when inputs and results put time first.</param>
    public static ScanResult Scan(RnnCell cell, Tensor inputs, Tensor? sequenceLengths = null,
        IReadOnlyList<Tensor>? initialState = null, bool timeMajor = false)
    {
        ArgumentNullException.ThrowIfNull(cell);
        ArgumentNullException.ThrowIfNull(inputs);

        using var scope = NewDisposeScope();
        var x = DynamicUnroller.BatchMajor(inputs, timeMajor, cell, nameof(ScanUnroller));
        var batch = SequenceBatch.Create(x, sequenceLengths, nameof(ScanUnroller), nameof(sequenceLengths));
        var state = DynamicUnroller.StateOrZero(cell, initialState, x, nameof(ScanUnroller));
        cell.BeginSequence(x.shape[0], x.device, x.dtype);

        var (outputs, final, states) = DynamicUnroller.StepLoop(cell, batch, state, keepStates: true);
        var all = states!;
        if (timeMajor)
        {
            outputs = outputs.transpose(0, 1);
            all = all.Select(s => s.transpose(0, 1)).ToArray();
        }
        return new ScanResult(outputs.alias().MoveToOuterDisposeScope(),
            all.Select(s => s.alias().MoveToOuterDisposeScope()).ToArray(),
            final.Select(s => s.alias().MoveToOuterDisposeScope()).ToArray());
    }
}
