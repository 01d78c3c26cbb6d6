using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Microsoft.ML.Rnn.Core;

/// <summary>
/// One time step of a recurrent network: <c>(input_t, state) -> (output_t, new_state)</c>, in the spirit of
/// TensorFlow 1.x's <c>RNNCell</c>. Derive from it to write your own cell; the unrollers
/// (DynamicUnroller, BidirectionalUnroller, ScanUnroller, ...) run any cell.
/// </summary>
/// <remarks>
/// Shapes use PyTorch's letters: N batch size, H_in = <see cref="InputSize"/>, H_out = <see cref="OutputSize"/>,
/// S_k = <c>StateSizes[k]</c>.
/// <list type="bullet">
/// <item><c>input</c>: (N, H_in)</item>
/// <item><c>state</c>: one tensor (N, S_k) per entry of <see cref="StateSizes"/> (LSTM: c then h)</item>
/// <item><c>output</c>: (N, H_out)</item>
/// </list>
/// A cell that libtorch's fused kernels can express overrides <see cref="CanFuse"/> and <see cref="ForwardFused(SequenceBatch, IReadOnlyList{Tensor})"/>;
/// unrollers then use the fused kernel automatically, with the same parameters and the same results.
/// </remarks>
public abstract class RnnCell : nn.Module
{
    /// <summary>Creates a cell; <paramref name="name"/> names the module in state dictionaries.</summary>
    protected RnnCell(string name) : base(name) { }

    /// <summary>H_in: features per time step the cell expects.</summary>
    public abstract long InputSize { get; }

    /// <summary>Size of each state tensor, in the order <see cref="Step"/> takes and returns them (LSTM: (c, h)).</summary>
    public abstract IReadOnlyList<long> StateSizes { get; }

    /// <summary>H_out: features of the output of one step.</summary>
    public abstract long OutputSize { get; }

    /// <summary>Runs one time step.</summary>
    /// <param name="input">(N, H_in) input at this step.</param>
    /// <param name="state">One tensor (N, S_k) per entry of <see cref="StateSizes"/>.</param>
    /// <returns>The output (N, H_out) and the new state, shaped like <paramref name="state"/>.</returns>
    public abstract (Tensor Output, Tensor[] State) Step(Tensor input, IReadOnlyList<Tensor> state);

    /// <summary>
    /// The part of every step that does not depend on the state, done for the whole sequence before the step loop:
    /// typically the input projection <c>W_ih x_t + b</c> of all L steps as one large matrix product instead of L
    /// small ones (each libtorch call costs microseconds, so fewer and larger calls make the step loop faster). The
    /// unrollers' step loop then calls <see cref="StepPrepared"/> with each step's slice of the result. Override both
    /// or neither; by default the inputs are passed through and <see cref="StepPrepared"/> is <see cref="Step"/>.
    /// </summary>
    /// <param name="inputs">(N, L, H_in), already validated by the unroller.</param>
    /// <returns>(N, L, P) for any P of the cell's choosing.</returns>
    public virtual Tensor PrepareInputs(Tensor inputs) => inputs;

    /// <summary>
    /// One step on a slice (N, P) of <see cref="PrepareInputs"/>' result; must compute what <see cref="Step"/> computes
    /// on the corresponding input (up to floating-point rounding). Called by the unrollers with validated shapes.
    /// </summary>
    /// <param name="prepared">(N, P) slice of the prepared inputs at this step.</param>
    /// <param name="state">One tensor (N, S_k) per entry of <see cref="StateSizes"/>.</param>
    public virtual (Tensor Output, Tensor[] State) StepPrepared(Tensor prepared, IReadOnlyList<Tensor> state) => Step(prepared, state);

    /// <summary>
    /// A <see cref="Step"/> for cells that override <see cref="PrepareInputs"/> and <see cref="StepPrepared"/>: checks
    /// the shapes, prepares the one input and steps from it, so the two paths cannot compute different things.
    /// </summary>
    protected (Tensor Output, Tensor[] State) StepViaPrepared(Tensor input, IReadOnlyList<Tensor> state)
    {
        long n = CellChecks.CheckInput(this, input);
        CellChecks.CheckState(this, state, n);
        using var prepared = PrepareInputs(input);
        return StepPrepared(prepared, state);
    }

    /// <summary>The all-zero state for a batch of <paramref name="batchSize"/> sequences.</summary>
    public virtual Tensor[] ZeroState(long batchSize, Device? device = null, ScalarType? dtype = null)
    {
        var (d, t) = ParameterDeviceAndType(device, dtype);
        return StateSizes.Select(size => zeros(batchSize, size, dtype: t, device: d)).ToArray();
    }

    /// <summary>
    /// Called by unrollers once before the first step of a batch of sequences, so that wrappers can sample
    /// per-sequence randomness (variational dropout masks) that every step then reuses.
    /// </summary>
    public virtual void BeginSequence(long batchSize, Device device, ScalarType dtype) { }

