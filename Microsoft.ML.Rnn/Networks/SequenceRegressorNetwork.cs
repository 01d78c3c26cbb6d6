using Microsoft.ML.Rnn.Core;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Microsoft.ML.Rnn.Networks;

/// <summary>
/// Sequence regression: <see cref="SequenceEncoder"/>, pooling to (N, D*H), dropout, then a linear layer to K values
/// (one target, or a forecast horizon of K steps), in the units the network is trained in (the component standardises
/// its targets).
/// </summary>
/// <remarks>Input and lengths as for <see cref="SequenceEncoder.Encode(SequenceBatch, UnrollPath)"/>; output (N, K).</remarks>
public sealed class SequenceRegressorNetwork : nn.Module
{
    private readonly SequenceEncoder encoder;
    private readonly Dropout dropout;
    private readonly double dropoutProbability;
    private readonly Linear output;

    /// <summary>Creates the network around an encoder.</summary>
    /// <param name="encoder">The recurrent encoder.</param>
    /// <param name="outputs">K, at least 1.</param>
    /// <param name="pooling">How per-step outputs are reduced.</param>
    /// <param name="dropoutProbability">Dropout before the output layer, in [0, 1).</param>
    public SequenceRegressorNetwork(SequenceEncoder encoder, long outputs, SequencePooling pooling = SequencePooling.LastState,
        double dropoutProbability = 0) : base(nameof(SequenceRegressorNetwork))
    {
        ArgumentNullException.ThrowIfNull(encoder);
        ArgumentOutOfRangeException.ThrowIfLessThan(outputs, 1);
        if (!(dropoutProbability >= 0 && dropoutProbability < 1))
            throw new ArgumentOutOfRangeException(nameof(dropoutProbability), dropoutProbability, "SequenceRegressorNetwork: dropout must be in [0, 1).");
        this.encoder = encoder;
        dropout = nn.Dropout(dropoutProbability);
        this.dropoutProbability = dropoutProbability;
        output = nn.Linear(encoder.OutputSize, outputs);
        Outputs = outputs;
        Pooling = pooling;
        RegisterComponents();
    }

    /// <summary>The recurrent encoder.</summary>
    public SequenceEncoder Encoder => encoder;

    /// <summary>K: values predicted per sequence.</summary>
    public long Outputs { get; }

    /// <summary>How per-step outputs are reduced before the output layer.</summary>
    public SequencePooling Pooling { get; }

    /// <summary>The predicted values (N, K) of a batch.</summary>
    public Tensor Forward(SequenceBatch input, UnrollPath path = UnrollPath.Auto)
    {
        using var scope = NewDisposeScope();
        var pooled = SequenceEncoder.Pool(encoder.Encode(input, path), Pooling);
        var features = training && dropoutProbability > 0 ? dropout.call(pooled) : pooled;
        return output.call(features).MoveToOuterDisposeScope();
    }
}
