using Microsoft.ML.Data;
using Microsoft.ML.Rnn.Features;

namespace Microsoft.ML.Rnn;

/// <summary>
/// Evaluates sequence tagging, which ML.NET's evaluators do not cover: token accuracy, per-tag precision/recall/F1,
/// macro-F1, and for BIO/BIOES tags exact-match entity-span F1 (as CoNLL's conlleval).
/// </summary>
/// <remarks>
/// Span decoding is lenient like conlleval: an I-X (or E-X) that does not continue an open X entity starts a new one;
/// B-X and S-X always start one; O, E-X and S-X close the open entity. A span counts as correct only when its start,
/// end and type all match a gold span.
/// </remarks>
public static class TaggingEvaluator
{
    /// <summary>Evaluates predicted tag sequences against gold ones, sentence by sentence.</summary>
    /// <param name="gold">Gold tags per sentence; a null tag is missing and its token is skipped.</param>
    /// <param name="predicted">Predicted tags per sentence, each as long as its gold sentence.</param>
    /// <param name="scheme">How tags encode spans; <see cref="TagScheme.None"/> skips span metrics.</param>
    public static TaggingMetrics Evaluate(IEnumerable<IReadOnlyList<string?>> gold, IEnumerable<IReadOnlyList<string?>> predicted,
        TagScheme scheme = TagScheme.None)
    {
        ArgumentNullException.ThrowIfNull(gold);
        ArgumentNullException.ThrowIfNull(predicted);
        var counts = new Dictionary<string, (long Correct, long Predicted, long Gold)>(StringComparer.Ordinal);
        var spanCounts = new Dictionary<string, (long Correct, long Predicted, long Gold)>(StringComparer.Ordinal);
        long tokens = 0, correctTokens = 0;
        int sentence = 0;
        using var goldSentences = gold.GetEnumerator();
        using var predictedSentences = predicted.GetEnumerator();
        while (true)
        {
            bool hasGold = goldSentences.MoveNext(), hasPredicted = predictedSentences.MoveNext();
            if (hasGold != hasPredicted)
            {
                throw new ArgumentException(
                    $"TaggingEvaluator: gold and predicted tags must have the same number of sentences; " +
                    $"one ended after {sentence} sentences while the other continues.", nameof(predicted));
            }
            if (!hasGold) break;
            var g = goldSentences.Current;
            var p = predictedSentences.Current;
            if (g.Count != p.Count)
            {
                throw new ArgumentException(
                    $"TaggingEvaluator: sentence {sentence} has {g.Count} gold tags but {p.Count} predicted tags.", nameof(predicted));
            }
            for (int i = 0; i < g.Count; i++)
            {
                if (g[i] is not { } goldTag) continue;
                string predictedTag = p[i] ?? "";
                tokens++;
                bool hit = goldTag == predictedTag;
                if (hit) correctTokens++;
                Add(counts, goldTag, correct: hit ? 1 : 0, predicted: 0, gold: 1);
                Add(counts, predictedTag, correct: 0, predicted: 1, gold: 0);
            }
            if (scheme != TagScheme.None)
            {
                var goldSpans = Spans(g, scheme);
                var predictedSpans = Spans(p, scheme);
                foreach (var span in goldSpans)
                    Add(spanCounts, span.Type, correct: predictedSpans.Contains(span) ? 1 : 0, predicted: 0, gold: 1);
                foreach (var span in predictedSpans)
                    Add(spanCounts, span.Type, correct: 0, predicted: 1, gold: 0);
            }
            sentence++;
        }

        var perTag = counts.OrderBy(kv => kv.Key, StringComparer.Ordinal)
            .ToDictionary(kv => kv.Key, kv => TagMetrics.From(kv.Value.Correct, kv.Value.Predicted, kv.Value.Gold));
        var perType = spanCounts.OrderBy(kv => kv.Key, StringComparer.Ordinal)
            .ToDictionary(kv => kv.Key, kv => TagMetrics.From(kv.Value.Correct, kv.Value.Predicted, kv.Value.Gold));
        TagMetrics? spans = scheme == TagScheme.None ? null : TagMetrics.From(
            spanCounts.Values.Sum(c => c.Correct), spanCounts.Values.Sum(c => c.Predicted), spanCounts.Values.Sum(c => c.Gold));
        return new TaggingMetrics(tokens, tokens == 0 ? 0 : (double)correctTokens / tokens, perTag, scheme, spans, perType);
    }

