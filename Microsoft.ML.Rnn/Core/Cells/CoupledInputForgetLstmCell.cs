using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Microsoft.ML.Rnn.Core;

/// <summary>
/// LSTM with coupled input and forget gates (CIFG, Greff et al. 2015): there is no separate forget gate, f = 1 - i.
/// State (c, h) of sizes (H, H); gates in order i, g, o:
/// <code>
/// [i g o] = W_ih x + b_ih + W_hh h + b_hh
/// i' = sigmoid(i)
/// c' = (1 - i') * c + i' * tanh(g)
/// h' = sigmoid(o) * tanh(c')
/// </code>
/// The output is h'. Not fusable.
/// </summary>
/// <remarks>
/// Parameters: weight_ih (3H, H_in), weight_hh (3H, H), bias_ih (3H), bias_hh (3H), rows i, g, o, initialised
/// uniform(-1/sqrt(H), 1/sqrt(H)) from torch's global generator.
/// TensorFlow 1.x's CoupledInputForgetGateLSTMCell computes the same family but learns the forget gate instead
/// (gates j, f, o; i = 1 - f; forget_bias 1.0 by default, optional peepholes/projection): since
/// 1 - sigmoid(a) = sigmoid(-a), its weights map to these by negating its f rows (and its forget_bias) into the i rows.
/// </remarks>
public sealed class CoupledInputForgetLstmCell : GatedRnnCell
{
    /// <summary>The gates in row order (<see cref="GatedRnnCell.Gates"/>).</summary>
    public const string GateLayout = "igo";

    private readonly long[] _stateSizes;

    /// <summary>Creates the cell.</summary>
    /// <param name="inputSize">H_in, at least 1.</param>
    /// <param name="hiddenSize">H, at least 1.</param>
    /// <param name="device">Device of the parameters (CPU by default).</param>
    /// <param name="dtype">Element type of the parameters (the default dtype by default).</param>
    public CoupledInputForgetLstmCell(long inputSize, long hiddenSize, Device? device = null, ScalarType? dtype = null)
        : base(nameof(CoupledInputForgetLstmCell), inputSize, hiddenSize, GateLayout)
    {
        _stateSizes = [hiddenSize, hiddenSize];
        CreateWeights(hiddenSize, biases: true, device, dtype);
    }

    /// <inheritdoc/>
    public override IReadOnlyList<long> StateSizes => _stateSizes;

    /// <inheritdoc/>
    public override long OutputSize => HiddenSize;

    /// <inheritdoc/>
    public override (Tensor Output, Tensor[] State) Step(Tensor input, IReadOnlyList<Tensor> state) => StepViaPrepared(input, state);

    /// <summary>The input projection of every step at once: <c>W_ih x_t + b_ih + b_hh</c>, (N, L, 3H).</summary>
    public override Tensor PrepareInputs(Tensor inputs)
    {
        using var bias = bias_ih!.Plus(bias_hh!);
        return F.linear(inputs, weight_ih!, bias);
    }

    /// <inheritdoc/>
    public override (Tensor Output, Tensor[] State) StepPrepared(Tensor prepared, IReadOnlyList<Tensor> state)
    {
        using var scope = NewDisposeScope();
        var c = state[0];
        var gates = F.linear(state[1], weight_hh!, prepared).chunk(3, 1);
        var i = sigmoid(gates[0]);
        var next = c.Plus(i * (tanh(gates[1]) - c)); // (1 - i) * c + i * tanh(g)
        var h = sigmoid(gates[2]) * tanh(next);
        return (h.MoveToOuterDisposeScope(), [next.MoveToOuterDisposeScope(), h]);
    }

    /// <inheritdoc/>
    public override string FuseBlocker => "no fused kernel couples the input and forget gates";

    /// <summary>The step as <see cref="StepPrepared"/> computes it; state (c, h).</summary>
    public override (string Output, string[] State) WriteOnnxStepPrepared(OnnxStep step, string prepared, IReadOnlyList<string> state)
    {
        string c = state[0];
        var gates = OnnxGateBlocks(step, prepared, state[1]);
        string i = step.Apply("Sigmoid", gates[0]);
        string next = step.Apply("Add", c, step.Apply("Mul", i, step.Apply("Sub", step.Apply("Tanh", gates[1]), c)));
        string h = step.Apply("Mul", step.Apply("Sigmoid", gates[2]), step.Apply("Tanh", next));
        return (h, [next, h]);
    }
}
