using Microsoft.ML.Rnn.Core;
using static TorchSharp.torch;

namespace Microsoft.ML.Rnn.Networks;

/// <summary>
/// Several <see cref="SequenceTaggerNetwork"/>s of one shape, trained apart, tagging together: without CRFs each
/// token's tag probabilities are the mean of the members'; with CRFs the tags are the path of the highest mean
/// sequence score (Viterbi under the mean emissions and the mean transition, start and end scores). See
/// <see cref="NetworkEnsemble{TMember}"/>.
/// </summary>
public sealed class SequenceTaggerEnsemble : NetworkEnsemble<SequenceTaggerNetwork>
{
    /// <summary>Creates the ensemble of <paramref name="members"/> (at least one, all with the same tags, all with or all without a CRF).</summary>
    public SequenceTaggerEnsemble(IReadOnlyList<SequenceTaggerNetwork> members)
        : base(nameof(SequenceTaggerEnsemble), members, (m, first) => m.TagCount == first.TagCount && (m.Crf is null) == (first.Crf is null),
            "the same tag count, and all or none a CRF")
    {
    }

    /// <summary>
    /// <paramref name="size"/> new networks of one shape: the first reads <paramref name="encoder"/>, each other one an
    /// encoder of the same options, drawn next from libtorch's generator (so a seeded generator gives the same ensemble).
    /// </summary>
    public static SequenceTaggerEnsemble Create(SequenceEncoder encoder, int size, long tagCount, bool useCrf = false, double dropoutProbability = 0)
        => new(NewMembers(encoder, size, e => new SequenceTaggerNetwork(e, tagCount, useCrf, dropoutProbability)));

    /// <summary>T: number of tags.</summary>
    public long TagCount => Members[0].TagCount;

    /// <summary>True when the members decode with a CRF.</summary>
    public bool UsesCrf => Members[0].Crf is not null;

    /// <summary>
    /// Per-step tag scores (N, L, T) and the lengths (N) int64: one member's emissions; several members' mean emissions
    /// with CRFs, or without them the logarithm of their mean per-step probabilities (whose softmax is that mean).
    /// </summary>
    public (Tensor Emissions, Tensor Lengths) Forward(SequenceBatch input)
    {
        if (Members.Count == 1) return Members[0].Forward(input);
        using var scope = NewDisposeScope();
        var outputs = Members.Select(m => m.Forward(input)).ToArray();
        var emissions = outputs.Select(o => o.Emissions).ToArray();
        var combined = UsesCrf ? stack(emissions).mean([0]) : LogMeanProbabilities(emissions, 2);
        return (combined.MoveToOuterDisposeScope(), outputs[0].Lengths.MoveToOuterDisposeScope());
    }

    /// <summary>Best tags (N, L) int64 on the CPU, zero past each length, from what <see cref="Forward"/> returned.</summary>
    public Tensor Decode(Tensor emissions, Tensor lengths)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        if (!UsesCrf)
        {
            var valid = LengthMask.Valid(lengths, emissions.shape[1], emissions.device);
            return emissions.argmax(2).masked_fill(valid.logical_not(), KeptScalars.Zero).cpu().MoveToOuterDisposeScope();
        }
        if (Members.Count == 1) return Members[0].Crf!.Decode(emissions, lengths).Tags.MoveToOuterDisposeScope();
        var (transitions, start, end) = MeanCrfScores();
        return LinearChainCrf.Viterbi(emissions, lengths, transitions, start, end).Tags.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The members' mean transition, start and end scores, under which the ensemble decodes (new tensors without
    /// gradients, in the caller's dispose scope). Only for an ensemble with a CRF.
    /// </summary>
    internal (Tensor Transitions, Tensor StartScores, Tensor EndScores) MeanCrfScores()
    {
        using var noGrad = no_grad();
        var crfs = Members.Select(m => m.Crf!).ToArray();
        Tensor Mean(Func<LinearChainCrf, Tensor> scores) => stack(crfs.Select(scores).ToArray()).mean([0]);
        return (Mean(c => c.Transitions), Mean(c => c.StartScores), Mean(c => c.EndScores));
    }
}
