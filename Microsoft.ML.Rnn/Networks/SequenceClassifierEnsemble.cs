using Microsoft.ML.Rnn.Core;
using static TorchSharp.torch;

namespace Microsoft.ML.Rnn.Networks;

/// <summary>
/// Several <see cref="SequenceClassifierNetwork"/>s of one shape, trained apart, scored together: the class
/// probabilities are the mean of the members' (a deep ensemble; see <see cref="NetworkEnsemble{TMember}"/>).
/// </summary>
public sealed class SequenceClassifierEnsemble : NetworkEnsemble<SequenceClassifierNetwork>
{
    /// <summary>Creates the ensemble of <paramref name="members"/> (at least one, all with the same classes and pooling).</summary>
    public SequenceClassifierEnsemble(IReadOnlyList<SequenceClassifierNetwork> members)
        : base(nameof(SequenceClassifierEnsemble), members, (m, first) => m.ClassCount == first.ClassCount && m.Pooling == first.Pooling,
            "the same class count and pooling")
    {
    }

    /// <summary>
    /// <paramref name="size"/> new networks of one shape: the first reads <paramref name="encoder"/>, each other one an
    /// encoder of the same options, drawn next from libtorch's generator (so a seeded generator gives the same ensemble).
    /// </summary>
    public static SequenceClassifierEnsemble Create(SequenceEncoder encoder, int size, long classCount, SequencePooling pooling,
        double dropoutProbability = 0, Func<WordBagPath>? words = null)
        => new(NewMembers(encoder, size, e => new SequenceClassifierNetwork(e, classCount, pooling, dropoutProbability, words?.Invoke())));

    /// <summary>C: number of classes.</summary>
    public long ClassCount => Members[0].ClassCount;

    /// <summary>How per-step outputs are reduced before the output layers.</summary>
    public SequencePooling Pooling => Members[0].Pooling;

    /// <summary>
    /// Class logits (N, C): one member's logits, or the logarithm of the members' mean probabilities (whose softmax is
    /// that mean, and whose largest entry is the class the mean ranks first).
    /// </summary>
    public Tensor Forward(SequenceBatch input, UnrollPath path = UnrollPath.Auto)
    {
        if (Members.Count == 1) return Members[0].Forward(input, path);
        using var scope = NewDisposeScope();
        return LogMeanProbabilities(Members.Select(m => m.Forward(input, path)).ToArray(), 1).MoveToOuterDisposeScope();
    }
}
