using Microsoft.ML.Rnn.Core;
using Microsoft.ML.Rnn.Core.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Microsoft.ML.Rnn.Networks;

/// <summary>
/// Several <see cref="SequenceClassifierNetwork"/>s of one shape, trained apart, scored together: the class
/// probabilities are the mean of the members' (a deep ensemble). Small training sets leave a single network's
/// predictions dependent on its initialisation, batch order and validation split; the mean of a few such networks
/// is right more often than a typical member. With one member it is that member.
/// </summary>
public sealed class SequenceClassifierEnsemble : nn.Module
{
    private readonly ModuleList<SequenceClassifierNetwork> members;

    /// <summary>Creates the ensemble of <paramref name="members"/> (at least one, all with the same classes and pooling).</summary>
    public SequenceClassifierEnsemble(IReadOnlyList<SequenceClassifierNetwork> members) : base(nameof(SequenceClassifierEnsemble))
    {
        ArgumentNullException.ThrowIfNull(members);
        if (members.Count == 0)
            throw new ArgumentException("SequenceClassifierEnsemble: at least one member is needed.", nameof(members));
        if (members.Any(m => m.ClassCount != members[0].ClassCount || m.Pooling != members[0].Pooling))
            throw new ArgumentException("SequenceClassifierEnsemble: every member needs the same class count and pooling.", nameof(members));
        this.members = new ModuleList<SequenceClassifierNetwork>(members.ToArray());
        Members = members.ToArray();
        RegisterComponents();
    }

    /// <summary>
    /// <paramref name="size"/> new networks of one shape: the first reads <paramref name="encoder"/>, each other one an
    /// encoder of the same options, drawn next from libtorch's generator (so a seeded generator gives the same ensemble).
    /// </summary>
    public static SequenceClassifierEnsemble Create(SequenceEncoder encoder, int size, long classCount, SequencePooling pooling,
        double dropoutProbability = 0)
    {
        ArgumentNullException.ThrowIfNull(encoder);
        ArgumentOutOfRangeException.ThrowIfLessThan(size, 1);
        return new SequenceClassifierEnsemble(Enumerable.Range(0, size)
            .Select(m => new SequenceClassifierNetwork(m == 0 ? encoder : new SequenceEncoder(encoder.Options), classCount, pooling, dropoutProbability))
            .ToArray());
    }

    /// <summary>The members, in order.</summary>
    public IReadOnlyList<SequenceClassifierNetwork> Members { get; }

    /// <summary>C: number of classes.</summary>
    public long ClassCount => members[0].ClassCount;

    /// <summary>How per-step outputs are reduced before the output layers.</summary>
    public SequencePooling Pooling => members[0].Pooling;

    /// <summary>
    /// Class logits (N, C): one member's logits, or the logarithm of the members' mean probabilities (whose softmax is
    /// that mean, and whose largest entry is the class the mean ranks first).
    /// </summary>
    public Tensor Forward(SequenceBatch input, UnrollPath path = UnrollPath.Auto)
    {
        if (members.Count == 1) return members[0].Forward(input, path);
        using var scope = NewDisposeScope();
        var logProbabilities = stack(members.Select(m => nn.functional.log_softmax(m.Forward(input, path), 1)).ToArray());
        using var logCount = Math.Log(members.Count).ToScalar();
        return logProbabilities.logsumexp(0).sub_(logCount).MoveToOuterDisposeScope();
    }
}
