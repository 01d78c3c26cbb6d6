using Microsoft.ML.Rnn.Core;
using static TorchSharp.torch;

namespace Microsoft.ML.Rnn.Networks;

/// <summary>
/// Several <see cref="SequenceRegressorNetwork"/>s of one shape, trained apart, scored together: the prediction is the
/// mean of the members' (a deep ensemble; see <see cref="NetworkEnsemble{TMember}"/>).
/// </summary>
public sealed class SequenceRegressorEnsemble : NetworkEnsemble<SequenceRegressorNetwork>
{
    /// <summary>Creates the ensemble of <paramref name="members"/> (at least one, all with the same outputs and pooling).</summary>
    public SequenceRegressorEnsemble(IReadOnlyList<SequenceRegressorNetwork> members)
        : base(nameof(SequenceRegressorEnsemble), members, (m, first) => m.Outputs == first.Outputs && m.Pooling == first.Pooling,
            "the same outputs and pooling")
    {
    }

    /// <summary>
    /// <paramref name="size"/> new networks of one shape: the first reads <paramref name="encoder"/>, each other one an
    /// encoder of the same options, drawn next from libtorch's generator (so a seeded generator gives the same ensemble).
    /// </summary>
    public static SequenceRegressorEnsemble Create(SequenceEncoder encoder, int size, long outputs, SequencePooling pooling,
        double dropoutProbability = 0)
        => new(NewMembers(encoder, size, e => new SequenceRegressorNetwork(e, outputs, pooling, dropoutProbability)));

    /// <summary>K: values predicted per sequence.</summary>
    public long Outputs => Members[0].Outputs;

    /// <summary>How per-step outputs are reduced before the output layers.</summary>
    public SequencePooling Pooling => Members[0].Pooling;

    /// <summary>The members' mean prediction (N, K).</summary>
    public Tensor Forward(SequenceBatch input, UnrollPath path = UnrollPath.Auto)
    {
        if (Members.Count == 1) return Members[0].Forward(input, path);
        using var scope = NewDisposeScope();
        return stack(Members.Select(m => m.Forward(input, path)).ToArray()).mean([0]).MoveToOuterDisposeScope();
    }
}
