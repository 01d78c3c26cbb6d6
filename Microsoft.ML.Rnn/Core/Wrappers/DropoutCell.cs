using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.Rnn.Core;

/// <summary>
/// Dropout on a cell's input, output and state (TensorFlow 1.x's <c>DropoutWrapper</c>), active only in training
/// mode (<c>train()</c>); in evaluation mode (<c>eval()</c>) the wrapper is the identity around its cell.
/// </summary>
/// <remarks>
/// Kept units are scaled by 1/keep so expectations match evaluation. With <c>variational</c> (Gal and Ghahramani),
/// one mask per sequence and per tensor is sampled in <see cref="BeginSequence"/> and reused at every step:
/// input mask (N, H_in), output mask (N, H_out), state masks (N, S_k). Otherwise every step draws fresh masks.
/// State dropout applies to the new state the cell returns (which the next step reads). Fusable when the inner cell
/// is and stateKeepProbability is 1: input and output dropout then apply to the whole (N, L, H) tensors, variational
/// masks broadcast as (N, 1, H).
/// </remarks>
public sealed class DropoutCell : RnnCell
{
    private readonly RnnCell inner;
    private readonly bool[] dropState;
    // Masks live in a holder: a Tensor field would be registered as a buffer by RegisterComponents().
    private readonly MaskSet masks = new();

    /// <summary>Wraps <paramref name="cell"/> with dropout.</summary>
    /// <param name="cell">The wrapped cell.</param>
    /// <param name="inputKeepProbability">Probability of keeping an input unit, in (0, 1].</param>
    /// <param name="outputKeepProbability">Probability of keeping an output unit, in (0, 1].</param>
    /// <param name="stateKeepProbability">Probability of keeping a state unit, in (0, 1].</param>
    /// <param name="variational">Sample masks once per sequence instead of at every step.</param>
    /// <param name="dropStates">
    /// Which state entries state dropout applies to (one flag per entry of the cell's StateSizes); null means all.
    /// TensorFlow's default for an LSTM spares the memory c: pass [false, true] to match it.
    /// </param>
    /// <param name="name">Module name.</param>
    public DropoutCell(RnnCell cell, double inputKeepProbability = 1.0, double outputKeepProbability = 1.0,
        double stateKeepProbability = 1.0, bool variational = false, IReadOnlyList<bool>? dropStates = null,
        string name = "dropout") : base(name)
    {
        ArgumentNullException.ThrowIfNull(cell);
        CheckProbability(inputKeepProbability, nameof(inputKeepProbability));
        CheckProbability(outputKeepProbability, nameof(outputKeepProbability));
        CheckProbability(stateKeepProbability, nameof(stateKeepProbability));
        if (dropStates is not null && dropStates.Count != cell.StateSizes.Count)
        {
            throw new ArgumentException(
                $"{nameof(DropoutCell)}: expected {cell.StateSizes.Count} state dropout flags (one per state entry), got {dropStates.Count}.",
                nameof(dropStates));
        }
        inner = cell;
        InputKeepProbability = inputKeepProbability;
        OutputKeepProbability = outputKeepProbability;
        StateKeepProbability = stateKeepProbability;
        Variational = variational;
        dropState = dropStates?.ToArray() ?? Enumerable.Repeat(true, cell.StateSizes.Count).ToArray();
        RegisterComponents();
    }

    /// <summary>The wrapped cell.</summary>
    public RnnCell Inner => inner;

    /// <summary>Probability of keeping an input unit.</summary>
    public double InputKeepProbability { get; }

    /// <summary>Probability of keeping an output unit.</summary>
    public double OutputKeepProbability { get; }

    /// <summary>Probability of keeping a state unit.</summary>
    public double StateKeepProbability { get; }

    /// <summary>True when masks are sampled once per sequence (in <see cref="BeginSequence"/>).</summary>
    public bool Variational { get; }

    /// <inheritdoc/>
    public override long InputSize => inner.InputSize;

    /// <inheritdoc/>
    public override IReadOnlyList<long> StateSizes => inner.StateSizes;

    /// <inheritdoc/>
    public override long OutputSize => inner.OutputSize;

    /// <inheritdoc/>
    public override Tensor[] ZeroState(long batchSize, Device? device = null, ScalarType? dtype = null)
        => inner.ZeroState(batchSize, device, dtype);

