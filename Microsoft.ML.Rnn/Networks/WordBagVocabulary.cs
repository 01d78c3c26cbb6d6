using System.Text.RegularExpressions;

namespace Microsoft.ML.Rnn.Networks;

/// <summary>
/// The words of a <see cref="WordBagPath"/>: every run of letters and digits inside a token ("Computers," gives
/// "computers", "don't" gives "don" and "t"), lower-cased, as scikit-learn's TfidfVectorizer reads text. Tokenizers
/// leave punctuation on words and keep their case; a bag of such raw tokens measured 5–12 points of macro accuracy
/// below one of these words on the topic data (docs/components/sequence-classifier.md).
/// </summary>
/// <remarks>
/// A piece is looked up as it is written, among three forms of each word: lower case ("the"), capitalised ("The") and
/// upper case ("THE"); any other form ("McDonald", or a word not seen in training) is not in the bag. That lookup is
/// one exact string map, which an ONNX graph writes as a <c>LabelEncoder</c> (ONNX Runtime's string lower-casing
/// depends on the machine's locales), so the component and its ONNX graph read the same words.
/// </remarks>
public sealed partial class WordBagVocabulary
{
    /// <summary>What a word is: a run of letters and digits (the same expression in .NET and in ONNX Runtime's RE2).</summary>
    public const string WordExpression = @"[\p{L}\p{N}]+";

    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _ids;

    /// <summary>A bag over <paramref name="words"/> (distinct, lower case).</summary>
    public WordBagVocabulary(IReadOnlyList<string> words)
    {
        ArgumentNullException.ThrowIfNull(words);
        if (words.Count > TokenVocabulary.MaxWords)
            throw new ArgumentOutOfRangeException(nameof(words), words.Count, $"WordBagVocabulary: at most {TokenVocabulary.MaxWords} words, got {words.Count}.");
        var forms = new List<(string Form, int Id)>();
        var ids = new Dictionary<string, int>(words.Count * 3, StringComparer.Ordinal);
        for (int i = 0; i < words.Count; i++)
        {
            string word = words[i];
            if (word is null || word.Length == 0 || word != word.ToLowerInvariant() || !ids.TryAdd(word, i))
                throw new ArgumentException($"WordBagVocabulary: word {i} ('{word}') is empty, not lower case or repeated.", nameof(words));
            forms.Add((word, i));
        }
        // The other forms after every word's own, so that a form that is also a word (none, as words are lower case) never moves.
        for (int i = 0; i < words.Count; i++)
        {
            foreach (string form in (ReadOnlySpan<string>)[Capitalised(words[i]), words[i].ToUpperInvariant()])
            {
                if (ids.TryAdd(form, i)) forms.Add((form, i));
            }
        }
        Words = words.ToArray();
        Forms = forms;
        _ids = ids.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    /// <summary>The bag's words, in id order.</summary>
    public IReadOnlyList<string> Words { get; }

    /// <summary>Every written form looked up and its word's id (see the remarks).</summary>
    public IReadOnlyList<(string Form, int Id)> Forms { get; }

    /// <summary>The bag of the words of <paramref name="tokens"/> (training text), lower-cased, in first-seen order.</summary>
    public static WordBagVocabulary Build(IEnumerable<string> tokens)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var words = new List<string>();
        foreach (string token in tokens)
        {
            foreach (var match in Word().EnumerateMatches(token))
            {
                string word = token.Substring(match.Index, match.Length).ToLowerInvariant();
                if (seen.Add(word)) words.Add(word);
            }
        }
        return new WordBagVocabulary(words);
    }

    /// <summary>Appends the ids of the bag's words in <paramref name="token"/> to <paramref name="ids"/> (other pieces are skipped).</summary>
    public void AddIds(ReadOnlySpan<char> token, List<int> ids)
    {
        foreach (var match in Word().EnumerateMatches(token))
        {
            if (_ids.TryGetValue(token.Slice(match.Index, match.Length), out int id)) ids.Add(id);
        }
    }

    private static string Capitalised(string word)
        => char.ToUpperInvariant(word[0]) + word[1..];   // words are never empty

    [GeneratedRegex(WordExpression, RegexOptions.CultureInvariant)]
    private static partial Regex Word();
}
