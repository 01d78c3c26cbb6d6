using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.Rnn.Core.Training;

/// <summary>
/// Truncated backpropagation through time over long batched sequences (the "Echo-RNN" recipe of TensorFlow 1.x
/// tutorials): each batch (N, T, H_in) is cut into windows of <c>truncatedBackpropLength</c> steps; gradients flow
/// within a window only; the final state of one window is the initial state of the next, detached from the graph,
/// and it is carried on to the next batch until <see cref="ResetState"/>.
/// </summary>
/// <remarks>
/// The head maps the cell's outputs (N, W, H_out) of a window to predictions; the loss maps (predictions, targets
/// of the window) to a scalar. Targets are (N, T, ...) and are windowed along their second axis.
/// <see cref="TrainBatch"/> and <see cref="Predict"/> share the carried state. Every window runs in its own dispose
/// scope; the runner owns the carried state and disposes it on reset, replacement and <see cref="Dispose"/>.
/// </remarks>
public sealed class TruncatedBpttRunner : IDisposable
{
    private readonly RnnCell cell;
    private readonly nn.Module<Tensor, Tensor> head;
    private readonly Func<Tensor, Tensor, Tensor> loss;
    private readonly optim.Optimizer optimizer;
    private readonly double? maxGradientNorm;
    private readonly UnrollPath path;
    // A plain field of the runner, never of a module: module tensor fields would become buffers.
    private Tensor[]? carried;

    /// <summary>Creates a runner.</summary>
    /// <param name="cell">The recurrent cell.</param>
    /// <param name="head">Maps outputs (N, W, H_out) to predictions.</param>
    /// <param name="loss">Maps (predictions, targets) of one window to a scalar loss.</param>
    /// <param name="optimizer">Steps the parameters of cell and head (built by the caller over both).</param>
    /// <param name="truncatedBackpropLength">W: steps per window, at least 1.</param>
    /// <param name="maxGradientNorm">When set, the global gradient norm is clipped to it before each step.</param>
    /// <param name="path">Unroll path (fused or step loop) for each window.</param>
    public TruncatedBpttRunner(RnnCell cell, nn.Module<Tensor, Tensor> head, Func<Tensor, Tensor, Tensor> loss,
        optim.Optimizer optimizer, int truncatedBackpropLength, double? maxGradientNorm = null,
        UnrollPath path = UnrollPath.Auto)
    {
        ArgumentNullException.ThrowIfNull(cell);
        ArgumentNullException.ThrowIfNull(head);
        ArgumentNullException.ThrowIfNull(loss);
        ArgumentNullException.ThrowIfNull(optimizer);
        ArgumentOutOfRangeException.ThrowIfLessThan(truncatedBackpropLength, 1);
        if (maxGradientNorm is { } m && !(m > 0))
        {
            throw new ArgumentOutOfRangeException(nameof(maxGradientNorm), m,
                $"{nameof(TruncatedBpttRunner)}: maxGradientNorm must be positive, got {m}.");
        }
        this.cell = cell;
        this.head = head;
        this.loss = loss;
        this.optimizer = optimizer;
        this.maxGradientNorm = maxGradientNorm;
        this.path = path;
        TruncatedBackpropLength = truncatedBackpropLength;
    }

    /// <summary>W: steps per window.</summary>
    public int TruncatedBackpropLength { get; }

    /// <summary>The state carried into the next window (one (N, S_k) per entry, no gradient), or null after a reset.</summary>
    public IReadOnlyList<Tensor>? CarriedState => carried;

    /// <summary>Forgets the carried state: the next window starts from the cell's zero state.</summary>
    public void ResetState() => Replace(null);

