using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Microsoft.ML.Rnn.Core;

/// <summary>
/// LSTM with layer normalisation (Ba et al. 2016), as TensorFlow 1.x's LayerNormBasicLSTMCell computes it. State
/// (c, h) of sizes (H, H); gates in PyTorch order i, f, g, o. LN_k(v) = gain_k * (v - mean(v)) / sqrt(var(v) + eps) + shift_k,
/// mean and (biased) variance taken over the H features of each row, separately for each gate:
/// <code>
/// [i f g o] = W_ih x + W_hh h                       (no bias: the LN shifts play that role, as in TF)
/// i' = sigmoid(LN_i(i)),  f' = sigmoid(LN_f(f) + forget_bias),  g' = tanh(LN_g(g)),  o' = sigmoid(LN_o(o))
/// c' = LN_c(f' * c + i' * g')                       (the normalised cell state is also the carried state)
/// h' = o' * tanh(c')
/// </code>
/// What is normalised: each of the four gate pre-activations on its own, and the new cell state before tanh.
/// The output is h'. Not fusable.
/// </summary>
/// <remarks>
/// Parameters: weight_ih (4H, H_in), weight_hh (4H, H) initialised uniform(-1/sqrt(H), 1/sqrt(H)); gate_norm_weight
/// (4, H) = 1 and gate_norm_bias (4, H) = 0 (rows i, f, g, o); cell_norm_weight (H) = 1 and cell_norm_bias (H) = 0.
/// TF's defaults are forget_bias 1.0 (kept here) and epsilon 1e-12 (here 1e-5, PyTorch's LayerNorm default, which
/// avoids dividing by ~0 when a row is constant).
/// </remarks>
public sealed class LayerNormLstmCell : GatedRnnCell
{
    /// <summary>The gates in row order (<see cref="GatedRnnCell.Gates"/>).</summary>
    public const string GateLayout = "ifgo";

    private readonly long[] _stateSizes;
    // Field names equal the registered names so that Module.to() rebinds them after moving the parameters.
#pragma warning disable IDE1006
    private Parameter gate_norm_weight, gate_norm_bias, cell_norm_weight, cell_norm_bias;
#pragma warning restore IDE1006

