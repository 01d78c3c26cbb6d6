using TorchSharp;
using TorchSharp.Modules;

namespace Microsoft.ML.Rnn.Networks;

/// <summary>
/// Several task networks of one shape, trained apart and scoring together (<see cref="SequenceClassifierEnsemble"/>,
/// <see cref="SequenceTaggerEnsemble"/>): the members in order, saved as <c>members.i.…</c>. Small training sets leave a
/// single network's predictions dependent on its initialisation, batch order and validation split; the mean of a few
/// such networks is right more often than a typical member. With one member the ensemble is that member.
/// </summary>
/// <typeparam name="TMember">The task network.</typeparam>
public abstract class NetworkEnsemble<TMember> : torch.nn.Module where TMember : torch.nn.Module
{
    private readonly ModuleList<TMember> members;

    /// <summary>Takes <paramref name="members"/> (at least one); <paramref name="matches"/> says whether a member has
    /// the first one's shape, <paramref name="requirement"/> what the message says it must share.</summary>
    private protected NetworkEnsemble(string name, IReadOnlyList<TMember> members, Func<TMember, TMember, bool> matches, string requirement)
        : base(name)
    {
        ArgumentNullException.ThrowIfNull(members);
        if (members.Count == 0)
            throw new ArgumentException($"{name}: at least one member is needed.", nameof(members));
        if (members.Any(m => !matches(m, members[0])))
            throw new ArgumentException($"{name}: every member needs {requirement}.", nameof(members));
        this.members = new ModuleList<TMember>(members.ToArray());
        Members = members.ToArray();
        RegisterComponents();
    }

    /// <summary>The members, in order.</summary>
    public IReadOnlyList<TMember> Members { get; }

    /// <summary>
    /// <paramref name="size"/> new members of one shape: the first reads <paramref name="encoder"/>, each other one an
    /// encoder of the same options, drawn next from libtorch's generator (so a seeded generator gives the same ensemble).
    /// </summary>
    private protected static TMember[] NewMembers(SequenceEncoder encoder, int size, Func<SequenceEncoder, TMember> member)
    {
        ArgumentNullException.ThrowIfNull(encoder);
        ArgumentOutOfRangeException.ThrowIfLessThan(size, 1);
        return Enumerable.Range(0, size).Select(m => member(m == 0 ? encoder : new SequenceEncoder(encoder.Options))).ToArray();
    }

    /// <summary>
    /// The logarithm of the members' mean probabilities, each the softmax of its <paramref name="logits"/> over
    /// <paramref name="dim"/>: its softmax is that mean, and its largest entry the class the mean ranks first.
    /// </summary>
    private protected static torch.Tensor LogMeanProbabilities(IReadOnlyList<torch.Tensor> logits, long dim)
    {
        using var scope = torch.NewDisposeScope();
        var logProbabilities = torch.stack(logits.Select(l => torch.nn.functional.log_softmax(l, dim)).ToArray());
        using var logCount = Math.Log(logits.Count).ToScalar();
        return logProbabilities.logsumexp(0).sub_(logCount).MoveToOuterDisposeScope();
    }
}
