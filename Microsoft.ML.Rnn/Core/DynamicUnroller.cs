using static TorchSharp.torch;

namespace Microsoft.ML.Rnn.Core;

/// <summary>
/// Runs a cell over time, as TensorFlow 1.x's <c>dynamic_rnn</c>: variable-length sequences in a padded batch,
/// outputs zero past each sequence's length, final state taken at each sequence's last valid step.
/// </summary>
/// <remarks>
/// Shapes (N batch, L steps, H_in = cell.InputSize, H_out = cell.OutputSize, S_k = cell.StateSizes[k]):
/// <list type="bullet">
/// <item><c>inputs</c>: (N, L, H_in) when <c>timeMajor</c> is false, (L, N, H_in) when true.</item>
/// <item><c>sequenceLengths</c>: (N) integers in [0, L], or null when every sequence has length L.</item>
/// <item><c>initialState</c>: one (N, S_k) tensor per state entry, or null for the cell's zero state.</item>
/// <item>Outputs: (N, L, H_out), or (L, N, H_out) when time-major. Final state: one (N, S_k) per entry.</item>
/// </list>
/// A zero-length sequence gets all-zero outputs and its initial state as final state.
/// </remarks>
public static class DynamicUnroller
{
    /// <summary>Unrolls <paramref name="cell"/> over the time axis of <paramref name="inputs"/>.</summary>
    /// <param name="cell">The cell to run at every step.</param>
    /// <param name="inputs">(N, L, H_in), or (L, N, H_in) when <paramref name="timeMajor"/>.</param>
    /// <param name="sequenceLengths">(N) valid lengths in [0, L]; null means all L.</param>
    /// <param name="initialState">One (N, S_k) tensor per state entry; null means the cell's zero state.</param>
    /// <param name="timeMajor">True when inputs and outputs put time first.</param>
    /// <param name="path">Fused kernel, step loop, or automatic choice (same results).</param>
    /// <param name="finalState">False when only the outputs are needed (Keras' <c>return_state=False</c>): the final
    /// state is then empty, and an LSTM with varying lengths runs faster (its final cell state, which is not among the
    /// outputs, need not be recomputed).</param>
    /// <returns>Outputs (N, L, H_out) or (L, N, H_out) and the final state (empty when not asked for).</returns>
    public static UnrollResult Unroll(RnnCell cell, Tensor inputs, Tensor? sequenceLengths = null,
        IReadOnlyList<Tensor>? initialState = null, bool timeMajor = false, UnrollPath path = UnrollPath.Auto,
        bool finalState = true)
    {
        ArgumentNullException.ThrowIfNull(cell);
        ArgumentNullException.ThrowIfNull(inputs);
        using var scope = NewDisposeScope();
        var x = BatchMajor(inputs, timeMajor, cell, nameof(DynamicUnroller));
        var batch = SequenceBatch.Create(x, sequenceLengths, nameof(DynamicUnroller), nameof(sequenceLengths));
        var result = UnrollBatch(cell, batch, initialState, path, finalState, nameof(DynamicUnroller));
        var outputs = timeMajor ? result.Outputs.transpose(0, 1) : result.Outputs;
        // alias() so that a returned state never is a caller's tensor, which this scope must not move.
        return new UnrollResult(outputs.alias().MoveToOuterDisposeScope(),
            result.FinalState.Select(s => s.alias().MoveToOuterDisposeScope()).ToArray());
    }

    /// <summary>Unrolls <paramref name="cell"/> over a batch whose lengths are already validated.</summary>
    /// <param name="cell">The cell to run at every step.</param>
    /// <param name="inputs">(N, L, H_in) data and lengths.</param>
    /// <param name="initialState">One (N, S_k) tensor per state entry; null means the cell's zero state.</param>
    /// <param name="path">Fused kernel, step loop, or automatic choice (same results).</param>
    /// <param name="finalState">False when only the outputs are needed (see the other overload).</param>
    /// <returns>Outputs (N, L, H_out) and the final state (empty when not asked for).</returns>
    public static UnrollResult Unroll(RnnCell cell, SequenceBatch inputs, IReadOnlyList<Tensor>? initialState = null,
        UnrollPath path = UnrollPath.Auto, bool finalState = true)
    {
        ArgumentNullException.ThrowIfNull(cell);
        ArgumentNullException.ThrowIfNull(inputs);
        using var scope = NewDisposeScope();
        BatchMajor(inputs.Data, false, cell, nameof(DynamicUnroller));
        var result = UnrollBatch(cell, inputs, initialState, path, finalState, nameof(DynamicUnroller));
        return new UnrollResult(result.Outputs.alias().MoveToOuterDisposeScope(),
            result.FinalState.Select(s => s.alias().MoveToOuterDisposeScope()).ToArray());
    }

    /// <summary>The unroll itself, on a checked (N, L, H_in) batch; results stay in the caller's scope.</summary>
    internal static UnrollResult UnrollBatch(RnnCell cell, SequenceBatch batch, IReadOnlyList<Tensor>? initialState,
        UnrollPath path, bool finalState, string caller)
    {
        bool fused = ChooseFused(cell, path, caller);
        var state = StateOrZero(cell, initialState, batch.Data, caller);
        cell.BeginSequence(batch.BatchSize, batch.Data.device, batch.Data.dtype);
        if (fused && !finalState)
            return new UnrollResult(cell.ForwardFusedOutputs(batch, state), []);
        if (fused)
        {
            var (outputs, final) = cell.ForwardFused(batch, state);
            return new UnrollResult(outputs, final);
        }
        var (stepOutputs, stepFinal, _) = StepLoop(cell, batch, state, keepStates: false);
        return new UnrollResult(stepOutputs, finalState ? stepFinal : []);
    }