    /// <summary>The built-in cells' fused kernel, when they have one (the kernel checks build one of the same shape).</summary>
    internal virtual FusedKernel? Kernel => null;

    /// <summary>
    /// A cell whose weights live in a fused kernel names them as its step path does (weight_ih, weight_hh, bias_ih,
    /// bias_hh): one parameter layout whatever the options.
    /// </summary>
    public override IEnumerable<(string name, Parameter parameter)> named_parameters(bool recurse = true)
        => Kernel is { } kernel ? kernel.NamedWeights.Select(w => (w.Name, w.Parameter)) : base.named_parameters(recurse);

    /// <summary>State-dict keys as <see cref="named_parameters"/> names them (the same whatever the options).</summary>
    public override Dictionary<string, Tensor> state_dict(Dictionary<string, Tensor>? destination = null, string? prefix = null)
    {
        if (Kernel is not { } kernel) return base.state_dict(destination, prefix);
        destination ??= new Dictionary<string, Tensor>();
        foreach (var (name, parameter) in kernel.NamedWeights)
            destination.TryAdd(string.IsNullOrEmpty(prefix) ? name : $"{prefix}.{name}", parameter);
        return destination;
    }

    /// <summary>True when <see cref="ForwardFused(SequenceBatch, IReadOnlyList{Tensor})"/> can run this cell with a libtorch fused kernel.</summary>
    public virtual bool CanFuse => false;

    /// <summary>Why <see cref="CanFuse"/> is false, for error messages when a caller forces the fused path.</summary>
    public virtual string FuseBlocker => $"{GetType().Name} has no fused kernel";

    /// <summary>
    /// Runs the whole sequence with a libtorch fused kernel; only valid when <see cref="CanFuse"/> is true.
    /// Semantics are those of DynamicUnroller: outputs past a sequence's length are zero and the
    /// final state is the state at the last valid step (the initial state for zero-length sequences).
    /// </summary>
    /// <param name="inputs">(N, L, H_in), batch-major.</param>
    /// <param name="lengths">(N) integers in [0, L], or null when every sequence has length L.</param>
    /// <param name="initialState">One tensor (N, S_k) per entry of <see cref="StateSizes"/>.</param>
    /// <returns>Outputs (N, L, H_out) and the final state.</returns>
    public (Tensor Outputs, Tensor[] FinalState) ForwardFused(Tensor inputs, Tensor? lengths, IReadOnlyList<Tensor> initialState)
        => ForwardFused(SequenceBatch.Create(inputs, lengths, GetType().Name, nameof(lengths)), initialState);

    /// <summary>
    /// <see cref="ForwardFused(Tensor, Tensor?, IReadOnlyList{Tensor})"/> on a batch whose lengths are already
    /// validated (what the unrollers call); a fusable cell overrides this one.
    /// </summary>
    /// <param name="inputs">(N, L, H_in) data and lengths.</param>
    /// <param name="initialState">One tensor (N, S_k) per entry of <see cref="StateSizes"/>.</param>
    /// <returns>Outputs (N, L, H_out) and the final state.</returns>
    public virtual (Tensor Outputs, Tensor[] FinalState) ForwardFused(SequenceBatch inputs, IReadOnlyList<Tensor> initialState)
        => throw new NotSupportedException($"{GetType().Name}: cannot run fused: {FuseBlocker}.");

    /// <summary>
    /// <see cref="ForwardFused(SequenceBatch, IReadOnlyList{Tensor})"/> for callers that only read the outputs
    /// (unrollers asked for no final state). A cell whose fused kernel can skip work when the final state is not wanted
    /// overrides it (an LSTM with varying lengths then need not recompute its final cell state, which is not among the
    /// outputs).
    /// </summary>
    /// <returns>Outputs (N, L, H_out).</returns>
    /// <remarks>The default returns <see cref="ForwardFused(SequenceBatch, IReadOnlyList{Tensor})"/>'s outputs and leaves
    /// its final state to the caller's dispose scope: disposing it here could dispose the caller's initial state, which a
    /// cell may return as its final state.</remarks>
    public virtual Tensor ForwardFusedOutputs(SequenceBatch inputs, IReadOnlyList<Tensor> initialState)
        => ForwardFused(inputs, initialState).Outputs;

    /// <summary>Device and dtype of this cell's first parameter unless given explicitly.</summary>
    protected (Device Device, ScalarType Dtype) ParameterDeviceAndType(Device? device, ScalarType? dtype)
    {
        // Walking the parameters costs several libtorch calls; the unrollers always pass both.
        if (device is not null && dtype is not null)
            return (device, dtype.Value);
        var first = parameters().FirstOrDefault();
        return (device ?? first?.device ?? CPU, dtype ?? first?.dtype ?? get_default_dtype());
    }
}
