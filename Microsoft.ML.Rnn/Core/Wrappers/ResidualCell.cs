using static TorchSharp.torch;

namespace Microsoft.ML.Rnn.Core;

/// <summary>
/// Adds each step's input to the wrapped cell's output (TensorFlow 1.x's <c>ResidualWrapper</c>):
/// output_t = inner(input_t, state).output + input_t. The inner cell's input and output sizes must be equal.
/// </summary>
/// <remarks>Shapes and state are the inner cell's. Fusable when the inner cell is.</remarks>
public sealed class ResidualCell : RnnCell
{
    private readonly RnnCell inner;

    /// <summary>Wraps <paramref name="cell"/>, whose InputSize must equal its OutputSize.</summary>
    public ResidualCell(RnnCell cell, string name = "residual") : base(name)
    {
        ArgumentNullException.ThrowIfNull(cell);
        if (cell.InputSize != cell.OutputSize)
        {
            throw new ArgumentException(
                $"{nameof(ResidualCell)}: the inner cell's input size ({cell.InputSize}) must equal its output size ({cell.OutputSize}) to add input to output.",
                nameof(cell));
        }
        inner = cell;
        RegisterComponents();
    }

    /// <summary>The wrapped cell.</summary>
    public RnnCell Inner => inner;

    /// <inheritdoc/>
    public override long InputSize => inner.InputSize;

    /// <inheritdoc/>
    public override IReadOnlyList<long> StateSizes => inner.StateSizes;

    /// <inheritdoc/>
    public override long OutputSize => inner.OutputSize;

    /// <inheritdoc/>
    public override (Tensor Output, Tensor[] State) Step(Tensor input, IReadOnlyList<Tensor> state)
    {
        var (output, next) = inner.Step(input, state);
        return (output.Plus(input), next);
    }

    /// <inheritdoc/>
    public override Tensor[] ZeroState(long batchSize, Device? device = null, ScalarType? dtype = null)
        => inner.ZeroState(batchSize, device, dtype);

    /// <inheritdoc/>
    public override void BeginSequence(long batchSize, Device device, ScalarType dtype)
        => inner.BeginSequence(batchSize, device, dtype);

    /// <inheritdoc/>
    public override bool CanFuse => inner.CanFuse;

    /// <inheritdoc/>
    public override string FuseBlocker => $"inner cell {inner.GetType().Name}: {inner.FuseBlocker}";

    /// <inheritdoc/>
    public override (Tensor Outputs, Tensor[] FinalState) ForwardFused(SequenceBatch inputs, IReadOnlyList<Tensor> initialState)
    {
        var (outputs, final) = inner.ForwardFused(inputs, initialState);
        var x = inputs.Data;
        if (inputs.Lengths is not { } lengths) return (outputs.Plus(x), final);
        // Outputs past a sequence's length must stay zero, so padded inputs are not added there.
        using var scope = NewDisposeScope();
        var valid = LengthMask.Valid(lengths, inputs.Steps, x.device).unsqueeze(2);
        var summed = outputs.Plus(where(valid, x, zeros_like(x)));
        return (summed.MoveToOuterDisposeScope(), final);
    }
}
