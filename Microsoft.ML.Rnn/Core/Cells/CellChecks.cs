using static TorchSharp.torch;

namespace Microsoft.ML.Rnn.Core;

/// <summary>Shape validation shared by the built-in cells, so every cell words its errors the same way.</summary>
internal static class CellChecks
{
    private static string Shape(long[] shape) => SequenceBatch.FormatShape(shape);

    /// <summary>Checks a step input (N, H_in) and returns N.</summary>
    public static long CheckInput(RnnCell cell, Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (input.dim() != 2 || input.shape[1] != cell.InputSize)
            throw new ArgumentException(
                $"{cell.GetType().Name}: expected input of shape (N, {cell.InputSize}), got {Shape(input.shape)}", nameof(input));
        return input.shape[0];
    }

    /// <summary>Checks a state list against <see cref="RnnCell.StateSizes"/> for a batch of <paramref name="batchSize"/>.</summary>
    public static void CheckState(RnnCell cell, IReadOnlyList<Tensor> state, long batchSize, string paramName = "state")
    {
        ArgumentNullException.ThrowIfNull(state, paramName);
        var sizes = cell.StateSizes;
        if (state.Count != sizes.Count)
            throw new ArgumentException(
                $"{cell.GetType().Name}: expected {sizes.Count} state tensor(s), got {state.Count}", paramName);
        for (int k = 0; k < sizes.Count; k++)
        {
            var s = state[k] ?? throw new ArgumentException($"{cell.GetType().Name}: state {k} is null", paramName);
            if (s.dim() != 2 || s.shape[0] != batchSize || s.shape[1] != sizes[k])
                throw new ArgumentException(
                    $"{cell.GetType().Name}: expected state {k} of shape ({batchSize}, {sizes[k]}), got {Shape(s.shape)}", paramName);
        }
    }

    /// <summary>Checks fused-path inputs (N, L, H_in) of a batch (its lengths are checked where it was made) and the initial state.</summary>
    public static void CheckSequence(RnnCell cell, SequenceBatch inputs, IReadOnlyList<Tensor> initialState)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        var data = inputs.Data;
        if (data.dim() != 3 || data.shape[2] != cell.InputSize)
            throw new ArgumentException(
                $"{cell.GetType().Name}: expected inputs of shape (N, L, {cell.InputSize}), got {Shape(data.shape)}", nameof(inputs));
        CheckState(cell, initialState, inputs.BatchSize, nameof(initialState));
    }
}
