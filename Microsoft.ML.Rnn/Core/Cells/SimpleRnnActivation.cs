namespace Microsoft.ML.Rnn;

/// <summary>The nonlinearity of a <see cref="Core.SimpleRnnCell"/>.</summary>
public enum SimpleRnnActivation
{
    /// <summary>tanh (TensorFlow's BasicRNNCell, PyTorch's default).</summary>
    Tanh,
    /// <summary>max(0, x).</summary>
    Relu,
}