    /// <summary>Whether to run the fused kernel; throws when the fused path is forced on a cell that cannot fuse.</summary>
    internal static bool ChooseFused(RnnCell cell, UnrollPath path, string caller) => path switch
    {
        UnrollPath.Auto => cell.CanFuse,
        UnrollPath.Step => false,
        UnrollPath.Fused when cell.CanFuse => true,
        UnrollPath.Fused => throw new NotSupportedException(
            $"{caller}: UnrollPath.Fused was requested but cell '{cell.GetType().Name}' cannot run fused: {cell.FuseBlocker}."),
        _ => throw new ArgumentOutOfRangeException(nameof(path), path, $"{caller}: unknown unroll path."),
    };

    /// <summary>Checks rank and feature size and returns the inputs as (N, L, H_in).</summary>
    internal static Tensor BatchMajor(Tensor inputs, bool timeMajor, RnnCell cell, string caller)
    {
        if (inputs.dim() != 3)
        {
            string layout = timeMajor ? "(L, N, H_in)" : "(N, L, H_in)";
            throw new ArgumentException(
                $"{caller}: expected inputs of rank 3 {layout}, got shape {SequenceBatch.FormatShape(inputs.shape)}.", nameof(inputs));
        }
        if (inputs.shape[2] != cell.InputSize)
        {
            throw new ArgumentException(
                $"{caller}: cell '{cell.GetType().Name}' expects {cell.InputSize} input features, got inputs of shape {SequenceBatch.FormatShape(inputs.shape)}.",
                nameof(inputs));
        }
        return timeMajor ? inputs.transpose(0, 1) : inputs;
    }

    /// <summary>Validates a given initial state against the cell, or makes the zero state.</summary>
    internal static Tensor[] StateOrZero(RnnCell cell, IReadOnlyList<Tensor>? initialState, Tensor x, string caller)
    {
        long batch = x.shape[0];
        if (initialState is null) return cell.ZeroState(batch, x.device, x.dtype);
        var sizes = cell.StateSizes;
        if (initialState.Count != sizes.Count)
        {
            throw new ArgumentException(
                $"{caller}: cell '{cell.GetType().Name}' has {sizes.Count} state tensors, got {initialState.Count}.",
                nameof(initialState));
        }
        for (int k = 0; k < sizes.Count; k++)
        {
            var s = initialState[k];
            if (s.dim() != 2 || s.shape[0] != batch || s.shape[1] != sizes[k])
            {
                throw new ArgumentException(
                    $"{caller}: expected initial state {k} of shape ({batch}, {sizes[k]}), got {SequenceBatch.FormatShape(s.shape)}.",
                    nameof(initialState));
            }
        }
        return initialState.ToArray();
    }

    /// <summary>
    /// The step loop shared by the dynamic and scan unrollers, on an (N, L, H_in) batch.
    /// Steps past the longest sequence are not computed: their outputs are zero and the state is carried.
    /// </summary>
    /// <returns>Outputs (N, L, H_out), final state, and when <paramref name="keepStates"/> every step's state (N, L, S_k).</returns>
    internal static (Tensor Outputs, Tensor[] Final, Tensor[]? States) StepLoop(
        RnnCell cell, SequenceBatch inputs, Tensor[] state, bool keepStates)
    {
        var x = inputs.Data;
        var lengths = inputs.Lengths;
        long batch = inputs.BatchSize, steps = inputs.Steps;
        long computed = inputs.MaxLength;
        // Masks for all steps at once, so each step adds only the where() calls (each libtorch call costs µs).
        Tensor[]? validAt = null;
        Tensor? zero = null;
        if (lengths is not null && computed > 0)
        {
            var valid = LengthMask.Valid(lengths, computed, x.device).unsqueeze(2);
            validAt = valid.unbind(1);
            zero = zeros(1, dtype: x.dtype, device: x.device);
            // The cell still runs on padding steps (where() then discards them); zeroed inputs keep NaN or infinite
            // padding out of the backward pass, where 0 * NaN would reach the gradients of valid steps.
            if (computed < steps) x = x.narrow(1, 0, computed);
            x = x.masked_fill(valid.logical_not(), KeptScalars.Zero);
        }

        var outputs = new List<Tensor>((int)steps);
        var states = keepStates ? state.Select(_ => new List<Tensor>((int)steps)).ToArray() : null;
        // unbind once: indexing x[:, t] per step is much slower in backward for inputs requiring grad.
        var slices = computed > 0 ? cell.PrepareInputs(x).unbind(1) : [];
        Tensor? zeroOutput = null;
        for (long t = 0; t < steps; t++)
        {
            if (t < computed)
            {
                var (output, next) = cell.StepPrepared(slices[t], state);
                if (validAt is not null)
                {
                    var valid = validAt[t];
                    output = where(valid, output, zero!);
                    for (int k = 0; k < next.Length; k++) next[k] = where(valid, next[k], state[k]);
                }
                outputs.Add(output);
                state = next;
            }
            else
            {
                zeroOutput ??= zeros(batch, cell.OutputSize, dtype: x.dtype, device: x.device);
                outputs.Add(zeroOutput);
            }
            if (states is not null)
            {
                for (int k = 0; k < state.Length; k++) states[k].Add(state[k]);
            }
        }

        var stacked = steps > 0
            ? stack(outputs, 1)
            : zeros(batch, 0, cell.OutputSize, dtype: x.dtype, device: x.device);
        Tensor[]? all = states?.Select((list, k) => steps > 0
            ? stack(list, 1)
            : zeros(batch, 0, cell.StateSizes[k], dtype: x.dtype, device: x.device)).ToArray();
        return (stacked, state, all);
    }

}
