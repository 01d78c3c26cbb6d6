using Microsoft.ML.Rnn.Core;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Microsoft.ML.Rnn.Networks;

/// <summary>
/// Sequence tagging: <see cref="SequenceEncoder"/> per-step outputs, dropout, a linear layer to T tag scores per step
/// (emissions), and optionally a <see cref="LinearChainCrf"/> on top.
/// </summary>
/// <remarks>
/// Input and lengths as for <see cref="SequenceEncoder.Encode(SequenceBatch, UnrollPath)"/>. Emissions (N, L, T); tags (N, L) int64 0-based,
/// ignored past each length. Without a CRF the loss is cross-entropy averaged over valid steps (0 when there are none)
/// and decoding is the
/// per-step argmax; with a CRF the loss is the mean negative log-likelihood per sequence and decoding is Viterbi.
/// </remarks>
public sealed class SequenceTaggerNetwork : nn.Module
{
    private readonly SequenceEncoder encoder;
    private readonly Dropout dropout;
    private readonly Linear output;
    private readonly LinearChainCrf? crf;

    /// <summary>Creates the network around an encoder.</summary>
    /// <param name="encoder">The recurrent encoder.</param>
    /// <param name="tagCount">T, at least 1.</param>
    /// <param name="useCrf">Add a linear-chain CRF over the emissions.</param>
    /// <param name="dropoutProbability">Dropout before the output layer, in [0, 1).</param>
    public SequenceTaggerNetwork(SequenceEncoder encoder, long tagCount, bool useCrf = false, double dropoutProbability = 0)
        : base(nameof(SequenceTaggerNetwork))
    {
        ArgumentNullException.ThrowIfNull(encoder);
        if (tagCount < 1)
            throw new ArgumentOutOfRangeException(nameof(tagCount), tagCount, "SequenceTaggerNetwork: at least 1 tag is needed.");
        if (!(dropoutProbability >= 0 && dropoutProbability < 1))
            throw new ArgumentOutOfRangeException(nameof(dropoutProbability), dropoutProbability, "SequenceTaggerNetwork: dropout must be in [0, 1).");
        this.encoder = encoder;
        dropout = nn.Dropout(dropoutProbability);
        output = nn.Linear(encoder.OutputSize, tagCount);
        crf = useCrf ? new LinearChainCrf(tagCount) : null;
        TagCount = tagCount;
        RegisterComponents();
    }

    /// <summary>The recurrent encoder.</summary>
    public SequenceEncoder Encoder => encoder;

    /// <summary>The CRF, or null.</summary>
    public LinearChainCrf? Crf => crf;

    /// <summary>T: number of tags.</summary>
    public long TagCount { get; }

    /// <summary>Per-step tag scores (N, L, T) and the lengths (N) int64 used.</summary>
    public (Tensor Emissions, Tensor Lengths) Forward(Tensor input, Tensor? lengths = null, UnrollPath path = UnrollPath.Auto)
        => Forward(SequenceEncoder.Batch(input, lengths), path);

    /// <summary>Per-step tag scores (N, L, T) of a batch and its lengths (N) int64.</summary>
    public (Tensor Emissions, Tensor Lengths) Forward(SequenceBatch input, UnrollPath path = UnrollPath.Auto)
    {
        using var scope = NewDisposeScope();
        var encoded = encoder.Encode(input, path);
        var emissions = output.call(dropout.call(encoded.Outputs));
        return (emissions.MoveToOuterDisposeScope(), encoded.Lengths.MoveToOuterDisposeScope());
    }

    /// <summary>Scalar training loss against gold tags (N, L) int64.</summary>
    /// <param name="input">Token ids (N, L) or features (N, L, F).</param>
    /// <param name="lengths">(N) valid steps per row, or null for all L.</param>
    /// <param name="tags">Gold tags (N, L) int64.</param>
    /// <param name="tagWeights">Optional (T) float weight of each tag's cross-entropy (the loss is then the weighted mean
    /// over valid tokens); not with a CRF, whose loss is over whole tag sequences.</param>
    public Tensor Loss(Tensor input, Tensor? lengths, Tensor tags, Tensor? tagWeights = null)
        => Loss(SequenceEncoder.Batch(input, lengths), tags, tagWeights);

