using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Microsoft.ML.Rnn.Core;

/// <summary>
/// Gated recurrent unit. State (h), output h', all of size H. With gates in PyTorch order r, z, n:
/// <code>
/// r  = sigmoid(W_ir x + b_ir + W_hr h + b_hr)
/// z  = sigmoid(W_iz x + b_iz + W_hz h + b_hz)
/// n  = tanh(W_in x + b_in + r * (W_hn h + b_hn))     (AfterRecurrentMatmul)
/// n  = tanh(W_in x + b_in + W_hn (r * h) + b_hn)     (BeforeRecurrentMatmul)
/// h' = (1 - z) * n + z * h
/// </code>
/// </summary>
/// <remarks>
/// Parameters (PyTorch layout, rows r, z, n): weight_ih (3H, H_in), weight_hh (3H, H), bias_ih (3H), bias_hh (3H).
/// The AfterRecurrentMatmul variant keeps them inside a native nn.GRU and is fusable; the BeforeRecurrentMatmul
/// variant owns managed parameters with the same layout and initialisation.
/// </remarks>
public sealed class GruCell : GatedRnnCell
{
    /// <summary>The gates in row order (<see cref="GatedRnnCell.Gates"/>).</summary>
    public const string GateLayout = "rzn";

    private readonly long[] _stateSizes;

    /// <summary>Creates the cell with PyTorch's initialisation uniform(-1/sqrt(H), 1/sqrt(H)).</summary>
    /// <param name="inputSize">H_in, at least 1.</param>
    /// <param name="hiddenSize">H, at least 1.</param>
    /// <param name="resetGate">Where the reset gate applies; AfterRecurrentMatmul (the default) is fusable.</param>
    /// <param name="device">Device of the parameters (CPU by default).</param>
    /// <param name="dtype">Element type of the parameters (the default dtype by default).</param>
    public GruCell(long inputSize, long hiddenSize, GruResetGate resetGate = GruResetGate.AfterRecurrentMatmul,
        Device? device = null, ScalarType? dtype = null) : base(nameof(GruCell), inputSize, hiddenSize, GateLayout)
    {
        ResetGate = resetGate;
        _stateSizes = [hiddenSize];
        if (resetGate == GruResetGate.AfterRecurrentMatmul)
            UseFusedKernel(FusedKernelKind.Gru, device, dtype);
        else
            CreateWeights(hiddenSize, biases: true, device, dtype);
    }

    /// <summary>Where the reset gate applies.</summary>
    public GruResetGate ResetGate { get; }

    /// <inheritdoc/>
    public override IReadOnlyList<long> StateSizes => _stateSizes;

    /// <inheritdoc/>
    public override long OutputSize => HiddenSize;

    /// <inheritdoc/>
    public override (Tensor Output, Tensor[] State) Step(Tensor input, IReadOnlyList<Tensor> state) => StepViaPrepared(input, state);

    /// <summary>The input projection of every step at once: <c>W_ih x_t + b_ih</c>, (N, L, 3H).</summary>
    public override Tensor PrepareInputs(Tensor inputs) => F.linear(inputs, WeightIh, BiasIh);

    /// <inheritdoc/>
    public override (Tensor Output, Tensor[] State) StepPrepared(Tensor prepared, IReadOnlyList<Tensor> state)
    {
        using var scope = NewDisposeScope();
        long hs = HiddenSize;
        var h = state[0];
        var wHh = WeightHh;
        var bHh = BiasHh!;
        var gi = prepared.chunk(3, 1);
        Tensor r, z, cand;
        if (ResetGate == GruResetGate.AfterRecurrentMatmul)
        {
            var gh = F.linear(h, wHh, bHh).chunk(3, 1);
            r = sigmoid(gi[0].Plus(gh[0]));
            z = sigmoid(gi[1].Plus(gh[1]));
            cand = tanh(gi[2].Plus(r * gh[2]));
        }
        else
        {
            var ghRz = F.linear(h, wHh.narrow(0, 0, 2 * hs), bHh.narrow(0, 0, 2 * hs)).chunk(2, 1);
            r = sigmoid(gi[0].Plus(ghRz[0]));
            z = sigmoid(gi[1].Plus(ghRz[1]));
            cand = tanh(gi[2].Plus(F.linear(r * h, wHh.narrow(0, 2 * hs, hs), bHh.narrow(0, 2 * hs, hs))));
        }
        // (1 - z) * n + z * h, written with one fewer temporary.
        var next = cand.Plus(z * (h - cand)).MoveToOuterDisposeScope();
        return (next, [next]);
    }

    /// <inheritdoc/>
    public override string FuseBlocker => CanFuse ? ""
        : "the reset gate is applied before the recurrent matmul (TensorFlow 1.x GRUCell), which no fused kernel computes; use GruResetGate.AfterRecurrentMatmul";

    /// <summary>ONNX's <c>GRU</c> (gates z, r, h), either reset gate: <c>linear_before_reset</c> 1 is the reset-after variant.</summary>
    internal override OnnxRecurrentOperator OnnxOperator()
    {
        const string onnxGates = "zrn";
        return new OnnxRecurrentOperator("GRU", HiddenSize, OnnxGateOrder(WeightIh, onnxGates), OnnxGateOrder(WeightHh, onnxGates),
            cat([OnnxGateOrder(BiasIh!, onnxGates), OnnxGateOrder(BiasHh!, onnxGates)]), null,
            LinearBeforeReset: ResetGate == GruResetGate.AfterRecurrentMatmul ? 1 : 0);
    }

    /// <summary>The step with either reset gate, as <see cref="StepPrepared"/> computes it; state (h).</summary>
    public override (string Output, string[] State) WriteOnnxStepPrepared(OnnxStep step, string prepared, IReadOnlyList<string> state)
    {
        long hs = HiddenSize;
        string h = state[0];
        var gi = step.Split(prepared, 3);
        string r, z, cand;
        using (var wHh = WeightHh.detach())
        using (var bHh = BiasHh!.detach())
        {
            if (ResetGate == GruResetGate.AfterRecurrentMatmul)
            {
                var gh = step.Split(step.Linear(h, wHh, bHh, "recurrent"), 3);
                r = step.Apply("Sigmoid", step.Apply("Add", gi[0], gh[0]));
                z = step.Apply("Sigmoid", step.Apply("Add", gi[1], gh[1]));
                cand = step.Apply("Tanh", step.Apply("Add", gi[2], step.Apply("Mul", r, gh[2])));
            }
            else
            {
                using var wRz = wHh.narrow(0, 0, 2 * hs);
                using var bRz = bHh.narrow(0, 0, 2 * hs);
                using var wN = wHh.narrow(0, 2 * hs, hs);
                using var bN = bHh.narrow(0, 2 * hs, hs);
                var gh = step.Split(step.Linear(h, wRz, bRz, "recurrent"), 2);
                r = step.Apply("Sigmoid", step.Apply("Add", gi[0], gh[0]));
                z = step.Apply("Sigmoid", step.Apply("Add", gi[1], gh[1]));
                cand = step.Apply("Tanh", step.Apply("Add", gi[2], step.Linear(step.Apply("Mul", r, h), wN, bN, "candidate")));
            }
        }
        string next = step.Apply("Add", cand, step.Apply("Mul", z, step.Apply("Sub", h, cand)));    // (1 - z) * n + z * h
        return (next, [next]);
    }

}
