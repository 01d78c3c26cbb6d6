using Microsoft.ML.Rnn.Core;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Microsoft.ML.Rnn.Networks;

/// <summary>
/// Trains a <see cref="SequenceEncoder"/> without labels by next-step prediction: from the output at step t, a
/// linear head predicts step t+1 — its features (float input, mean squared error) or its token (token input,
/// cross-entropy). Only pairs with t+1 inside the sequence's length count.
/// </summary>
/// <remarks>
/// Only the forward direction's outputs (the first H features) feed the head: a backward direction has already read
/// step t+1 and would make the task trivial. Input and lengths as for <see cref="SequenceEncoder.Encode(SequenceBatch, UnrollPath)"/>.
/// </remarks>
public sealed class SequenceEncoderNetwork : nn.Module
{
    private readonly SequenceEncoder encoder;
    private readonly Linear head;

    /// <summary>Creates the network around an encoder.</summary>
    public SequenceEncoderNetwork(SequenceEncoder encoder) : base(nameof(SequenceEncoderNetwork))
    {
        ArgumentNullException.ThrowIfNull(encoder);
        this.encoder = encoder;
        head = nn.Linear(encoder.DirectionOutputSize, encoder.VocabularySize > 0 ? encoder.VocabularySize : encoder.InputFeatures);
        RegisterComponents();
    }

    /// <summary>The encoder being trained.</summary>
    public SequenceEncoder Encoder => encoder;

    /// <summary>
    /// Predictions for steps 1..L-1 from steps 0..L-2: (N, L-1, V) token logits or (N, L-1, F) features.
    /// </summary>
    public Tensor PredictNext(Tensor input, Tensor? lengths = null)
    {
        using var scope = NewDisposeScope();
        var encoded = encoder.Encode(input, lengths);
        long l = encoded.Outputs.shape[1];
        var forward = encoded.Outputs[.., ..(int)Math.Max(l - 1, 0), ..(int)encoder.DirectionOutputSize];
        return head.call(forward).MoveToOuterDisposeScope();
    }

    /// <summary>Scalar next-step loss averaged over valid (t, t+1) pairs; 0 when no sequence has two steps.</summary>
    public Tensor Loss(Tensor input, Tensor? lengths = null) => Loss(SequenceEncoder.Batch(input, lengths));

    /// <summary>Scalar next-step loss of a batch (see the other overload).</summary>
    public Tensor Loss(SequenceBatch batch)
    {
        using var scope = NewDisposeScope();
        var input = batch.Data;
        var encoded = encoder.Encode(batch);
        long n = encoded.Outputs.shape[0], l = encoded.Outputs.shape[1];
        // A zero that still depends on the parameters (the head's bias at least: a batch of sequences of no steps has
        // constant zero outputs), so backward() works on a batch of too-short sequences.
        if (l < 2) return head.call(encoded.Outputs[.., .., ..(int)encoder.DirectionOutputSize]).sum().mul(KeptScalars.Zero).MoveToOuterDisposeScope();

        var predictions = head.call(encoded.Outputs[.., ..(int)(l - 1), ..(int)encoder.DirectionOutputSize]);
        var device = predictions.device;
        // Pair (t, t+1) is valid when t+1 < length.
        var valid = LengthMask.Valid(encoded.Lengths, l, device)[.., 1..];                    // (N, L-1)
        Tensor loss;
        if (encoder.VocabularySize > 0)
        {
            var targets = input[.., 1..].to(device).masked_fill(valid.logical_not(), KeptScalars.IgnoredTarget);
            var perPair = nn.functional.cross_entropy(predictions.reshape(-1, encoder.VocabularySize), targets.reshape(-1),
                ignore_index: KeptScalars.IgnoredTargetIndex, reduction: nn.Reduction.Sum);
            loss = perPair / valid.sum().clamp_min(KeptScalars.One).to_type(predictions.dtype);
        }
        else
        {
            // Targets past the length are zeroed first, so padding values (even NaN) cannot reach the gradient.
            var targets = input[.., 1..].to(device).masked_fill(valid.logical_not().unsqueeze(2), KeptScalars.Zero);
            var squared = (predictions - targets).pow(KeptScalars.Two).mean([2]);                      // (N, L-1)
            loss = squared.masked_fill(valid.logical_not(), KeptScalars.Zero).sum() / valid.sum().clamp_min(KeptScalars.One).to_type(predictions.dtype);
        }
        return loss.MoveToOuterDisposeScope();
    }
}
