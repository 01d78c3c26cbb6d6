using Microsoft.ML.Rnn.Core;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace HmLstm;

/// <summary>
/// One layer of the Hierarchical Multiscale LSTM (Chung, Ahn and Bengio, 2017), written as an ordinary
/// <see cref="RnnCell"/> from outside the library. Everything a layer needs besides its own state arrives in its
/// input, packed as <c>[h_below (B) | z_below (1) | h_above_previous (A)]</c>, so the cell contract is unchanged.
/// </summary>
/// <remarks>
/// State is (c, h, z): cell, hidden state and the binary boundary detector, each (N, H), (N, H), (N, 1).
/// With s = U_rec h_{t-1} + z_below · W_bu h_below + z_{t-1} · U_td h_above + b, the gates are
/// f, i, o = σ(s_f, s_i, s_o), g = tanh(s_g), z̃ = hard_sigmoid(slope · s_z), and z_t = round(z̃) with a
/// straight-through gradient. The operation depends on the boundaries:
/// FLUSH (z_{t-1} = 1): c = i·g; UPDATE (z_{t-1} = 0, z_below = 1): c = f·c + i·g;
/// COPY (z_{t-1} = 0, z_below = 0): c and h unchanged.
/// </remarks>
public sealed class HmLstmLayerCell : RnnCell
{
    private readonly long _below;
    private readonly long _above;
    private readonly long _hidden;
    private readonly Linear bottomUp;
    private readonly Linear recurrent;
    private readonly Linear? topDown;
    private readonly Parameter bias;

    /// <param name="belowSize">B: size of the layer below's hidden state (or of the input for the first layer).</param>
    /// <param name="hiddenSize">H: this layer's hidden size.</param>
    /// <param name="aboveSize">A: the layer above's hidden size; 0 for the top layer (no top-down connection).</param>
    public HmLstmLayerCell(long belowSize, long hiddenSize, long aboveSize) : base(nameof(HmLstmLayerCell))
    {
        _below = belowSize;
        _above = aboveSize;
        _hidden = hiddenSize;
        long gates = 4 * hiddenSize + 1;
        bottomUp = nn.Linear(belowSize, gates, hasBias: false);
        recurrent = nn.Linear(hiddenSize, gates, hasBias: false);
        topDown = aboveSize > 0 ? nn.Linear(aboveSize, gates, hasBias: false) : null;
        bias = nn.Parameter(zeros(gates));
        RegisterComponents();
    }

    /// <summary>Slope of the hard sigmoid of the boundary detector; annealed upwards during training.</summary>
    public double Slope { get; set; } = 1.0;

    /// <inheritdoc />
    public override long InputSize => _below + 1 + _above;

    /// <inheritdoc />
    public override IReadOnlyList<long> StateSizes => [_hidden, _hidden, 1];

    /// <inheritdoc />
    public override long OutputSize => _hidden;

    /// <inheritdoc />
    public override (Tensor Output, Tensor[] State) Step(Tensor input, IReadOnlyList<Tensor> state)
    {
        var hBelow = input.narrow(1, 0, _below);
        var zBelow = input.narrow(1, _below, 1);
        var (c, h, z) = (state[0], state[1], state[2]);

        var s = recurrent.forward(h) + zBelow * bottomUp.forward(hBelow) + bias;
        if (topDown is not null)
            s = s + z * topDown.forward(input.narrow(1, _below + 1, _above));

        var parts = s.split([_hidden, _hidden, _hidden, _hidden, 1], 1);
        var (f, i, o, g) = (parts[0].sigmoid(), parts[1].sigmoid(), parts[2].sigmoid(), parts[3].tanh());
        var zSoft = ((Slope * parts[4] + 1) / 2).clamp(0, 1);
        var zNew = zSoft + (zSoft.round() - zSoft).detach(); // straight-through estimator

        var flush = z;
        var update = (1 - z) * zBelow;
        var copy = (1 - z) * (1 - zBelow);
        var cNew = flush * (i * g) + update * (f * c + i * g) + copy * c;
        var hNew = copy * h + (1 - copy) * (o * cNew.tanh());
        return (hNew, [cNew, hNew, zNew]);
    }

    /// <summary>
    /// <see cref="Step"/> at inference in ONNX operators (for <see cref="HmLstmCell"/>'s <see cref="IOnnxStepCell"/>): the
    /// boundary is the rounded hard sigmoid — the straight-through estimator's forward value, a step function.
    /// </summary>
    /// <param name="hAbove">The layer above's previous hidden state, or null for the top layer.</param>
    public (string Output, string[] State) WriteOnnxStep(OnnxStep step, string hBelow, string zBelow, string? hAbove, IReadOnlyList<string> state)
    {
        var (c, h, z) = (state[0], state[1], state[2]);
        string s = step.Apply("Add", step.Linear(h, recurrent.weight!, bias, "recurrent"),
            step.Apply("Mul", zBelow, step.Linear(hBelow, bottomUp.weight!, null, "bottom_up")));
        if (topDown is not null)
            s = step.Apply("Add", s, step.Apply("Mul", z, step.Linear(hAbove!, topDown.weight!, null, "top_down")));
        var parts = step.Apply("Split", [s], 5, ("axis", 1L), ("split", new[] { _hidden, _hidden, _hidden, _hidden, 1L }));
        string f = step.Apply("Sigmoid", parts[0]), i = step.Apply("Sigmoid", parts[1]), o = step.Apply("Sigmoid", parts[2]), g = step.Apply("Tanh", parts[3]);
        string half = step.Constant(0.5f, "half"), one = step.Constant(1f, "one");
        string zSoft = step.Apply("Clip", step.Apply("Add", step.Apply("Mul", parts[4], step.Constant((float)Slope / 2, "half_slope")), half),
            step.Constant(0f, "zero"), one);
        string zNew = step.Apply("Round", zSoft);

        string notZ = step.Apply("Sub", one, z);
        string update = step.Apply("Mul", notZ, zBelow);
        string copy = step.Apply("Mul", notZ, step.Apply("Sub", one, zBelow));
        string ig = step.Apply("Mul", i, g);
        string cNew = step.Apply("Add", step.Apply("Add", step.Apply("Mul", z, ig), step.Apply("Mul", update, step.Apply("Add", step.Apply("Mul", f, c), ig))),
            step.Apply("Mul", copy, c));
        string hNew = step.Apply("Add", step.Apply("Mul", copy, h), step.Apply("Mul", step.Apply("Sub", one, copy), step.Apply("Mul", o, step.Apply("Tanh", cNew))));
        return (hNew, [cNew, hNew, zNew]);
    }
}
