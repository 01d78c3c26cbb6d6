using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Microsoft.ML.Rnn.Core;

/// <summary>
/// Long short-term memory cell with TensorFlow 1.x LSTMCell's options. State (c, h); gates in PyTorch order i, f, g, o:
/// <code>
/// [i f g o] = W_ih x + b_ih + W_hh h + b_hh
/// i' = sigmoid(i + w_ci * c)                    (w_ci * c only with peepholes)
/// f' = sigmoid(f + forget_bias + w_cf * c)      (w_cf * c only with peepholes)
/// c' = clip(f' * c + i' * tanh(g), CellClip)    (clip only when CellClip is set)
/// o' = sigmoid(o + w_co * c')                   (peephole on the NEW cell state, as in TF)
/// m  = o' * tanh(c')
/// h' = clip(W_proj m, ProjClip)                 (only with NumProj; otherwise h' = m)
/// </code>
/// The output is h'. State sizes are (H, H), or (H, NumProj) with a projection; H_out = NumProj ?? H.
/// </summary>
/// <remarks>
/// Parameters (PyTorch layout): weight_ih (4H, H_in), weight_hh (4H, H_out), bias_ih (4H), bias_hh (4H); with
/// peepholes weight_ci, weight_cf, weight_co (H); with a projection weight_proj (NumProj, H). With default options
/// the parameters live inside a native nn.LSTM and the cell is fusable; otherwise they are managed Parameters with
/// the same layout and PyTorch's initialisation uniform(-1/sqrt(H), 1/sqrt(H)).
/// </remarks>
public sealed class LstmCell : GatedRnnCell
{
    /// <summary>The gates in row order (<see cref="GatedRnnCell.Gates"/>).</summary>
    public const string GateLayout = "ifgo";

    private readonly long[] _stateSizes;
    // Field names equal the registered names so that Module.to() rebinds them after moving the parameters.
#pragma warning disable IDE1006
    private Parameter? weight_ci, weight_cf, weight_co, weight_proj;
#pragma warning restore IDE1006

    /// <summary>Creates the cell.</summary>
    /// <param name="inputSize">H_in, at least 1.</param>
    /// <param name="hiddenSize">H (cell state size), at least 1.</param>
    /// <param name="options">TensorFlow LSTMCell options; null for the standard (fusable) LSTM.</param>
    /// <param name="device">Device of the parameters (CPU by default).</param>
    /// <param name="dtype">Element type of the parameters (the default dtype by default).</param>
    public LstmCell(long inputSize, long hiddenSize, LstmCellOptions? options = null, Device? device = null, ScalarType? dtype = null)
        : base(nameof(LstmCell), inputSize, hiddenSize, GateLayout)
    {
        options ??= new LstmCellOptions();
        if (options.CellClip is { } cc && !(cc > 0))
            throw new ArgumentOutOfRangeException(nameof(options), $"LstmCell: CellClip must be positive, got {cc}");
        if (options.NumProj is { } np && np < 1)
            throw new ArgumentOutOfRangeException(nameof(options), $"LstmCell: NumProj must be at least 1, got {np}");
        if (options.ProjClip is { } pc)
        {
            if (!(pc > 0))
                throw new ArgumentOutOfRangeException(nameof(options), $"LstmCell: ProjClip must be positive, got {pc}");
            if (options.NumProj is null)
                throw new ArgumentException("LstmCell: ProjClip requires NumProj", nameof(options));
        }
        if (double.IsNaN(options.ForgetBias) || double.IsInfinity(options.ForgetBias))
            throw new ArgumentOutOfRangeException(nameof(options), $"LstmCell: ForgetBias must be finite, got {options.ForgetBias}");

        Options = options;
        OutputSize = options.NumProj ?? hiddenSize;
        _stateSizes = [hiddenSize, OutputSize];

        if (Blocker(options) is null)
        {
            UseFusedKernel(FusedKernelKind.Lstm, device, dtype);
            return;
        }

        CreateWeights(OutputSize, biases: true, device, dtype);
        if (options.UsePeepholes)
        {
            weight_ci = ParameterInit.Uniform([hiddenSize], hiddenSize, device, dtype);
            weight_cf = ParameterInit.Uniform([hiddenSize], hiddenSize, device, dtype);
            weight_co = ParameterInit.Uniform([hiddenSize], hiddenSize, device, dtype);
            register_parameter(nameof(weight_ci), weight_ci);
            register_parameter(nameof(weight_cf), weight_cf);
            register_parameter(nameof(weight_co), weight_co);
        }
        if (options.NumProj is { } p)
        {
            weight_proj = ParameterInit.Uniform([p, hiddenSize], hiddenSize, device, dtype);
            register_parameter(nameof(weight_proj), weight_proj);
        }
    }