    /// <summary>Creates the cell.</summary>
    /// <param name="inputSize">H_in, at least 1.</param>
    /// <param name="hiddenSize">H, at least 2 (layer norm over one feature is constant).</param>
    /// <param name="forgetBias">Added to the normalised forget gate pre-activation (TF default 1.0).</param>
    /// <param name="epsilon">Added to the variance in every normalisation; positive.</param>
    /// <param name="device">Device of the parameters (CPU by default).</param>
    /// <param name="dtype">Element type of the parameters (the default dtype by default).</param>
    public LayerNormLstmCell(long inputSize, long hiddenSize, double forgetBias = 1.0, double epsilon = 1e-5,
        Device? device = null, ScalarType? dtype = null) : base(nameof(LayerNormLstmCell), inputSize, hiddenSize, GateLayout)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(hiddenSize, 2);
        if (!(epsilon > 0))
            throw new ArgumentOutOfRangeException(nameof(epsilon), $"LayerNormLstmCell: epsilon must be positive, got {epsilon}");
        if (double.IsNaN(forgetBias) || double.IsInfinity(forgetBias))
            throw new ArgumentOutOfRangeException(nameof(forgetBias), $"LayerNormLstmCell: forgetBias must be finite, got {forgetBias}");
        ForgetBias = forgetBias;
        Epsilon = epsilon;
        _stateSizes = [hiddenSize, hiddenSize];
        CreateWeights(hiddenSize, biases: false, device, dtype);
        gate_norm_weight = ParameterInit.Constant([4, hiddenSize], 1.0, device, dtype);
        gate_norm_bias = ParameterInit.Constant([4, hiddenSize], 0.0, device, dtype);
        cell_norm_weight = ParameterInit.Constant([hiddenSize], 1.0, device, dtype);
        cell_norm_bias = ParameterInit.Constant([hiddenSize], 0.0, device, dtype);
        register_parameter(nameof(gate_norm_weight), gate_norm_weight);
        register_parameter(nameof(gate_norm_bias), gate_norm_bias);
        register_parameter(nameof(cell_norm_weight), cell_norm_weight);
        register_parameter(nameof(cell_norm_bias), cell_norm_bias);
    }

    /// <summary>Added to the normalised forget gate pre-activation.</summary>
    public double ForgetBias { get; }

    /// <summary>Variance epsilon of every normalisation.</summary>
    public double Epsilon { get; }

    /// <inheritdoc/>
    public override IReadOnlyList<long> StateSizes => _stateSizes;

    /// <inheritdoc/>
    public override long OutputSize => HiddenSize;

    /// <summary>(4, H) layer-norm gains of the gate pre-activations, rows i, f, g, o.</summary>
    public Parameter GateNormWeight => gate_norm_weight;

    /// <summary>(4, H) layer-norm shifts of the gate pre-activations, rows i, f, g, o.</summary>
    public Parameter GateNormBias => gate_norm_bias;

    /// <summary>(H) layer-norm gain of the new cell state.</summary>
    public Parameter CellNormWeight => cell_norm_weight;

    /// <summary>(H) layer-norm shift of the new cell state.</summary>
    public Parameter CellNormBias => cell_norm_bias;

    /// <inheritdoc/>
    public override (Tensor Output, Tensor[] State) Step(Tensor input, IReadOnlyList<Tensor> state) => StepViaPrepared(input, state);

    /// <summary>The input projection of every step at once: <c>W_ih x_t</c>, (N, L, 4H) (the gates are normalised after the sum).</summary>
    public override Tensor PrepareInputs(Tensor inputs) => F.linear(inputs, weight_ih!);

    /// <inheritdoc/>
    public override (Tensor Output, Tensor[] State) StepPrepared(Tensor prepared, IReadOnlyList<Tensor> state)
    {
        using var scope = NewDisposeScope();
        long hs = HiddenSize, n = prepared.shape[0];
        var pre = F.linear(state[1], weight_hh!, prepared).view(n, 4, hs);
        var gates = (F.layer_norm(pre, [hs], eps: Epsilon) * gate_norm_weight).Plus(gate_norm_bias).unbind(1);
        var i = sigmoid(gates[0]);
        using var forgetBias = ForgetBias.ToScalar();
        var f = sigmoid(ForgetBias == 0 ? gates[1] : gates[1].Plus(forgetBias));
        var g = tanh(gates[2]);
        var o = sigmoid(gates[3]);
        var next = F.layer_norm((f * state[0]).Plus(i * g), [hs], cell_norm_weight, cell_norm_bias, Epsilon);
        var h = o * tanh(next);
        return (h.MoveToOuterDisposeScope(), [next.MoveToOuterDisposeScope(), h]);
    }

    /// <inheritdoc/>
    public override string FuseBlocker => "no fused kernel normalises the gates";

    /// <summary>The step as <see cref="StepPrepared"/> computes it, each gate normalised on its own; state (c, h).</summary>
    public override (string Output, string[] State) WriteOnnxStepPrepared(OnnxStep step, string prepared, IReadOnlyList<string> state)
    {
        var blocks = OnnxGateBlocks(step, prepared, state[1]);
        var gates = new string[4];
        for (int k = 0; k < 4; k++)
        {
            using var gain = gate_norm_weight[k];
            using var shift = gate_norm_bias[k];
            gates[k] = step.LayerNorm(blocks[k], gain, shift, Epsilon, $"gate_norm{k}");
        }
        string i = step.Apply("Sigmoid", gates[0]);
        string f = step.Apply("Sigmoid", ForgetBias == 0 ? gates[1] : step.Apply("Add", gates[1], step.Constant((float)ForgetBias, "forget_bias")));
        string g = step.Apply("Tanh", gates[2]);
        string o = step.Apply("Sigmoid", gates[3]);
        string next = step.LayerNorm(step.Apply("Add", step.Apply("Mul", f, state[0]), step.Apply("Mul", i, g)), cell_norm_weight, cell_norm_bias, Epsilon, "cell_norm");
        string h = step.Apply("Mul", o, step.Apply("Tanh", next));
        return (h, [next, h]);
    }
}
