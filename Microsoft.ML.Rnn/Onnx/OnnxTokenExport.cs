using Microsoft.ML.Rnn.Features;
using Microsoft.ML.Rnn.Networks;

namespace Microsoft.ML.Rnn.Onnx;

/// <summary>
/// Writes what a network reading token text does to its (N, L) string input in ONNX: the word ids through
/// <c>ai.onnx.ml.LabelEncoder</c> (unknown words to the unknown word's id), their embedding and, with characters, the
/// <see cref="CharacterEncoder"/>: characters split by ONNX Runtime's <c>com.microsoft.Tokenizer</c> (as ML.NET's own
/// character tokenizer exports), mapped by a second <c>LabelEncoder</c>, a token's first and last 10 characters
/// gathered when it is longer than 20, then the same embedding, windows, filters, maximum and tanh.
/// </summary>
/// <remarks>
/// The tokenizer splits UTF-8 code points, the component UTF-16 code units: the two agree on every character of the
/// Basic Multilingual Plane, and a character beyond it (e.g. an emoji) is one unknown character in ONNX but two in the
/// component. Needs opset 11 (<c>Pad</c> and <c>GatherElements</c>); ML.NET writes 12 unless told otherwise.
/// </remarks>
internal static class OnnxTokenExport
{
    /// <summary>What <see cref="Split"/> writes past a token's last piece.</summary>
    internal const string Padding = "\u0000<pad>";

    /// <summary>(N, L, E) embedded words, followed by their (N, L, F) character features when the encoder reads characters.</summary>
    public static string Embed(OnnxGraphWriter g, SequenceEncoder encoder, FeatureEncoding features, string input, string component)
    {
        g.Target.RequireOpset(11, component);
        var vocabulary = features.Vocabulary!;   // reads characters exactly when the encoder does (FeatureEncoding.CheckNetwork)
        string words = g.ApplyIn(null, "LabelEncoder", "words", node =>
        {
            node.AddAttribute("keys_strings", vocabulary.Words);
            node.AddAttribute("values_int64s", Enumerable.Range(0, vocabulary.Words.Count).Select(i => (long)i));
            node.AddAttribute("default_int64", (long)vocabulary.UnknownWord);
        }, input);
        return EmbedIds(g, encoder, words, encoder.Options.UsesCharacters ? CharacterIds(g, vocabulary, input) : null);
    }

    /// <summary>
    /// (N, L, E) embedded <paramref name="words"/> (N, L) word ids, followed by the (N, L, F) features of
    /// <paramref name="characters"/> (N, L, 20) character ids (0 padding) when the encoder reads characters.
    /// </summary>
    public static string EmbedIds(OnnxGraphWriter g, SequenceEncoder encoder, string words, string? characters)
    {
        string embedded = g.Apply("Gather", "embedded", n => n.AddAttribute("axis", 0L), g.Parameter(encoder, "embedding.weight"), words);
        if (characters is null) return embedded;
        return g.Apply("Concat", "with_characters", n => n.AddAttribute("axis", 2L), embedded, CharacterFeatures(g, encoder, characters));
    }

    /// <summary>
    /// (N, L, P) pieces of every token of <paramref name="input"/> (N, L), <see cref="Padding"/> past a token's last:
    /// ONNX Runtime's <c>com.microsoft.Tokenizer</c>, splitting as <paramref name="how"/> says (its <c>separators</c> or
    /// its <c>tokenexp</c>).
    /// </summary>
    internal static string Split(OnnxGraphWriter g, string input, string hint, Action<IOnnxNode> how)
        => g.ApplyIn("com.microsoft", "Tokenizer", hint, node =>
        {
            node.AddAttribute("mark", false);
            node.AddAttribute("mincharnum", 1L);
            node.AddAttribute("pad_value", Padding);
            how(node);
        }, input);

