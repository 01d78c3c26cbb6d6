using Microsoft.ML.Rnn.Core;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Microsoft.ML.Rnn.Networks;

/// <summary>
/// A <see cref="SequenceEncoder"/>, pooling to (N, D*H), dropout, then a linear layer to K outputs: what the classifier
/// (K class logits, <see cref="SequenceClassifierNetwork"/>) and the regressor (K values, <see cref="SequenceRegressorNetwork"/>)
/// share. Its modules are named <c>encoder</c>, <c>dropout</c>, <c>output</c> and, with a word bag (the classifier), <c>words</c> in
/// state dictionaries.
/// </summary>
public abstract class PooledSequenceNetwork : nn.Module
{
    // Field names are the modules' names (found by RegisterComponents on the derived type, which sees a base class's
    // non-private fields).
#pragma warning disable IDE1006
    private protected readonly SequenceEncoder encoder;
    private protected readonly Dropout dropout;
    private protected readonly Linear output;
    private protected readonly WordBagPath? words;
#pragma warning restore IDE1006
    private readonly double _dropoutProbability;

    /// <summary>Creates the network around <paramref name="encoder"/>; <paramref name="name"/> names it in messages.</summary>
    private protected PooledSequenceNetwork(string name, SequenceEncoder encoder, long outputs, SequencePooling pooling, double dropoutProbability,
        WordBagPath? words = null)
        : base(name)
    {
        ArgumentNullException.ThrowIfNull(encoder);
        if (!(dropoutProbability >= 0 && dropoutProbability < 1))
            throw new ArgumentOutOfRangeException(nameof(dropoutProbability), dropoutProbability, $"{name}: dropout must be in [0, 1).");
        this.encoder = encoder;
        dropout = nn.Dropout(dropoutProbability);
        _dropoutProbability = dropoutProbability;
        output = nn.Linear(encoder.OutputSize, outputs);
        Pooling = pooling;
        this.words = words;
        RegisterComponents();
    }

    /// <summary>The recurrent encoder.</summary>
    public SequenceEncoder Encoder => encoder;

    /// <summary>The linear path over each row's bag of tokens whose outputs join the recurrent ones, or null.</summary>
    public WordBagPath? Words => words;

    /// <summary>How per-step outputs are reduced before the output layer.</summary>
    public SequencePooling Pooling { get; }

    /// <summary>The outputs (N, K) of a batch: class logits or predicted values.</summary>
    public Tensor Forward(SequenceBatch input, UnrollPath path = UnrollPath.Auto)
    {
        using var scope = NewDisposeScope();
        var pooled = SequenceEncoder.Pool(encoder.Encode(input, path), Pooling);
        // Dropout is the identity when scoring (or at probability 0): skip the call, one of few per scored row.
        var features = training && _dropoutProbability > 0 ? dropout.call(pooled) : pooled;
        var outputs = output.call(features);
        if (words is not null)
        {
            var (ids, counts) = input.WordBag ?? throw new ArgumentException(
                $"{GetType().Name}: this network reads each row's bag of words too; pass a batch with SequenceBatch.WithWordBag.", nameof(input));
            outputs = outputs.Plus(words.Forward(ids, counts));
        }
        return outputs.MoveToOuterDisposeScope();
    }
}
