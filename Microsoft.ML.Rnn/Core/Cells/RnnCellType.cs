namespace Microsoft.ML.Rnn;

/// <summary>The built-in recurrent cell kinds a network can be made of.</summary>
public enum RnnCellType
{
    /// <summary>Long short-term memory (state (c, h)).</summary>
    Lstm,
    /// <summary>Gated recurrent unit (state h).</summary>
    Gru,
    /// <summary>Elman network with tanh (state h).</summary>
    SimpleRnn,
}
