using static TorchSharp.torch;

namespace Microsoft.ML.Rnn.Core;

/// <summary>
/// Runs a forward and a backward cell over the same sequences, as TensorFlow 1.x's
/// <c>bidirectional_dynamic_rnn</c>: the backward cell reads each sequence reversed within its own length
/// (<c>tf.reverse_sequence</c>; padding stays in place), and its outputs are re-reversed to align with input time.
/// </summary>
/// <remarks>
/// Shapes as in <see cref="DynamicUnroller"/>: inputs (N, L, H_in), or (L, N, H_in) when time-major; lengths (N).
/// Both cells must take H_in input features.
/// </remarks>
public static class BidirectionalUnroller
{
    /// <summary>Unrolls both directions and merges their outputs.</summary>
    /// <param name="forwardCell">Reads each sequence from its first step.</param>
    /// <param name="backwardCell">Reads each sequence from its last valid step.</param>
    /// <param name="inputs">(N, L, H_in), or (L, N, H_in) when <paramref name="timeMajor"/>.</param>
    /// <param name="sequenceLengths">(N) valid lengths in [0, L]; null means all L.</param>
    /// <param name="forwardInitialState">One (N, S_k) per forward state entry; null means zeros.</param>
    /// <param name="backwardInitialState">One (N, S_k) per backward state entry; null means zeros.</param>
    /// <param name="mergeMode">How to combine the two directions' outputs.</param>
    /// <param name="timeMajor">True when inputs and outputs put time first.</param>
    /// <param name="path">Fused kernel, step loop, or automatic choice, for both directions.</param>
    /// <param name="finalState">False when only the outputs are needed: the final states are then empty (faster for
    /// an LSTM with varying lengths).</param>
    public static BidirectionalResult Unroll(RnnCell forwardCell, RnnCell backwardCell, Tensor inputs,
        Tensor? sequenceLengths = null, IReadOnlyList<Tensor>? forwardInitialState = null,
        IReadOnlyList<Tensor>? backwardInitialState = null, MergeMode mergeMode = MergeMode.Concat,
        bool timeMajor = false, UnrollPath path = UnrollPath.Auto, bool finalState = true)
    {
        ArgumentNullException.ThrowIfNull(forwardCell);
        ArgumentNullException.ThrowIfNull(backwardCell);
        ArgumentNullException.ThrowIfNull(inputs);
        if (mergeMode is MergeMode.Sum or MergeMode.Average or MergeMode.Multiply
            && forwardCell.OutputSize != backwardCell.OutputSize)
        {
            throw new ArgumentException(
                $"{nameof(BidirectionalUnroller)}: merge mode {mergeMode} needs equal output sizes, got forward {forwardCell.OutputSize} and backward {backwardCell.OutputSize}.",
                nameof(mergeMode));
        }

        using var scope = NewDisposeScope();
        // Validate against the backward cell too, so its errors name the bidirectional unroller.
        DynamicUnroller.BatchMajor(inputs, timeMajor, backwardCell, nameof(BidirectionalUnroller));
        var x = DynamicUnroller.BatchMajor(inputs, timeMajor, forwardCell, nameof(BidirectionalUnroller));
        var batch = SequenceBatch.Create(x, sequenceLengths, nameof(BidirectionalUnroller), nameof(sequenceLengths));
        var (fw, bw, bwOutputs) = UnrollBoth(forwardCell, backwardCell, batch, forwardInitialState, backwardInitialState, path, finalState);

        Tensor? merged = mergeMode switch
        {
            MergeMode.Concat => cat([fw.Outputs, bwOutputs], 2),
            MergeMode.Sum => fw.Outputs.Plus(bwOutputs),
            MergeMode.Average => fw.Outputs.Plus(bwOutputs).mul(KeptScalars.Half),
            MergeMode.Multiply => fw.Outputs * bwOutputs,
            MergeMode.None => null,
            _ => throw new ArgumentOutOfRangeException(nameof(mergeMode), mergeMode,
                $"{nameof(BidirectionalUnroller)}: unknown merge mode."),
        };
        var fwOutputs = fw.Outputs;
        if (timeMajor)
        {
            merged = merged?.transpose(0, 1);
            fwOutputs = fwOutputs.transpose(0, 1);
            bwOutputs = bwOutputs.transpose(0, 1);
        }
        return new BidirectionalResult(
            merged?.alias().MoveToOuterDisposeScope(),
            fwOutputs.alias().MoveToOuterDisposeScope(),
            bwOutputs.alias().MoveToOuterDisposeScope(),
            fw.FinalState.Select(s => s.MoveToOuterDisposeScope()).ToArray(),
            bw.FinalState.Select(s => s.MoveToOuterDisposeScope()).ToArray());
    }

    /// <summary>
    /// Both directions over a checked batch: the forward unroll, the backward one (on each sequence reversed within its
    /// length) and the backward outputs re-reversed to input time. Results stay in the caller's scope.
    /// </summary>
    internal static (UnrollResult Forward, UnrollResult Backward, Tensor BackwardOutputs) UnrollBoth(RnnCell forwardCell,
        RnnCell backwardCell, SequenceBatch batch, IReadOnlyList<Tensor>? forwardInitialState, IReadOnlyList<Tensor>? backwardInitialState,
        UnrollPath path, bool finalState)
    {
        const string me = nameof(BidirectionalUnroller);
        var fw = DynamicUnroller.UnrollBatch(forwardCell, batch, forwardInitialState, path, finalState, me);
        var reversed = batch.WithData(ReverseSequence(batch.Data, batch.Lengths));
        var bw = DynamicUnroller.UnrollBatch(backwardCell, reversed, backwardInitialState, path, finalState, me);
        return (fw, bw, ReverseSequence(bw.Outputs, batch.Lengths));
    }

    /// <summary>
    /// Reverses each sequence within its own length, as <c>tf.reverse_sequence</c>: for sequence n, steps
    /// 0..len_n-1 are reversed and padding steps stay where they are. Differentiable.
    /// </summary>
    /// <param name="inputs">(N, L, ...) batch-major.</param>
    /// <param name="lengths">(N) integer lengths in [0, L]; null reverses the whole time axis.</param>
    internal static Tensor ReverseSequence(Tensor inputs, Tensor? lengths)
    {
        if (lengths is null) return inputs.flip(1);
        using var scope = NewDisposeScope();
        long batch = inputs.shape[0], steps = inputs.shape[1];
        var len = lengths.to(ScalarType.Int64, inputs.device).view(batch, 1);
        var time = LengthMask.Time(steps, inputs.device).view(1, steps);
        var index = where(time.lt(len), len.sub(time).sub(KeptScalars.One), time);
        var shape = inputs.shape.ToArray();
        var viewShape = new long[shape.Length];
        Array.Fill(viewShape, 1L);
        viewShape[0] = batch;
        viewShape[1] = steps;
        index = index.view(viewShape).expand(shape);
        return inputs.gather(1, index).MoveToOuterDisposeScope();
    }
}