    /// <summary>Scalar training loss of a batch against gold tags (N, L) int64 (see the other overload).</summary>
    public Tensor Loss(SequenceBatch input, Tensor tags, Tensor? tagWeights = null)
    {
        using var scope = NewDisposeScope();
        var (emissions, lens) = Forward(input);
        if (tags.dim() != 2 || tags.shape[0] != emissions.shape[0] || tags.shape[1] != emissions.shape[1])
        {
            throw new ArgumentException(
                $"SequenceTaggerNetwork: expected tags of shape ({emissions.shape[0]}, {emissions.shape[1]}), got {SequenceBatch.FormatShape(tags.shape)}.", nameof(tags));
        }
        if (tagWeights is not null && (crf is not null || tagWeights.dim() != 1 || tagWeights.shape[0] != TagCount))
        {
            throw new ArgumentException(crf is not null
                ? "SequenceTaggerNetwork: tag weights apply to the per-token cross-entropy, not to the CRF loss."
                : $"SequenceTaggerNetwork: expected tag weights of shape ({TagCount}), got {SequenceBatch.FormatShape(tagWeights.shape)}.", nameof(tagWeights));
        }
        if (crf is not null)
            return crf.NegativeLogLikelihood(emissions, tags, lens).mean().MoveToOuterDisposeScope();

        var valid = LengthMask.Valid(lens, emissions.shape[1], emissions.device);
        // Padding positions get the ignored index, so they add nothing. Sum / max(count, 1) rather than the built-in
        // mean, which is 0/0 = NaN for a batch of empty sequences (length bucketing groups them together).
        var targets = tags.to(emissions.device).masked_fill(valid.logical_not(), KeptScalars.IgnoredTarget);
        if (tagWeights is not null)
        {
            var weights = tagWeights.to(emissions.device).to_type(emissions.dtype);
            var weighted = nn.functional.cross_entropy(emissions.reshape(-1, TagCount), targets.reshape(-1), weight: weights,
                ignore_index: KeptScalars.IgnoredTargetIndex, reduction: nn.Reduction.Sum);
            // Weighted mean, as PyTorch's reduction='mean' with weights: divided by the weights of the valid tokens.
            var norm = weights.index_select(0, tags.to(emissions.device).masked_fill(valid.logical_not(), KeptScalars.Zero).reshape(-1))
                .masked_fill(valid.logical_not().reshape(-1), KeptScalars.Zero).sum();
            using var tiny = 1e-12.ToScalar();
            return (weighted / norm.clamp_min(tiny)).MoveToOuterDisposeScope();
        }
        var total = nn.functional.cross_entropy(emissions.reshape(-1, TagCount), targets.reshape(-1), ignore_index: KeptScalars.IgnoredTargetIndex,
            reduction: nn.Reduction.Sum);
        return (total / valid.sum().clamp_min(KeptScalars.One).to_type(total.dtype)).MoveToOuterDisposeScope();
    }

    /// <summary>Best tags (N, L) int64 on the CPU, zero past each length.</summary>
    public Tensor Predict(Tensor input, Tensor? lengths = null) => Predict(SequenceEncoder.Batch(input, lengths));

    /// <summary>Best tags (N, L) int64 of a batch, on the CPU, zero past each length.</summary>
    public Tensor Predict(SequenceBatch input)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var (emissions, lens) = Forward(input);
        if (crf is not null) return crf.Decode(emissions, lens).Tags.MoveToOuterDisposeScope();
        var valid = LengthMask.Valid(lens, emissions.shape[1], emissions.device);
        return emissions.argmax(2).masked_fill(valid.logical_not(), KeptScalars.Zero).cpu().MoveToOuterDisposeScope();
    }
}