    /// <summary>
    /// Trains on one batch window by window (one optimizer step per window) and returns the mean of the windows'
    /// losses. Puts cell and head in training mode.
    /// </summary>
    /// <param name="inputs">(N, T, H_in).</param>
    /// <param name="targets">(N, T, ...) targets aligned with the inputs' steps.</param>
    public double TrainBatch(Tensor inputs, Tensor targets)
    {
        CheckBatch(inputs);
        ArgumentNullException.ThrowIfNull(targets);
        if (targets.dim() < 2 || targets.shape[0] != inputs.shape[0] || targets.shape[1] != inputs.shape[1])
        {
            throw new ArgumentException(
                $"{nameof(TruncatedBpttRunner)}: expected targets of shape ({inputs.shape[0]}, {inputs.shape[1]}, ...), got {SequenceBatch.FormatShape(targets.shape)}.",
                nameof(targets));
        }
        cell.train();
        head.train();
        var parameters = cell.parameters().Concat(head.parameters()).ToArray();
        long steps = inputs.shape[1];
        double total = 0;
        int windows = 0;
        for (long start = 0; start < steps; start += TruncatedBackpropLength)
        {
            long width = Math.Min(TruncatedBackpropLength, steps - start);
            using var scope = NewDisposeScope();
            optimizer.zero_grad();
            var window = inputs.narrow(1, start, width);
            var result = DynamicUnroller.Unroll(cell, window, initialState: carried, path: path);
            var value = loss(head.call(result.Outputs), targets.narrow(1, start, width));
            value.backward();
            if (maxGradientNorm is { } max) nn.utils.clip_grad_norm_(parameters, max);
            optimizer.step();
            total += value.ToDouble();
            windows++;
            Carry(result.FinalState);
        }
        return windows == 0 ? double.NaN : total / windows;
    }

    /// <summary>
    /// Runs the head over a batch without gradients, window by window, carrying the state as training does.
    /// Puts cell and head in evaluation mode.
    /// </summary>
    /// <param name="inputs">(N, T, H_in).</param>
    /// <returns>Predictions for every step, concatenated along the time axis: (N, T, ...).</returns>
    public Tensor Predict(Tensor inputs)
    {
        CheckBatch(inputs);
        cell.eval();
        head.eval();
        using var noGrad = no_grad();
        using var outer = NewDisposeScope();
        var pieces = new List<Tensor>();
        long steps = inputs.shape[1];
        for (long start = 0; start < steps; start += TruncatedBackpropLength)
        {
            long width = Math.Min(TruncatedBackpropLength, steps - start);
            using var scope = NewDisposeScope();
            var result = DynamicUnroller.Unroll(cell, inputs.narrow(1, start, width), initialState: carried, path: path);
            pieces.Add(head.call(result.Outputs).MoveToOuterDisposeScope());
            Carry(result.FinalState);
        }
        if (pieces.Count == 0)
            throw new ArgumentException($"{nameof(TruncatedBpttRunner)}: inputs have no time steps.", nameof(inputs));
        return cat(pieces, 1).MoveToOuterDisposeScope();
    }

    /// <summary>Disposes the carried state.</summary>
    public void Dispose() => Replace(null);

    private void CheckBatch(Tensor inputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        if (inputs.dim() != 3)
        {
            throw new ArgumentException(
                $"{nameof(TruncatedBpttRunner)}: expected inputs of rank 3 (N, T, H_in), got shape {SequenceBatch.FormatShape(inputs.shape)}.",
                nameof(inputs));
        }
        if (carried is not null && carried[0].shape[0] != inputs.shape[0])
        {
            throw new ArgumentException(
                $"{nameof(TruncatedBpttRunner)}: the carried state is for {carried[0].shape[0]} sequences but the inputs have {inputs.shape[0]}; call ResetState() to start new sequences.",
                nameof(inputs));
        }
    }

    private void Carry(Tensor[] state)
        // Detached so that the next window's backward pass stops here; taken out of every dispose scope because the
        // runner keeps it across windows and batches.
        => Replace(state.Select(s => s.detach().DetachFromDisposeScope()).ToArray());

    private void Replace(Tensor[]? state)
    {
        if (carried is not null) foreach (var s in carried) s.Dispose();
        carried = state;
    }
}
