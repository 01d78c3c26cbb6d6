namespace Microsoft.ML.Rnn;

/// <summary>How the built-in cells' weights start.</summary>
public enum RecurrentInitialization
{
    /// <summary>PyTorch's: every weight and bias uniform in ±1/sqrt(H) (what the cells do when built).</summary>
    PyTorch,

    /// <summary>
    /// Keras': input weights Glorot-uniform, recurrent weights orthogonal, biases zero, and an LSTM's forget-gate bias 1
    /// (Keras' <c>unit_forget_bias</c>, after Jozefowicz et al. 2015: the cell state is kept by default at the start).
    /// </summary>
    Keras,
}
