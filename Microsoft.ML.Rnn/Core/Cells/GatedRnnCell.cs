using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Microsoft.ML.Rnn.Core;

/// <summary>
/// A cell whose gates are blocks of H rows of an input matrix W_ih (G·H, H_in) and a recurrent matrix W_hh (G·H, ·),
/// with biases b_ih and b_hh (G·H) unless it normalises its gates instead: the LSTM family, the GRU and the simple RNN.
/// It states its layout once — its gates in row order, <see cref="Gates"/> — and owns those weights, inside libtorch's
/// fused kernel when the cell's options allow one, as managed parameters otherwise. What the initialiser
/// (<see cref="RecurrentInitializer"/>), the loader's size check (<see cref="RnnCellKind.GatesPerUnit"/>) and the
/// fused path need is read here, whatever the cell.
/// </summary>
public abstract class GatedRnnCell : RnnCell, IOnnxStepCell
{
    private FusedKernel? _kernel;
    // Field names equal the registered names so that Module.to() rebinds them after moving the parameters (it looks
    // them up by reflection on the derived type, which sees a base class's protected fields, not its private ones).
#pragma warning disable IDE1006
    private protected Parameter? weight_ih, weight_hh, bias_ih, bias_hh;
#pragma warning restore IDE1006

    /// <summary>Checks the sizes; the derived cell then makes its weights (<see cref="UseFusedKernel"/> or <see cref="CreateWeights"/>).</summary>
    /// <param name="name">Module name.</param>
    /// <param name="inputSize">H_in, at least 1.</param>
    /// <param name="hiddenSize">H, at least 1.</param>
    /// <param name="gates">The gates in row order, one letter each ('f' marks a forget gate).</param>
    private protected GatedRnnCell(string name, long inputSize, long hiddenSize, string gates) : base(name)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(inputSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(hiddenSize, 1);
        InputSize = inputSize;
        HiddenSize = hiddenSize;
        Gates = gates;
    }

    /// <inheritdoc/>
    public override long InputSize { get; }

    /// <summary>H, the hidden (LSTM: cell state) size; each gate is a block of H rows.</summary>
    public long HiddenSize { get; }

    /// <summary>The gates in row order, one letter each as the cell's equations name them: "ifgo" (LSTM), "rzn" (GRU),
    /// "h" (simple RNN), "igo" (coupled input-forget LSTM).</summary>
    public string Gates { get; }

    /// <summary>G, the gate blocks per hidden unit.</summary>
    public int GatesPerUnit => Gates.Length;

    /// <summary>The block of the forget gate (LSTM: 1), or -1 when the cell has none.</summary>
    public int ForgetGate => Gates.IndexOf('f', StringComparison.Ordinal);

    /// <summary>W_ih (G·H, H_in), gate blocks in <see cref="Gates"/> order.</summary>
    public Parameter WeightIh => _kernel?.WeightIh ?? weight_ih!;

    /// <summary>W_hh (G·H, H_out), gate blocks in <see cref="Gates"/> order.</summary>
    public Parameter WeightHh => _kernel?.WeightHh ?? weight_hh!;

    /// <summary>b_ih (G·H), or null for a cell without biases (the layer-normalised LSTM's shifts play their role).</summary>
    public Parameter? BiasIh => _kernel?.BiasIh ?? bias_ih;

    /// <summary>b_hh (G·H), or null for a cell without biases.</summary>
    public Parameter? BiasHh => _kernel?.BiasHh ?? bias_hh;

    /// <inheritdoc/>
    public override bool CanFuse => _kernel is not null;

    /// <inheritdoc/>
    internal override FusedKernel? Kernel => _kernel;

    /// <inheritdoc/>
    public override (Tensor Outputs, Tensor[] FinalState) ForwardFused(SequenceBatch inputs, IReadOnlyList<Tensor> initialState)
    {
        if (_kernel is null)
            return base.ForwardFused(inputs, initialState);
        CellChecks.CheckSequence(this, inputs, initialState);
        return _kernel.Forward(inputs, initialState);
    }