    private static string? Blocker(LstmCellOptions o)
    {
        var reasons = new List<string>();
        if (o.ForgetBias != 0) reasons.Add($"ForgetBias = {o.ForgetBias} (the fused kernel has no run-time forget bias)");
        if (o.UsePeepholes) reasons.Add("UsePeepholes (the fused kernel has no peepholes)");
        if (o.CellClip is not null) reasons.Add("CellClip (the fused kernel does not clip the cell state)");
        if (o.NumProj is not null) reasons.Add("NumProj (TorchSharp's fused LSTM has no projection)");
        return reasons.Count == 0 ? null : "options block the fused kernel: " + string.Join("; ", reasons);
    }

    /// <summary>The options the cell was built with.</summary>
    public LstmCellOptions Options { get; }

    /// <inheritdoc/>
    public override IReadOnlyList<long> StateSizes => _stateSizes;

    /// <inheritdoc/>
    public override long OutputSize { get; }

    /// <summary>(H) peephole from the previous c to the input gate; null without peepholes.</summary>
    public Parameter? PeepholeInput => weight_ci;

    /// <summary>(H) peephole from the previous c to the forget gate; null without peepholes.</summary>
    public Parameter? PeepholeForget => weight_cf;

    /// <summary>(H) peephole from the new c to the output gate; null without peepholes.</summary>
    public Parameter? PeepholeOutput => weight_co;

    /// <summary>(NumProj, H) output projection; null without NumProj.</summary>
    public Parameter? ProjectionWeight => weight_proj;

    /// <inheritdoc/>
    public override (Tensor Output, Tensor[] State) Step(Tensor input, IReadOnlyList<Tensor> state) => StepViaPrepared(input, state);

    /// <summary>The input projection of every step at once: <c>W_ih x_t + b_ih + b_hh</c>, (N, L, 4H).</summary>
    public override Tensor PrepareInputs(Tensor inputs)
    {
        using var bias = BiasIh!.Plus(BiasHh!);
        return F.linear(inputs, WeightIh, bias);
    }

    /// <inheritdoc/>
    public override (Tensor Output, Tensor[] State) StepPrepared(Tensor prepared, IReadOnlyList<Tensor> state)
    {
        using var scope = NewDisposeScope();
        var c = state[0];
        var gates = F.linear(state[1], WeightHh, prepared);
        Tensor next, m;
        if (Kernel is not null)
        {
            // Standard LSTM, in the fewest libtorch calls: one sigmoid over all four gates (g's is unused).
            var act = gates.sigmoid().chunk(4, 1);
            var g = gates.narrow(1, 2 * HiddenSize, HiddenSize).tanh();
            next = (act[1] * c).addcmul_(act[0], g, KeptScalars.One);
            m = act[3] * next.tanh();
        }
        else
        {
            (next, m) = OptionalFeatures(gates.chunk(4, 1), c);
        }
        next.MoveToOuterDisposeScope();
        m.MoveToOuterDisposeScope();
        return (m, [next, m]);
    }

