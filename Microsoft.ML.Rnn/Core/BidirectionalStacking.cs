namespace Microsoft.ML.Rnn;

/// <summary>How the layers of a stacked bidirectional network connect.</summary>
public enum BidirectionalStacking
{
    /// <summary>
    /// Every layer reads both directions of the layer below (TensorFlow 1.x's <c>stack_bidirectional_dynamic_rnn</c>,
    /// PyTorch's <c>nn.LSTM(bidirectional=True, num_layers=n)</c>). The default.
    /// </summary>
    LayerByLayer,

    /// <summary>
    /// Each direction is one multi-layer cell of its own: the backward layers read only backward outputs, and the two
    /// directions meet in the last layer's concatenated outputs (TensorFlow 1.x's <c>bidirectional_dynamic_rnn</c> over
    /// two <c>MultiRNNCell</c>s). Deeper layers read H features instead of 2·H.
    /// </summary>
    PerDirection,
}
