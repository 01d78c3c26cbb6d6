using static TorchSharp.torch;

namespace Microsoft.ML.Rnn.Core;

/// <summary>
/// The Elman cell: <c>h' = act(x W_ih^T + b_ih + h W_hh^T + b_hh)</c>, output = h'. State (h), all sizes H.
/// Always fusable (libtorch nn.RNN), which owns the parameters.
/// </summary>
/// <remarks>Parameters (PyTorch layout): weight_ih (H, H_in), weight_hh (H, H), bias_ih (H), bias_hh (H).</remarks>
public sealed class SimpleRnnCell : GatedRnnCell
{
    /// <summary>The gates in row order (<see cref="GatedRnnCell.Gates"/>).</summary>
    public const string GateLayout = "h";

    private readonly long[] _stateSizes;

    /// <summary>Creates the cell with PyTorch's initialisation uniform(-1/sqrt(H), 1/sqrt(H)).</summary>
    /// <param name="inputSize">H_in, at least 1.</param>
    /// <param name="hiddenSize">H, at least 1.</param>
    /// <param name="activation">The nonlinearity.</param>
    /// <param name="device">Device of the parameters (CPU by default).</param>
    /// <param name="dtype">Element type of the parameters (the default dtype by default).</param>
    public SimpleRnnCell(long inputSize, long hiddenSize, SimpleRnnActivation activation = SimpleRnnActivation.Tanh,
        Device? device = null, ScalarType? dtype = null) : base(nameof(SimpleRnnCell), inputSize, hiddenSize, GateLayout)
    {
        Activation = activation;
        _stateSizes = [hiddenSize];
        UseFusedKernel(activation == SimpleRnnActivation.Tanh ? FusedKernelKind.RnnTanh : FusedKernelKind.RnnRelu, device, dtype);
    }

    /// <summary>The nonlinearity.</summary>
    public SimpleRnnActivation Activation { get; }

    /// <inheritdoc/>
    public override IReadOnlyList<long> StateSizes => _stateSizes;

    /// <inheritdoc/>
    public override long OutputSize => HiddenSize;

    /// <inheritdoc/>
    public override (Tensor Output, Tensor[] State) Step(Tensor input, IReadOnlyList<Tensor> state) => StepViaPrepared(input, state);

    /// <summary>The input projection of every step at once: <c>W_ih x_t + b_ih + b_hh</c>, (N, L, H).</summary>
    public override Tensor PrepareInputs(Tensor inputs)
    {
        using var bias = BiasIh!.Plus(BiasHh!);
        return nn.functional.linear(inputs, WeightIh, bias);
    }

    /// <inheritdoc/>
    public override (Tensor Output, Tensor[] State) StepPrepared(Tensor prepared, IReadOnlyList<Tensor> state)
    {
        using var pre = nn.functional.linear(state[0], WeightHh, prepared);
        var h = Activation == SimpleRnnActivation.Tanh ? tanh(pre) : pre.relu();
        return (h, [h]);
    }

    /// <inheritdoc/>
    public override string FuseBlocker => "";

    /// <summary>ONNX's <c>RNN</c> with the cell's activation.</summary>
    internal override OnnxRecurrentOperator OnnxOperator()
        => new("RNN", HiddenSize, WeightIh.detach(), WeightHh.detach(), cat([BiasIh!.detach(), BiasHh!.detach()]), null,
            Activation: Activation == SimpleRnnActivation.Relu ? "Relu" : "Tanh");

    /// <summary>The step: <c>act(x W_ih^T + b_ih + h W_hh^T + b_hh)</c>; state (h).</summary>
    public override (string Output, string[] State) WriteOnnxStepPrepared(OnnxStep step, string prepared, IReadOnlyList<string> state)
    {
        string h = step.Apply(Activation == SimpleRnnActivation.Tanh ? "Tanh" : "Relu", OnnxGateBlocks(step, prepared, state[0])[0]);
        return (h, [h]);
    }

}