    /// <summary>The gate math with TensorFlow's options (peepholes, forget bias, clipping, projection).</summary>
    private (Tensor Next, Tensor M) OptionalFeatures(Tensor[] gates, Tensor c)
    {
        Tensor i = gates[0], f = gates[1], g = gates[2], o = gates[3];
        if (weight_ci is not null)
        {
            i = i.Plus(weight_ci * c);
            f = f.Plus(weight_cf! * c);
        }
        if (Options.ForgetBias != 0)
        {
            using var forgetBias = Options.ForgetBias.ToScalar();
            f = f.Plus(forgetBias);
        }
        var next = (sigmoid(f) * c).Plus(sigmoid(i) * tanh(g));
        if (Options.CellClip is { } cc)
        {
            using Scalar low = (-cc).ToScalar(), high = cc.ToScalar();
            next = next.clamp(low, high);
        }
        if (weight_co is not null)
            o = o.Plus(weight_co * next);
        var m = sigmoid(o) * tanh(next);
        if (weight_proj is not null)
        {
            m = F.linear(m, weight_proj);
            if (Options.ProjClip is { } pc)
            {
                using Scalar low = (-pc).ToScalar(), high = pc.ToScalar();
                m = m.clamp(low, high);
            }
        }
        return (next, m);
    }

    /// <inheritdoc/>
    public override string FuseBlocker => Blocker(Options) ?? "";

    /// <summary>
    /// ONNX's <c>LSTM</c> (gates i, o, f, c; the forget bias folded into the input bias; peepholes i, o, f as its P),
    /// or null with <c>CellClip</c> (ONNX's clip bounds the gates' inputs, not the cell state) or a projection (it has none).
    /// </summary>
    internal override OnnxRecurrentOperator? OnnxOperator()
    {
        if (Options.CellClip is not null || Options.NumProj is not null)
            return null;
        const string onnxGates = "iofg";
        var inputBias = OnnxGateOrder(BiasIh!, onnxGates);
        if (Options.ForgetBias != 0)
        {
            using var forgetBias = Options.ForgetBias.ToScalar();
            inputBias.narrow(0, 2 * HiddenSize, HiddenSize).add_(forgetBias, KeptScalars.One);   // the forget block is third in ONNX (a copy: cat made it)
        }
        var peepholes = weight_ci is null ? null : cat([weight_ci.detach(), weight_co!.detach(), weight_cf!.detach()]);
        return new OnnxRecurrentOperator("LSTM", HiddenSize, OnnxGateOrder(WeightIh, onnxGates), OnnxGateOrder(WeightHh, onnxGates),
            cat([inputBias, OnnxGateOrder(BiasHh!, onnxGates)]), peepholes);
    }

    /// <summary>The step with every option, as <see cref="OptionalFeatures"/> computes it; state (c, h).</summary>
    public override (string Output, string[] State) WriteOnnxStepPrepared(OnnxStep step, string prepared, IReadOnlyList<string> state)
    {
        string c = state[0];
        var gates = OnnxGateBlocks(step, prepared, state[1]);
        string i = gates[0], f = gates[1], g = gates[2], o = gates[3];
        if (weight_ci is not null)
        {
            i = step.Apply("Add", i, step.Apply("Mul", step.Weight(weight_ci, "peephole_input"), c));
            f = step.Apply("Add", f, step.Apply("Mul", step.Weight(weight_cf!, "peephole_forget"), c));
        }
        if (Options.ForgetBias != 0)
            f = step.Apply("Add", f, step.Constant((float)Options.ForgetBias, "forget_bias"));
        string next = step.Apply("Add", step.Apply("Mul", step.Apply("Sigmoid", f), c), step.Apply("Mul", step.Apply("Sigmoid", i), step.Apply("Tanh", g)));
        if (Options.CellClip is { } cellClip)
            next = step.Clip(next, cellClip, "cell_clip");
        if (weight_co is not null)
            o = step.Apply("Add", o, step.Apply("Mul", step.Weight(weight_co, "peephole_output"), next));
        string m = step.Apply("Mul", step.Apply("Sigmoid", o), step.Apply("Tanh", next));
        if (weight_proj is not null)
        {
            m = step.Linear(m, weight_proj, null, "projection");
            if (Options.ProjClip is { } projClip)
                m = step.Clip(m, projClip, "projection_clip");
        }
        return (m, [next, m]);
    }

    /// <inheritdoc/>
    public override Tensor ForwardFusedOutputs(SequenceBatch inputs, IReadOnlyList<Tensor> initialState)
    {
        if (Kernel is null)
            return base.ForwardFusedOutputs(inputs, initialState);
        CellChecks.CheckSequence(this, inputs, initialState);
        return Kernel.Forward(inputs, initialState, finalState: false).Outputs;
    }
}
