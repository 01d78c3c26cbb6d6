using Microsoft.ML.Rnn.Core;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Microsoft.ML.Rnn.Networks;

/// <summary>
/// A linear-chain conditional random field over T tags: the score of a tag sequence y_0..y_{len-1} is
/// <c>start[y_0] + Σ_t emissions[t, y_t] + Σ_{t≥1} transitions[y_{t-1}, y_t] + end[y_{len-1}]</c>.
/// Gives the negative log-likelihood of gold tags (forward algorithm in log space) and the best tag sequence
/// (Viterbi), both honouring per-sequence lengths.
/// </summary>
/// <remarks>
/// Shapes: N batch, L padded steps, T tags. <c>emissions</c> (N, L, T) float; <c>tags</c> (N, L) int64;
/// <c>lengths</c> (N) int64 with values in [0, L]. Steps at or past a sequence's length are ignored, whatever their
/// values. A zero-length sequence has a negative log-likelihood of 0 and an empty path; L may be 0 (a batch of empty
/// sequences, which length bucketing produces).
/// <c>transitions[i, j]</c> scores moving from tag i to tag j.
/// </remarks>
public sealed class LinearChainCrf : nn.Module
{
    private readonly Parameter transitions;
    private readonly Parameter start_scores;
    private readonly Parameter end_scores;

    /// <summary>Creates a CRF over <paramref name="tagCount"/> tags with scores drawn from U(-0.1, 0.1).</summary>
    public LinearChainCrf(long tagCount, Device? device = null, ScalarType? dtype = null) : base(nameof(LinearChainCrf))
    {
        if (tagCount < 1)
            throw new ArgumentOutOfRangeException(nameof(tagCount), tagCount, "LinearChainCrf: the number of tags must be at least 1.");
        TagCount = tagCount;
        transitions = nn.Parameter(empty(tagCount, tagCount, dtype: dtype, device: device).uniform_(-0.1, 0.1));
        start_scores = nn.Parameter(empty(tagCount, dtype: dtype, device: device).uniform_(-0.1, 0.1));
        end_scores = nn.Parameter(empty(tagCount, dtype: dtype, device: device).uniform_(-0.1, 0.1));
        RegisterComponents();
    }

    /// <summary>T: number of tags.</summary>
    public long TagCount { get; }

    /// <summary>(T, T) score of moving from tag i (row) to tag j (column).</summary>
    public Parameter Transitions => transitions;

    /// <summary>(T) score of starting a sequence with each tag.</summary>
    public Parameter StartScores => start_scores;

    /// <summary>(T) score of ending a sequence with each tag.</summary>
    public Parameter EndScores => end_scores;

    /// <summary>Negative log-likelihood of each sequence's gold tags.</summary>
    /// <param name="emissions">(N, L, T) per-step tag scores.</param>
    /// <param name="tags">(N, L) int64 gold tags in [0, T) at valid steps.</param>
    /// <param name="lengths">(N) int64 valid steps per sequence.</param>
    /// <returns>(N) −log p(tags | emissions); average it for a loss.</returns>
    public Tensor NegativeLogLikelihood(Tensor emissions, Tensor tags, Tensor lengths)
    {
        CheckEmissions(emissions, lengths);
        if (tags.dtype != ScalarType.Int64 || tags.dim() != 2 || tags.shape[0] != emissions.shape[0] || tags.shape[1] != emissions.shape[1])
            throw new ArgumentException(
                $"LinearChainCrf: expected tags of shape ({emissions.shape[0]}, {emissions.shape[1]}) int64, got {SequenceBatch.FormatShape(tags.shape)} {tags.dtype}.", nameof(tags));

        using var scope = NewDisposeScope();
        long n = emissions.shape[0], l = emissions.shape[1];
        var device = emissions.device;
        var lens = lengths.to(device);
        var mask = LengthMask.Valid(lens, l, device);                                  // (N, L)
        var safeTags = tags.masked_fill(mask.logical_not(), KeptScalars.Zero);
        if (safeTags.numel() > 0 && (safeTags.min().item<long>() < 0 || safeTags.max().item<long>() >= TagCount))
            throw new ArgumentException($"LinearChainCrf: tags at valid steps must be in [0, {TagCount}).", nameof(tags));

        // Still a function of the emissions, so a batch of empty sequences back-propagates (zero gradients).
        if (l == 0) return emissions.sum([1, 2]).MoveToOuterDisposeScope();

        var maskF = mask.to_type(emissions.dtype);
        var nonEmpty = lens.gt(KeptScalars.Zero).to_type(emissions.dtype);

        // Gold path score.
        var emitted = emissions.gather(2, safeTags.unsqueeze(2)).squeeze(2);          // (N, L)
        var gold = (emitted * maskF).sum(1);
        if (l > 1)
        {
            var pairs = transitions.index(safeTags[.., ..^1], safeTags[.., 1..]);       // (N, L-1)
            gold = gold.Plus((pairs * maskF[.., 1..]).sum(1));
        }
        var first = safeTags[.., 0];
        var last = safeTags.gather(1, lens.sub(KeptScalars.One).clamp_min(KeptScalars.Zero).unsqueeze(1)).squeeze(1);
        gold = gold.Plus(start_scores.index_select(0, first).Plus(end_scores.index_select(0, last)) * nonEmpty);

        // Partition function: alpha_t[j] = logsumexp_i(alpha_{t-1}[i] + transitions[i, j]) + emissions[t, j].
        var steps = emissions.unbind(1);
        var alpha = start_scores.unsqueeze(0).Plus(steps[0]);                                // (N, T)
        var maskSteps = mask.unbind(1);
        for (int t = 1; t < l; t++)
        {
            var next = alpha.unsqueeze(2).Plus(transitions.unsqueeze(0)).logsumexp(1).Plus(steps[t]);
            alpha = where(maskSteps[t].unsqueeze(1), next, alpha);
        }
        var logZ = alpha.Plus(end_scores.unsqueeze(0)).logsumexp(1) * nonEmpty;
        return (logZ - gold).MoveToOuterDisposeScope();
    }