    /// <inheritdoc/>
    public (string Output, string[] State) WriteOnnxStep(OnnxStep step, string input, IReadOnlyList<string> state)
        => WriteOnnxStepPrepared(step, WriteOnnxPrepare(step, input), state);

    /// <summary>The input projection of every step at once, <c>x W_ih^T + b_ih</c>: (L, N, G·H).</summary>
    public string WriteOnnxPrepare(OnnxStep sequence, string inputs) => sequence.Linear(inputs, WeightIh, BiasIh, "input");

    /// <inheritdoc/>
    public abstract (string Output, string[] State) WriteOnnxStepPrepared(OnnxStep step, string prepared, IReadOnlyList<string> state);

    /// <summary>
    /// The gate blocks of one step in ONNX: the step's input projection <paramref name="prepared"/> plus
    /// <c>h W_hh^T + b_hh</c>, cut into <see cref="GatesPerUnit"/> values (N, H), in <see cref="Gates"/> order.
    /// </summary>
    private protected string[] OnnxGateBlocks(OnnxStep step, string prepared, string recurrent)
        => step.Split(step.Apply("Add", prepared, step.Linear(recurrent, WeightHh, BiasHh, "recurrent")), GatesPerUnit);

    /// <summary>
    /// ONNX's recurrent operator that computes what this cell computes, or null when it has none (the layer is then a
    /// <c>Scan</c> over the cell's step, <see cref="IOnnxStepCell"/>).
    /// </summary>
    internal virtual OnnxRecurrentOperator? OnnxOperator() => null;

    /// <summary>
    /// <paramref name="weight"/>'s gate blocks (G·H, ...) in the order an ONNX operator wants them,
    /// <paramref name="onnxGates"/> in this cell's letters (<see cref="Gates"/>).
    /// </summary>
    private protected Tensor OnnxGateOrder(Tensor weight, string onnxGates)
    {
        var blocks = weight.detach().chunk(GatesPerUnit, 0);
        return cat(onnxGates.Select(gate => blocks[Gates.IndexOf(gate)]).ToArray());
    }

    /// <summary>Keeps the weights in libtorch's native <paramref name="kind"/> module (PyTorch's initialisation), which makes the cell fusable.</summary>
    private protected void UseFusedKernel(FusedKernelKind kind, Device? device, ScalarType? dtype)
    {
        _kernel = new FusedKernel(this, kind, InputSize, HiddenSize, device, dtype);
        register_module("fused", _kernel.Module);
    }

    /// <summary>
    /// Makes and registers the managed weights weight_ih (G·H, H_in), weight_hh (G·H, <paramref name="recurrentInputSize"/>)
    /// and, with <paramref name="biases"/>, bias_ih and bias_hh (G·H), drawn in that order from PyTorch's
    /// uniform(-1/sqrt(H), 1/sqrt(H)) with torch's global generator.
    /// </summary>
    private protected void CreateWeights(long recurrentInputSize, bool biases, Device? device, ScalarType? dtype)
    {
        long rows = GatesPerUnit * HiddenSize;
        weight_ih = ParameterInit.Uniform([rows, InputSize], HiddenSize, device, dtype);
        weight_hh = ParameterInit.Uniform([rows, recurrentInputSize], HiddenSize, device, dtype);
        register_parameter(nameof(weight_ih), weight_ih);
        register_parameter(nameof(weight_hh), weight_hh);
        if (!biases) return;
        bias_ih = ParameterInit.Uniform([rows], HiddenSize, device, dtype);
        bias_hh = ParameterInit.Uniform([rows], HiddenSize, device, dtype);
        register_parameter(nameof(bias_ih), bias_ih);
        register_parameter(nameof(bias_hh), bias_hh);
    }
}
