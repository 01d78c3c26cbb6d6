namespace Microsoft.ML.Rnn;

/// <summary>Where a <see cref="Core.GruCell"/> applies its reset gate. Both variants are in wide use and give different results.</summary>
public enum GruResetGate
{
    /// <summary>
    /// r multiplies the previous state before the recurrent matmul: <c>n = tanh(W_in x + b_in + W_hn (r * h) + b_hn)</c>.
    /// This is TensorFlow 1.x's GRUCell (and Keras with reset_after=False). Not fusable.
    /// </summary>
    BeforeRecurrentMatmul,

    /// <summary>
    /// r multiplies the result of the recurrent matmul: <c>n = tanh(W_in x + b_in + r * (W_hn h + b_hn))</c>.
    /// This is cuDNN's, PyTorch's nn.GRU/GRUCell and Keras's reset_after=True. Fusable (libtorch nn.GRU).
    /// </summary>
    AfterRecurrentMatmul,
}
