namespace Microsoft.ML.Rnn.Networks;

/// <summary>
/// The words and characters a network reading token text knows: word ids for its embedding (one id shared by every
/// word it does not know) and character ids for its <see cref="CharacterEncoder"/>, so that a word never seen in
/// training still carries its spelling.
/// </summary>
/// <remarks>
/// Word ids: 0..W-1 for <see cref="Words"/>, W (= <see cref="UnknownWord"/>) for any other token. Character ids: 0 is
/// padding (past a token's end), 1 an unknown character, 2.. the characters of <see cref="Characters"/> in order; a
/// vocabulary of a network that reads words only has no characters (<see cref="ReadsCharacters"/> false).
/// A token longer than <see cref="MaxCharactersPerToken"/> keeps its first and last halves of that many characters
/// (prefixes and suffixes carry most of a word's shape).
/// </remarks>
public sealed class TokenVocabulary
{
    /// <summary>Characters read per token.</summary>
    public const int MaxCharactersPerToken = 20;

    /// <summary>Largest vocabulary a loaded model may claim (a sanity bound for untrusted files).</summary>
    public const int MaxWords = 1 << 26;

    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _wordIds;
    private readonly Dictionary<char, int> _characterIds;

    /// <summary>A vocabulary of <paramref name="words"/> (distinct) and <paramref name="characters"/> (distinct; null: words
    /// only), and the words of a <see cref="WordBagPath"/> when the network has one.</summary>
    public TokenVocabulary(IReadOnlyList<string> words, string? characters, WordBagVocabulary? bag = null)
    {
        ArgumentNullException.ThrowIfNull(words);
        if (words.Count > MaxWords)
            throw new ArgumentOutOfRangeException(nameof(words), words.Count, $"TokenVocabulary: at most {MaxWords} words, got {words.Count}.");
        var ids = new Dictionary<string, int>(words.Count, StringComparer.Ordinal);
        for (int i = 0; i < words.Count; i++)
        {
            if (words[i] is null || !ids.TryAdd(words[i], i))
                throw new ArgumentException($"TokenVocabulary: word {i} ('{words[i]}') is null or repeated.", nameof(words));
        }
        _characterIds = new Dictionary<char, int>(characters?.Length ?? 0);
        for (int i = 0; i < (characters?.Length ?? 0); i++)
        {
            if (!_characterIds.TryAdd(characters![i], i + 2))
                throw new ArgumentException($"TokenVocabulary: character {i} ('{characters[i]}') is repeated.", nameof(characters));
        }
        Words = words.ToArray();
        Characters = characters;
        Bag = bag;
        _wordIds = ids.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    /// <summary>The known words, in id order.</summary>
    public IReadOnlyList<string> Words { get; }

    /// <summary>The known characters, in id order (id = index + 2); null when the network reads words only.</summary>
    public string? Characters { get; }

    /// <summary>The words of the network's <see cref="WordBagPath"/>, or null when it has none.</summary>
    public WordBagVocabulary? Bag { get; }

    /// <summary>True when tokens are read with their character ids.</summary>
    public bool ReadsCharacters => Characters is not null;

    /// <summary>The id of every word not in <see cref="Words"/>.</summary>
    public int UnknownWord => Words.Count;

    /// <summary>Rows of a word embedding over this vocabulary: the words and the unknown word.</summary>
    public long WordCount => Words.Count + 1L;

    /// <summary>Rows of a character embedding over this vocabulary: padding, the unknown character and the characters (0 without characters).</summary>
    public long CharacterCount => Characters is null ? 0 : Characters.Length + 2L;

    /// <summary>
    /// The vocabulary of <paramref name="tokens"/> (training text): every word seen at least
    /// <paramref name="minimumWordCount"/> times, most frequent first (ties in first-seen order), and every character
    /// seen, in first-seen order (none unless <paramref name="readCharacters"/>). Words seen fewer times read as the
    /// unknown word, which is how its embedding learns. With <paramref name="wordBag"/>, also the words of a
    /// <see cref="WordBagPath"/> (<see cref="WordBagVocabulary.Build"/>).
    /// </summary>
    public static TokenVocabulary Build(IEnumerable<string> tokens, int minimumWordCount, bool readCharacters = true, bool wordBag = false)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        ArgumentOutOfRangeException.ThrowIfLessThan(minimumWordCount, 1);
        var counts = new Dictionary<string, (int Count, int First)>(StringComparer.Ordinal);
        var characters = new List<char>();
        var seen = new HashSet<char>();
        foreach (string token in tokens)
        {
            counts[token] = counts.TryGetValue(token, out var c) ? (c.Count + 1, c.First) : (1, counts.Count);
            if (!readCharacters) continue;
            foreach (char ch in token)
            {
                if (seen.Add(ch)) characters.Add(ch);
            }
        }
        var words = counts.Where(p => p.Value.Count >= minimumWordCount)
            .OrderByDescending(p => p.Value.Count).ThenBy(p => p.Value.First)
            .Select(p => p.Key).ToArray();
        return new TokenVocabulary(words, readCharacters ? new string(characters.ToArray()) : null,
            wordBag ? WordBagVocabulary.Build(counts.OrderBy(p => p.Value.First).Select(p => p.Key)) : null);
    }

    /// <summary>The id of <paramref name="token"/>: its index in <see cref="Words"/>, or <see cref="UnknownWord"/>.</summary>
    public int WordId(ReadOnlySpan<char> token) => _wordIds.TryGetValue(token, out int id) ? id : UnknownWord;

    /// <summary>The character ids of <paramref name="token"/> (at most <see cref="MaxCharactersPerToken"/>, none for an empty token).</summary>
    public int[] CharacterIds(ReadOnlySpan<char> token)
    {
        if (!ReadsCharacters)
            throw new InvalidOperationException("TokenVocabulary: this vocabulary reads words only; it has no character ids.");
        const int half = MaxCharactersPerToken / 2;
        if (token.Length > MaxCharactersPerToken)
        {
            var ends = new int[MaxCharactersPerToken];
            Fill(token[..half], ends.AsSpan(0, half));
            Fill(token[^half..], ends.AsSpan(half));
            return ends;
        }
        var ids = new int[token.Length];
        Fill(token, ids);
        return ids;
    }

    private void Fill(ReadOnlySpan<char> characters, Span<int> ids)
    {
        for (int i = 0; i < characters.Length; i++)
            ids[i] = _characterIds.TryGetValue(characters[i], out int id) ? id : 1;
    }
}