    /// <summary>(N, L, 20) character ids of every token, as the component reads them (0 padding, 1 unknown, 2.. the vocabulary's).</summary>
    private static string CharacterIds(OnnxGraphWriter g, TokenVocabulary vocabulary, string input)
    {
        const int max = TokenVocabulary.MaxCharactersPerToken, half = max / 2;
        // (N, L, W) characters, padded, then ids: 0 padding, 1 unknown, 2.. the vocabulary's characters.
        string split = Split(g, input, "characters", node => node.AddAttribute("separators", new[] { "" }));
        string ids = g.ApplyIn(null, "LabelEncoder", "character_ids", node =>
        {
            node.AddAttribute("keys_strings", vocabulary.Characters!.Select(c => c.ToString()).Append(Padding));
            node.AddAttribute("values_int64s", Enumerable.Range(2, vocabulary.Characters!.Length).Select(i => (long)i).Append(0L));
            node.AddAttribute("default_int64", 1L);
        }, split);

        // Exactly 20 positions per token: the first 20 characters (zeros past the end), or the first and last 10 of a
        // longer token — position p reads character p, or p + max(length, 20) - 20 in the second half.
        string widened = g.Apply("Pad", "widened", ids, g.Longs([0, 0, 0, 0, 0, max], "widen"));
        string present = g.Apply("Cast", "present", n => n.AddAttribute("to", typeof(long)),
            g.Apply("Not", "not_padding", g.Apply("Equal", "is_padding", ids, g.Long(0, "zero"))));
        string lengths = g.Reduce("ReduceSum", present, 2, keepDimensions: true, "lengths");
        string offsets = g.Apply("Sub", "offsets", g.Apply("Max", "at_least_max", lengths, g.Long(max, "max")), g.Long(max, "max_again"));
        string positions = g.Apply("Add", "positions", g.Longs(Enumerable.Range(0, max).Select(p => (long)p).ToArray(), "position"),
            g.Apply("Mul", "shift", offsets, g.Longs(Enumerable.Range(0, max).Select(p => p < half ? 0L : 1L).ToArray(), "second_half")));
        return g.Apply("GatherElements", "kept", n => n.AddAttribute("axis", 2L), widened, positions);   // (N, L, 20)
    }

    /// <summary>(N, L, F) character features of (N, L, W) character ids (0 padding; W at most 20).</summary>
    private static string CharacterFeatures(OnnxGraphWriter g, SequenceEncoder encoder, string kept)
    {
        const int max = TokenVocabulary.MaxCharactersPerToken;
        // The CNN: embeddings (zero at padding), windows of three, filters, maximum over the token, tanh.
        string padding = g.Apply("Equal", "kept_padding", kept, g.Long(0, "zero_id"));
        string present = g.Apply("Not", "kept_not_padding", padding);
        string notPadding = g.Reshape(g.Apply("Cast", "kept_present", n => n.AddAttribute("to", typeof(float)), present), [0, 0, 0, 1], "present_4d");
        string embedded = g.Apply("Mul", "character_embedded",
            g.Apply("Gather", "character_vectors", n => n.AddAttribute("axis", 0L), g.Parameter(encoder, "characters.character_embedding.weight"), kept),
            notPadding);                                                                                          // (N, L, 20, E)
        string framed = g.Apply("Pad", "framed", embedded, g.Longs([0, 0, 1, 0, 0, 0, 1, 0], "frame"));           // (N, L, 22, E)
        string[] shifted = Enumerable.Range(0, CharacterEncoder.Window).Select(k => g.Apply("Slice", $"window{k}", framed,
            g.Longs([k], $"window{k}.start"), g.Longs([k + max], $"window{k}.end"), g.Longs([2], $"window{k}.axis"))).ToArray();
        string windows = g.Apply("Concat", "windows", n => n.AddAttribute("axis", 3L), shifted);                  // (N, L, 20, 3E)
        string responses = g.Linear(windows, OnnxGraphWriter.ParameterOf(encoder, "characters.filters.weight"),
            OnnxGraphWriter.ParameterOf(encoder, "characters.filters.bias"), "responses");
        string masked = g.Apply("Where", "masked", g.Reshape(padding, [0, 0, 0, 1], "padding_4d"),
            g.Float(float.NegativeInfinity, "minus_infinity"), responses);
        string pooled = g.Reduce("ReduceMax", masked, 2, keepDimensions: false, "token_maxima");
        // A token without characters has only -inf responses: its features are zero.
        string count = g.Reduce("ReduceSum", g.Apply("Cast", "counted", n => n.AddAttribute("to", typeof(long)), present), 2, keepDimensions: true, "character_count");
        string empty = g.Apply("Equal", "empty", count, g.Long(0, "no_characters"));
        return g.Apply("Tanh", "character_features",
            g.Apply("Where", "defined", empty, g.Float(0f, "zero_feature"), pooled));
    }
}