    /// <inheritdoc/>
    public override void BeginSequence(long batchSize, Device device, ScalarType dtype)
    {
        inner.BeginSequence(batchSize, device, dtype);
        masks.Clear();
        if (!Variational || !training) return;
        masks.BatchSize = batchSize;
        masks.Input = Sample(batchSize, inner.InputSize, InputKeepProbability, device, dtype);
        masks.Output = Sample(batchSize, inner.OutputSize, OutputKeepProbability, device, dtype);
        masks.State = inner.StateSizes
            .Select((size, k) => dropState[k] ? Sample(batchSize, size, StateKeepProbability, device, dtype) : null)
            .ToArray();
    }

    /// <inheritdoc/>
    public override (Tensor Output, Tensor[] State) Step(Tensor input, IReadOnlyList<Tensor> state)
    {
        if (!training) return inner.Step(input, state);
        CheckMasks(input.shape[0]);
        var x = Drop(input, InputKeepProbability, masks.Input);
        var (output, next) = inner.Step(x, state);
        if (StateKeepProbability < 1.0)
        {
            for (int k = 0; k < next.Length; k++)
            {
                if (dropState[k]) next[k] = Drop(next[k], StateKeepProbability, masks.State?[k]);
            }
        }
        return (Drop(output, OutputKeepProbability, masks.Output), next);
    }

    /// <inheritdoc/>
    public override bool CanFuse => inner.CanFuse && StateKeepProbability == 1.0;

    /// <inheritdoc/>
    public override string FuseBlocker => !inner.CanFuse
        ? $"inner cell {inner.GetType().Name}: {inner.FuseBlocker}"
        : StateKeepProbability < 1.0 ? "state dropout (stateKeepProbability < 1) acts between steps" : "none";

    /// <inheritdoc/>
    public override (Tensor Outputs, Tensor[] FinalState) ForwardFused(SequenceBatch inputs, IReadOnlyList<Tensor> initialState)
    {
        if (!CanFuse) throw new NotSupportedException($"{nameof(DropoutCell)}: cannot run fused: {FuseBlocker}.");
        if (!training) return inner.ForwardFused(inputs, initialState);
        CheckMasks(inputs.BatchSize);
        var x = Drop(inputs.Data, InputKeepProbability, masks.Input?.unsqueeze(1));
        var (outputs, final) = inner.ForwardFused(inputs.WithData(x), initialState);
        return (Drop(outputs, OutputKeepProbability, masks.Output?.unsqueeze(1)), final);
    }

    /// <inheritdoc/>
    protected override void Dispose(bool disposing)
    {
        if (disposing) masks.Clear();
        base.Dispose(disposing);
    }

    private void CheckMasks(long batchSize)
    {
        if (Variational && masks.BatchSize != batchSize)
        {
            string sampled = masks.BatchSize < 0 ? "no masks were sampled" : $"masks were sampled for batch size {masks.BatchSize}";
            throw new InvalidOperationException(
                $"{nameof(DropoutCell)}: variational dropout needs BeginSequence({batchSize}, ...) before the first step in training mode; {sampled}.");
        }
    }

    private static Tensor Drop(Tensor x, double keep, Tensor? mask)
    {
        if (keep >= 1.0) return x;
        return mask is null ? nn.functional.dropout(x, 1.0 - keep, training: true) : x * mask;
    }

    private static Tensor? Sample(long batchSize, long size, double keep, Device device, ScalarType dtype)
    {
        if (keep >= 1.0) return null;
        using var scope = NewDisposeScope();
        using var keepScalar = keep.ToScalar();
        var mask = empty(batchSize, size, dtype: dtype, device: device).bernoulli_(keep).div_(keepScalar);
        // The cell owns its masks across the unroll (and across caller scopes) and disposes them on resampling.
        return mask.DetachFromDisposeScope();
    }

    private static void CheckProbability(double p, string name)
    {
        if (!(p > 0.0 && p <= 1.0))
            throw new ArgumentOutOfRangeException(name, p, $"{nameof(DropoutCell)}: {name} must be in (0, 1], got {p}.");
    }

    private sealed class MaskSet
    {
        public long BatchSize = -1;
        public Tensor? Input;
        public Tensor? Output;
        public Tensor?[]? State;

        public void Clear()
        {
            Input?.Dispose();
            Output?.Dispose();
            if (State is not null) foreach (var s in State) s?.Dispose();
            Input = Output = null;
            State = null;
            BatchSize = -1;
        }
    }
}
