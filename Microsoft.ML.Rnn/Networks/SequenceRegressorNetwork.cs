using Microsoft.ML.Rnn.Core;

namespace Microsoft.ML.Rnn.Networks;

/// <summary>
/// Sequence regression: <see cref="SequenceEncoder"/>, pooling to (N, D*H), dropout, then a linear layer to K values
/// (one target, or a forecast horizon of K steps), in the units the network is trained in (the component standardises
/// its targets).
/// </summary>
/// <remarks>Input and lengths as for <see cref="SequenceEncoder.Encode(SequenceBatch, UnrollPath)"/>; output (N, K).</remarks>
public sealed class SequenceRegressorNetwork : PooledSequenceNetwork
{
    /// <summary>Creates the network around an encoder.</summary>
    /// <param name="encoder">The recurrent encoder.</param>
    /// <param name="outputs">K, at least 1.</param>
    /// <param name="pooling">How per-step outputs are reduced.</param>
    /// <param name="dropoutProbability">Dropout before the output layer, in [0, 1).</param>
    public SequenceRegressorNetwork(SequenceEncoder encoder, long outputs, SequencePooling pooling = SequencePooling.LastState,
        double dropoutProbability = 0)
        : base(nameof(SequenceRegressorNetwork), encoder, outputs >= 1 ? outputs
            : throw new ArgumentOutOfRangeException(nameof(outputs), outputs, "SequenceRegressorNetwork: at least 1 output is needed."),
            pooling, dropoutProbability)
    {
        Outputs = outputs;
    }

    /// <summary>K: values predicted per sequence.</summary>
    public long Outputs { get; }
}
