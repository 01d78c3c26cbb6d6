using Microsoft.ML.Rnn.Core;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Microsoft.ML.Rnn.Networks;

/// <summary>
/// A token's spelling as a vector: a character CNN (Ma and Hovy, 2016; Chiu and Nichols, 2016), the standard
/// character-level part of neural taggers. Each character is embedded, a window of three characters is read by a linear
/// filter bank at every position, and the filters' maxima over the token's characters, through tanh, are its features.
/// </summary>
/// <remarks>
/// Input: (N, L, W) int64 character ids (<see cref="TokenVocabulary"/>: 0 padding, past each token's end), output:
/// (N, L, F) for F = <see cref="Features"/>; a token without characters (or a padding step) gets zeros. The window is
/// a linear layer over three shifted copies rather than a convolution, so it runs on the matrix product every layer
/// here uses instead of a separate native convolution kernel; padding characters read as zero vectors. Only the tokens
/// that have characters are read, and the masks are a multiplication and an addition over a (P, W, 1) mask: on the
/// topics' text classifier the character encoder was most of a training step with masked_fill on the full tensors
/// over every step (fit of one network 16.0 s → 9.6 s; docs/performance.md).
/// </remarks>
public sealed class CharacterEncoder : nn.Module<Tensor, Tensor>
{
    /// <summary>Characters in the window each filter reads.</summary>
    public const int Window = 3;

    private readonly Embedding character_embedding;
    private readonly Linear filters;

    /// <summary>A character CNN over <paramref name="characterCount"/> ids with <paramref name="features"/> filters.</summary>
    public CharacterEncoder(long characterCount, long embeddingSize, long features) : base(nameof(CharacterEncoder))
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(characterCount, 2);
        ArgumentOutOfRangeException.ThrowIfLessThan(embeddingSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(features, 1);
        CharacterCount = characterCount;
        Features = features;
        character_embedding = nn.Embedding(characterCount, embeddingSize);
        filters = nn.Linear(Window * embeddingSize, features);
        RegisterComponents();
    }

    /// <summary>Character ids read, padding and unknown included.</summary>
    public long CharacterCount { get; }

    /// <summary>F: features per token.</summary>
    public long Features { get; }

    /// <summary>(N, L, W) character ids to (N, L, F) token features; see the class remarks.</summary>
    public override Tensor forward(Tensor characters)
    {
        ArgumentNullException.ThrowIfNull(characters);
        if (characters.dim() != 3 || characters.dtype != ScalarType.Int64)
        {
            throw new ArgumentException(
                $"CharacterEncoder: expected character ids of shape (N, L, W) int64, got {SequenceBatch.FormatShape(characters.shape)} {characters.dtype}.", nameof(characters));
        }
        if (characters.numel() > 0)
        {
            long min = characters.min().item<long>(), max = characters.max().item<long>();
            if (min < 0 || max >= CharacterCount)
                throw new ArgumentOutOfRangeException(nameof(characters), $"CharacterEncoder: character ids must lie in [0, {CharacterCount}), got values from {min} to {max}.");
        }
        using var scope = NewDisposeScope();
        long n = characters.shape[0], l = characters.shape[1], w = characters.shape[2];
        var ids = characters.reshape(n * l, w);
        var features = zeros(n * l, Features, dtype: character_embedding.weight!.dtype, device: characters.device);
        // Only tokens with characters are read: padding steps and empty tokens keep zero features.
        var present = ids.ne(KeptScalars.Zero).any(1).nonzero().squeeze(1);                     // (P)
        if (present.shape[0] == 0)
            return features.reshape(n, l, Features).MoveToOuterDisposeScope();
        var tokens = ids.index_select(0, present);                                                 // (P, W)
        var padding = tokens.eq(KeptScalars.Zero).unsqueeze(2);                                    // (P, W, 1)
        // Padding characters: zero vectors (a multiplication), and -inf responses before the maximum (an addition).
        var embedded = character_embedding.call(tokens).mul(padding.logical_not().to_type(features.dtype));   // (P, W, E)
        var padded = nn.functional.pad(embedded, [0, 0, 1, 1]);                                   // (P, W + 2, E)
        var windows = cat([padded.narrow(1, 0, w), padded.narrow(1, 1, w), padded.narrow(1, 2, w)], 2);
        var outside = zeros_like(padding, dtype: features.dtype).masked_fill(padding, KeptScalars.NegativeInfinity);
        var pooled = filters.call(windows).Plus(outside).amax([1]);                              // (P, F)
        return features.index_copy(0, present, pooled.tanh()).reshape(n, l, Features).MoveToOuterDisposeScope();
    }
}
