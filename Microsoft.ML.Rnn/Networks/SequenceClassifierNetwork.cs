using Microsoft.ML.Rnn.Core;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Microsoft.ML.Rnn.Networks;

/// <summary>
/// Sequence classification: <see cref="SequenceEncoder"/>, pooling to (N, D*H), dropout, then a linear layer to
/// C class logits.
/// </summary>
/// <remarks>Input and lengths as for <see cref="SequenceEncoder.Encode(SequenceBatch, UnrollPath)"/>; output logits (N, C).</remarks>
public sealed class SequenceClassifierNetwork : nn.Module
{
    private readonly SequenceEncoder encoder;
    private readonly Dropout dropout;
    private readonly double dropoutProbability;
    private readonly Linear output;

    /// <summary>Creates the network around an encoder.</summary>
    /// <param name="encoder">The recurrent encoder.</param>
    /// <param name="classCount">C, at least 2.</param>
    /// <param name="pooling">How per-step outputs are reduced.</param>
    /// <param name="dropoutProbability">Dropout before the output layer, in [0, 1).</param>
    public SequenceClassifierNetwork(SequenceEncoder encoder, long classCount, SequencePooling pooling = SequencePooling.LastState,
        double dropoutProbability = 0) : base(nameof(SequenceClassifierNetwork))
    {
        ArgumentNullException.ThrowIfNull(encoder);
        if (classCount < 2)
            throw new ArgumentOutOfRangeException(nameof(classCount), classCount, "SequenceClassifierNetwork: at least 2 classes are needed.");
        if (!(dropoutProbability >= 0 && dropoutProbability < 1))
            throw new ArgumentOutOfRangeException(nameof(dropoutProbability), dropoutProbability, "SequenceClassifierNetwork: dropout must be in [0, 1).");
        this.encoder = encoder;
        dropout = nn.Dropout(dropoutProbability);
        this.dropoutProbability = dropoutProbability;
        output = nn.Linear(encoder.OutputSize, classCount);
        ClassCount = classCount;
        Pooling = pooling;
        RegisterComponents();
    }

    /// <summary>The recurrent encoder.</summary>
    public SequenceEncoder Encoder => encoder;

    /// <summary>C: number of classes.</summary>
    public long ClassCount { get; }

    /// <summary>How per-step outputs are reduced before the output layer.</summary>
    public SequencePooling Pooling { get; }

    /// <summary>Class logits (N, C).</summary>
    public Tensor Forward(Tensor input, Tensor? lengths = null, UnrollPath path = UnrollPath.Auto)
        => Forward(SequenceEncoder.Batch(input, lengths), path);

    /// <summary>Class logits (N, C) of a batch.</summary>
    public Tensor Forward(SequenceBatch input, UnrollPath path = UnrollPath.Auto)
    {
        using var scope = NewDisposeScope();
        var pooled = SequenceEncoder.Pool(encoder.Encode(input, path), Pooling);
        // Dropout is the identity when scoring (or at probability 0): skip the call, one of few per scored row.
        var features = training && dropoutProbability > 0 ? dropout.call(pooled) : pooled;
        return output.call(features).MoveToOuterDisposeScope();
    }

    /// <summary>Mean cross-entropy of the logits against 0-based labels (N) int64.</summary>
    public Tensor Loss(Tensor input, Tensor? lengths, Tensor labels)
    {
        using var scope = NewDisposeScope();
        return nn.functional.cross_entropy(Forward(input, lengths), labels).MoveToOuterDisposeScope();
    }
}
