using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.Rnn.Core;

/// <summary>Shape validation shared by the built-in cells, so every cell words its errors the same way.</summary>
internal static class CellChecks
{
    /// <summary>Formats a shape as "(2, 7)".</summary>
    public static string Shape(long[] shape) => "(" + string.Join(", ", shape) + ")";

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

    /// <summary>Checks fused-path inputs (N, L, H_in), lengths and initial state; returns (N, L).</summary>
    public static (long N, long L) CheckSequence(RnnCell cell, Tensor inputs, Tensor? lengths, IReadOnlyList<Tensor> initialState)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        string name = cell.GetType().Name;
        if (inputs.dim() != 3 || inputs.shape[2] != cell.InputSize)
            throw new ArgumentException(
                $"{name}: expected inputs of shape (N, L, {cell.InputSize}), got {Shape(inputs.shape)}", nameof(inputs));
        long n = inputs.shape[0], l = inputs.shape[1];
        if (lengths is not null)
        {
            if (lengths.dim() != 1 || lengths.shape[0] != n || lengths.dtype != ScalarType.Int64 || lengths.device_type != DeviceType.CPU)
                throw new ArgumentException(
                    $"{name}: expected lengths of shape ({n}) with dtype Int64 on the CPU, got {Shape(lengths.shape)} {lengths.dtype} on {lengths.device}",
                    nameof(lengths));
            if (n > 0)
            {
                var (min, max) = LengthRange(lengths);
                if (min < 0 || max > l)
                    throw new ArgumentOutOfRangeException(nameof(lengths),
                        $"{name}: sequence lengths must lie in [0, {l}], got values in [{min}, {max}]");
            }
        }
        CheckState(cell, initialState, n, nameof(initialState));
        return (n, l);
    }

    /// <summary>
    /// The smallest and largest of (N) int64 CPU lengths, read from their memory: min() and max() as tensors cost four
    /// libtorch calls, a visible share of scoring one short sequence.
    /// </summary>
    public static (long Min, long Max) LengthRange(Tensor lengths)
    {
        long min = long.MaxValue, max = long.MinValue;
        foreach (long length in lengths.data<long>())
        {
            min = Math.Min(min, length);
            max = Math.Max(max, length);
        }
        return (min, max);
    }
}