    /// <summary>
    /// Evaluates the gold and predicted key-vector columns of a scored data view (e.g. a tagger's output). Both columns
    /// must be variable vectors of keys with text KeyValues; tags are compared by their text.
    /// </summary>
    public static TaggingMetrics Evaluate(IDataView data, string labelColumnName = "Label",
        string predictedLabelColumnName = "PredictedLabel", TagScheme scheme = TagScheme.None)
    {
        ArgumentNullException.ThrowIfNull(data);
        var label = TagColumn(data.Schema, labelColumnName, "label");
        var predicted = TagColumn(data.Schema, predictedLabelColumnName, "predicted label");
        var gold = new List<string?[]>();
        var guesses = new List<string?[]>();
        using (var cursor = data.GetRowCursor([label.Column, predicted.Column]))
        {
            var getGold = cursor.GetGetter<VBuffer<uint>>(label.Column);
            var getPredicted = cursor.GetGetter<VBuffer<uint>>(predicted.Column);
            VBuffer<uint> g = default, p = default;
            while (cursor.MoveNext())
            {
                getGold(ref g);
                getPredicted(ref p);
                if (g.Length != p.Length)
                {
                    throw new InvalidOperationException(
                        $"TaggingEvaluator: row {cursor.Position} has {g.Length} tags in label column '{labelColumnName}' " +
                        $"but {p.Length} in predicted label column '{predictedLabelColumnName}'.");
                }
                gold.Add(ToTags(g, label.Names));
                guesses.Add(ToTags(p, predicted.Names));
            }
        }
        return Evaluate(gold, guesses, scheme);
    }

    private static (DataViewSchema.Column Column, string[] Names) TagColumn(DataViewSchema schema, string name, string role)
    {
        if (schema.GetColumnOrNull(name) is not { } column)
            throw new ArgumentOutOfRangeException(nameof(name), $"Could not find {role} column '{name}'.");
        if (column.Type is not VectorDataViewType { ItemType: KeyDataViewType } ||
            column.Annotations.Schema.GetColumnOrNull(AnnotationUtils.Kinds.KeyValues) is not { } keyValues ||
            keyValues.Type is not VectorDataViewType { ItemType: TextDataViewType })
        {
            throw new ArgumentOutOfRangeException(nameof(name),
                $"Schema mismatch for {role} column '{name}': expected vector of key with text KeyValues, got {column.Type}.");
        }
        VBuffer<ReadOnlyMemory<char>> values = default;
        column.GetKeyValues(ref values);
        return (column, values.DenseValues().Select(v => v.ToString()).ToArray());
    }

    // ML.NET keys are 1-based with 0 meaning missing; missing tags become null (skipped as gold, wrong as predictions).
    private static string?[] ToTags(VBuffer<uint> keys, string[] names) =>
        keys.DenseValues().Select(k => k == 0 || k > names.Length ? null : names[KeyNumbering.ToIndex(k)]).ToArray();

    private static void Add(Dictionary<string, (long Correct, long Predicted, long Gold)> counts, string key,
        long correct, long predicted, long gold)
    {
        counts.TryGetValue(key, out var c);
        counts[key] = (c.Correct + correct, c.Predicted + predicted, c.Gold + gold);
    }

    private static HashSet<(int Start, int End, string Type)> Spans(IReadOnlyList<string?> tags, TagScheme scheme)
    {
        var spans = new HashSet<(int, int, string)>();
        int start = -1;
        string? type = null;
        void Close(int end)
        {
            if (type is not null) spans.Add((start, end, type));
            type = null;
        }
        for (int i = 0; i < tags.Count; i++)
        {
            var (prefix, entity) = Split(tags[i]);
            bool begins = prefix is 'B' or 'S' || (prefix is 'I' or 'E' && entity != type);
            if (prefix == 'O' || begins) Close(i - 1);
            if (begins)
            {
                start = i;
                type = entity;
            }
            if (scheme == TagScheme.Bioes && prefix is 'E' or 'S') Close(i);
        }
        Close(tags.Count - 1);
        return spans;
    }

    /// <summary>"B-PER" → ('B', "PER"); "O", missing or unprefixed tags → ('O', null).</summary>
    private static (char Prefix, string? Type) Split(string? tag)
    {
        if (tag is { Length: > 2 } && tag[1] == '-' && tag[0] is 'B' or 'I' or 'E' or 'S')
            return (tag[0], tag[2..]);
        return ('O', null);
    }
}
