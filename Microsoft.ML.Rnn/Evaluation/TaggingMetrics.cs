namespace Microsoft.ML.Rnn;

/// <summary>Precision, recall and F1 of one tag (token level) or one entity type (span level).</summary>
/// <param name="Precision">Correct predictions of the tag / predictions of the tag (0 when it was never predicted).</param>
/// <param name="Recall">Correct predictions of the tag / gold occurrences of the tag (0 when it never occurs).</param>
/// <param name="F1">Harmonic mean of precision and recall (0 when both are 0).</param>
/// <param name="Support">Gold occurrences of the tag.</param>
public sealed record TagMetrics(double Precision, double Recall, double F1, long Support)
{
    internal static TagMetrics From(long correct, long predicted, long gold)
    {
        double p = predicted == 0 ? 0 : (double)correct / predicted;
        double r = gold == 0 ? 0 : (double)correct / gold;
        return new TagMetrics(p, r, p + r == 0 ? 0 : 2 * p * r / (p + r), gold);
    }

    /// <summary>The unweighted mean F1 of <paramref name="tags"/> (0 for none): the evaluator's and the tagger's validation macro-F1.</summary>
    internal static double MacroF1(IEnumerable<TagMetrics> tags)
    {
        var f1 = tags.Select(m => m.F1).ToArray();
        return f1.Length == 0 ? 0 : f1.Average();
    }
}

/// <summary>Quality of a sequence tagger, computed by <see cref="TaggingEvaluator"/>.</summary>
public sealed class TaggingMetrics
{
    internal TaggingMetrics(long tokens, double tokenAccuracy, IReadOnlyDictionary<string, TagMetrics> perTag,
        TagScheme scheme, TagMetrics? spans, IReadOnlyDictionary<string, TagMetrics> perEntityType)
    {
        TokenCount = tokens;
        TokenAccuracy = tokenAccuracy;
        PerTag = perTag;
        MacroF1 = TagMetrics.MacroF1(perTag.Values);
        Scheme = scheme;
        Spans = spans;
        PerEntityType = perEntityType;
    }

    /// <summary>Tokens evaluated (tokens whose gold tag is missing are not counted).</summary>
    public long TokenCount { get; }

    /// <summary>Fraction of tokens whose predicted tag equals the gold tag.</summary>
    public double TokenAccuracy { get; }

    /// <summary>Token-level precision, recall and F1 of every tag that occurs in the gold or the predicted tags.</summary>
    public IReadOnlyDictionary<string, TagMetrics> PerTag { get; }

    /// <summary>Unweighted mean of <see cref="PerTag"/> F1 over the tags in <see cref="PerTag"/>.</summary>
    public double MacroF1 { get; }

    /// <summary>The span scheme the span metrics were computed with.</summary>
    public TagScheme Scheme { get; }

    /// <summary>Exact-match entity-span precision, recall and F1 over all types; null when <see cref="Scheme"/> is None.</summary>
    public TagMetrics? Spans { get; }

    /// <summary>Entity-span metrics per entity type; empty when <see cref="Scheme"/> is None.</summary>
    public IReadOnlyDictionary<string, TagMetrics> PerEntityType { get; }
}
