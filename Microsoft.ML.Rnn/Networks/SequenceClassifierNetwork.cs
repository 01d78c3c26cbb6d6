using Microsoft.ML.Rnn.Core;
using static TorchSharp.torch;

namespace Microsoft.ML.Rnn.Networks;

/// <summary>
/// Sequence classification: <see cref="SequenceEncoder"/>, pooling to (N, D*H), dropout, then a linear layer to
/// C class logits.
/// </summary>
/// <remarks>Input and lengths as for <see cref="SequenceEncoder.Encode(SequenceBatch, UnrollPath)"/>; output logits (N, C).</remarks>
public sealed class SequenceClassifierNetwork : PooledSequenceNetwork
{
    /// <summary>Creates the network around an encoder.</summary>
    /// <param name="encoder">The recurrent encoder.</param>
    /// <param name="classCount">C, at least 2.</param>
    /// <param name="pooling">How per-step outputs are reduced.</param>
    /// <param name="dropoutProbability">Dropout before the output layer, in [0, 1).</param>
    /// <param name="words">A linear path over the bag of tokens whose logits join the recurrent ones, or null.</param>
    public SequenceClassifierNetwork(SequenceEncoder encoder, long classCount, SequencePooling pooling = SequencePooling.LastState,
        double dropoutProbability = 0, WordBagPath? words = null)
        : base(nameof(SequenceClassifierNetwork), encoder, classCount >= 2 ? classCount
            : throw new ArgumentOutOfRangeException(nameof(classCount), classCount, "SequenceClassifierNetwork: at least 2 classes are needed."),
            pooling, dropoutProbability, words)
    {
        ClassCount = classCount;
    }

    /// <summary>C: number of classes.</summary>
    public long ClassCount { get; }

    /// <summary>Class logits (N, C).</summary>
    public Tensor Forward(Tensor input, Tensor? lengths = null, UnrollPath path = UnrollPath.Auto)
        => Forward(SequenceEncoder.Batch(input, lengths), path);

    /// <summary>Mean cross-entropy of the logits against 0-based labels (N) int64.</summary>
    public Tensor Loss(Tensor input, Tensor? lengths, Tensor labels)
    {
        using var scope = NewDisposeScope();
        return nn.functional.cross_entropy(Forward(input, lengths), labels).MoveToOuterDisposeScope();
    }
}