    /// <summary>The highest-scoring tag sequence of each row (Viterbi), computed without gradients.</summary>
    /// <param name="emissions">(N, L, T) per-step tag scores.</param>
    /// <param name="lengths">(N) int64 valid steps per sequence.</param>
    /// <returns>Tags (N, L) int64 on the CPU, zero past each length; and each path's score (N).</returns>
    public (Tensor Tags, Tensor Scores) Decode(Tensor emissions, Tensor lengths)
    {
        CheckEmissions(emissions, lengths);
        return Viterbi(emissions, lengths, transitions, start_scores, end_scores);
    }

    /// <summary>
    /// <see cref="Decode"/> under the given transition, start and end scores (one CRF's, or the mean of several CRFs':
    /// the path that maximises the members' mean sequence score, <see cref="SequenceTaggerEnsemble"/>).
    /// </summary>
    internal static (Tensor Tags, Tensor Scores) Viterbi(Tensor emissions, Tensor lengths, Tensor transitions, Tensor startScores, Tensor endScores)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        long n = emissions.shape[0], l = emissions.shape[1], tagCount = emissions.shape[2];
        if (l == 0)
        {
            return (zeros(n, 0, dtype: ScalarType.Int64).MoveToOuterDisposeScope(),
                zeros(n, dtype: emissions.dtype, device: emissions.device).MoveToOuterDisposeScope());
        }
        var lens = lengths.to(emissions.device);
        var mask = LengthMask.Valid(lens, l, emissions.device);
        var maskSteps = mask.unbind(1);
        var steps = emissions.unbind(1);

        var score = startScores.unsqueeze(0).Plus(steps[0]);                                // (N, T)
        var backPointers = new Tensor[l];
        for (int t = 1; t < l; t++)
        {
            var (best, argBest) = score.unsqueeze(2).Plus(transitions.unsqueeze(0)).max(1); // over previous tag
            score = where(maskSteps[t].unsqueeze(1), best.Plus(steps[t]), score);
            backPointers[t] = argBest;
        }
        var (finalScore, lastTag) = score.Plus(endScores.unsqueeze(0)).max(1);
        var nonEmpty = lens.gt(KeptScalars.Zero);
        finalScore = finalScore.masked_fill(nonEmpty.logical_not(), KeptScalars.Zero);

        // Backtrack on the CPU: one small array per step is cheaper than N×L tiny tensor ops.
        var pointers = new long[l][];
        for (int t = 1; t < l; t++) pointers[t] = backPointers[t].cpu().data<long>().ToArray();
        var lastTags = lastTag.cpu().data<long>().ToArray();
        var lengthValues = lengths.cpu().data<long>().ToArray();
        var path = new long[n * l];
        for (int row = 0; row < n; row++)
        {
            long len = lengthValues[row];
            if (len == 0) continue;
            long tag = lastTags[row];
            for (long t = len - 1; t >= 0; t--)
            {
                path[row * l + t] = tag;
                if (t > 0) tag = pointers[t][row * tagCount + tag];
            }
        }
        var tags = tensor(path, [n, l]);
        return (tags.MoveToOuterDisposeScope(), finalScore.MoveToOuterDisposeScope());
    }

    private void CheckEmissions(Tensor emissions, Tensor lengths)
    {
        using var scope = NewDisposeScope();
        if (emissions.dim() != 3 || emissions.shape[2] != TagCount)
            throw new ArgumentException(
                $"LinearChainCrf: expected emissions of shape (N, L, {TagCount}), got {SequenceBatch.FormatShape(emissions.shape)}.", nameof(emissions));
        if (lengths.dtype != ScalarType.Int64 || lengths.dim() != 1 || lengths.shape[0] != emissions.shape[0])
            throw new ArgumentException(
                $"LinearChainCrf: expected lengths of shape ({emissions.shape[0]}) int64, got {SequenceBatch.FormatShape(lengths.shape)} {lengths.dtype}.", nameof(lengths));
        if (lengths.numel() > 0 && (lengths.min().item<long>() < 0 || lengths.max().item<long>() > emissions.shape[1]))
            throw new ArgumentException($"LinearChainCrf: lengths must be in [0, {emissions.shape[1]}].", nameof(lengths));
    }
}
