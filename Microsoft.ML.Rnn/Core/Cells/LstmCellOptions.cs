namespace Microsoft.ML.Rnn;

/// <summary>Options of an <see cref="Core.LstmCell"/>, those of TensorFlow 1.x's LSTMCell.</summary>
/// <remarks>
/// The defaults give the standard LSTM that libtorch's fused nn.LSTM computes. Any other value makes the cell run
/// step by step (<see cref="Core.LstmCell.FuseBlocker"/> names the option responsible).
/// </remarks>
public sealed record LstmCellOptions
{
    /// <summary>
    /// Added to the forget gate pre-activation at run time (not folded into a bias parameter). Default 0 so the
    /// default cell stays fusable; TensorFlow 1.x's LSTMCell default is 1.0 (set it for TF parity).
    /// </summary>
    public double ForgetBias { get; init; }

    /// <summary>Diagonal peephole connections from c to the i, f (previous c) and o (new c) gates.</summary>
    public bool UsePeepholes { get; init; }

    /// <summary>If set (positive), the new cell state is clipped to [-CellClip, CellClip] before the output activation.</summary>
    public double? CellClip { get; init; }

    /// <summary>
    /// If set (at least 1), the output m = o * tanh(c) is projected by a (NumProj, H) matrix without bias; the output
    /// and the h state then have size NumProj (state sizes (H, NumProj)).
    /// </summary>
    public long? NumProj { get; init; }

    /// <summary>If set (positive; requires <see cref="NumProj"/>), the projected output is clipped to [-ProjClip, ProjClip].</summary>
    public double? ProjClip { get; init; }
}
