using Xunit;

namespace Microsoft.ML.Rnn.Tests.Evaluation;

/// <summary>Tagging metrics against values computed by hand for each example.</summary>
public class TaggingEvaluatorTests
{
    private static string?[][] S(params string[] sentences) =>
        sentences.Select(s => s.Split(' ').Select(t => t == "_" ? null : t).ToArray()).ToArray();

    [Fact]
    public void TokenLevelMetrics()
    {
        var m = TaggingEvaluator.Evaluate(S("A B A", "B"), S("A A A", "B"));
        Assert.Equal(4, m.TokenCount);
        Assert.Equal(0.75, m.TokenAccuracy, 12);
        // A: 2 gold, 3 predicted, 2 correct. B: 2 gold, 1 predicted, 1 correct.
        Assert.Equal(Round(new TagMetrics(2.0 / 3, 1, 0.8, 2)), Round(m.PerTag["A"]));
        Assert.Equal(Round(new TagMetrics(1, 0.5, 2.0 / 3, 2)), Round(m.PerTag["B"]));
        Assert.Equal((0.8 + 2.0 / 3) / 2, m.MacroF1, 12);
        Assert.Null(m.Spans);
        Assert.Empty(m.PerEntityType);
    }

    [Fact]
    public void BioSpansAreExactMatchesWithLenientStarts()
    {
        // Gold spans: PER [0,1], LOC [3,3]. Predicted: PER [0,0], LOC [3,3] (a stray I-LOC starts an entity).
        var m = TaggingEvaluator.Evaluate(S("B-PER I-PER O B-LOC"), S("B-PER O O I-LOC"), TagScheme.Bio);
        Assert.Equal(new TagMetrics(0.5, 0.5, 0.5, 2), m.Spans);
        Assert.Equal(new TagMetrics(0, 0, 0, 1), m.PerEntityType["PER"]);
        Assert.Equal(new TagMetrics(1, 1, 1, 1), m.PerEntityType["LOC"]);
    }

    [Fact]
    public void BioTypeChangeInsideAnEntityStartsANewOne()
    {
        // B-A I-B: two spans, A [0,0] and B [1,1]; predicted B-A I-A: one span A [0,1].
        var m = TaggingEvaluator.Evaluate(S("B-A I-B"), S("B-A I-A"), TagScheme.Bio);
        Assert.Equal(0, m.Spans!.Precision);
        Assert.Equal(2, m.Spans.Support);
    }

    [Fact]
    public void BioesSpans()
    {
        // Gold: Y [0,2], X [3,3]. Predicted: Y [0,1], Y [2,2], X [3,3]: 1 of 3 predicted correct, 1 of 2 gold found.
        var m = TaggingEvaluator.Evaluate(S("B-Y I-Y E-Y S-X"), S("B-Y E-Y S-Y S-X"), TagScheme.Bioes);
        Assert.Equal(1.0 / 3, m.Spans!.Precision, 12);
        Assert.Equal(0.5, m.Spans.Recall, 12);
        Assert.Equal(0.4, m.Spans.F1, 12);
        Assert.Equal(1.0, TaggingEvaluator.Evaluate(S("B-Y I-Y E-Y S-X"), S("B-Y I-Y E-Y S-X"), TagScheme.Bioes).Spans!.F1);
    }

    [Fact]
    public void MissingGoldTagsAreSkipped()
    {
        var m = TaggingEvaluator.Evaluate(S("A _"), S("A B"));
        Assert.Equal(1, m.TokenCount);
        Assert.Equal(1.0, m.TokenAccuracy);
        Assert.False(m.PerTag.ContainsKey("B"));
    }

    [Fact]
    public void LengthMismatchNamesTheSentence()
    {
        var e = Assert.Throws<ArgumentException>(() => TaggingEvaluator.Evaluate(S("A B", "A"), S("A B", "A A")));
        Assert.StartsWith("TaggingEvaluator: sentence 1 has 1 gold tags but 2 predicted tags.", e.Message);
        e = Assert.Throws<ArgumentException>(() => TaggingEvaluator.Evaluate(S("A", "B"), S("A")));
        Assert.Contains("same number of sentences", e.Message);
    }

    private sealed class TagRow
    {
        public string[] Gold { get; set; } = [];
        public string[] Guess { get; set; } = [];
    }

    [Fact]
    public void DataViewOverloadComparesKeysByTheirText()
    {
        var ml = new MLContext(seed: 1);
        var rows = new[]
        {
            new TagRow { Gold = ["B-PER", "I-PER", "O", "B-LOC"], Guess = ["B-PER", "O", "O", "I-LOC"] },
            new TagRow { Gold = ["O"], Guess = ["B-LOC"] },
        };
        // Separate key mappings: the same text has different key values in the two columns.
        var data = ml.Transforms.Conversion.MapValueToKey("Label", "Gold")
            .Append(ml.Transforms.Conversion.MapValueToKey("PredictedLabel", "Guess"))
            .Fit(ml.Data.LoadFromEnumerable(rows)).Transform(ml.Data.LoadFromEnumerable(rows));
        var fromView = TaggingEvaluator.Evaluate(data, scheme: TagScheme.Bio);
        var fromLists = TaggingEvaluator.Evaluate(rows.Select(r => (IReadOnlyList<string?>)r.Gold), rows.Select(r => (IReadOnlyList<string?>)r.Guess), TagScheme.Bio);
        Assert.Equal(fromLists.TokenAccuracy, fromView.TokenAccuracy);
        Assert.Equal(fromLists.Spans, fromView.Spans);
        // Spans: gold PER [0,1], LOC [3,3]; predicted PER [0,0], LOC [3,3] and, in row 1, LOC [0,0].
        Assert.Equal(Round(new TagMetrics(1.0 / 3, 0.5, 0.4, 2)), Round(fromView.Spans!));
    }

    [Fact]
    public void DataViewOverloadRejectsWrongColumns()
    {
        var ml = new MLContext(seed: 1);
        var rows = new[] { new TagRow { Gold = ["A", "B"], Guess = ["A"] } };
        var data = ml.Transforms.Conversion.MapValueToKey("Label", "Gold")
            .Append(ml.Transforms.Conversion.MapValueToKey("PredictedLabel", "Guess"))
            .Fit(ml.Data.LoadFromEnumerable(rows)).Transform(ml.Data.LoadFromEnumerable(rows));
        var e = Assert.Throws<InvalidOperationException>(() => TaggingEvaluator.Evaluate(data));
        Assert.Equal("TaggingEvaluator: row 0 has 2 tags in label column 'Label' but 1 in predicted label column 'PredictedLabel'.", e.Message);
        var missing = Assert.Throws<ArgumentOutOfRangeException>(() => TaggingEvaluator.Evaluate(data, labelColumnName: "Nope"));
        Assert.Contains("Could not find label column 'Nope'", missing.Message);
        var wrongType = Assert.Throws<ArgumentOutOfRangeException>(() => TaggingEvaluator.Evaluate(data, labelColumnName: "Gold"));
        Assert.Contains("Schema mismatch for label column 'Gold': expected vector of key with text KeyValues", wrongType.Message);
    }

    private static TagMetrics Round(TagMetrics m) =>
        new(Math.Round(m.Precision, 12), Math.Round(m.Recall, 12), Math.Round(m.F1, 12), m.Support);
}
