using Microsoft.ML;
using Microsoft.ML.Data;
using Xunit;

namespace Microsoft.ML.Rnn.Tests.MLNet;

public sealed class LstmTaggerTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("rnn-tagger-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    /// <summary>Tokens and punctuation tags as key vectors (vocabulary and tag set from <paramref name="fitOn"/>).</summary>
    private static (IDataView Train, ITransformer Prep) Prepare(MLContext ml, IEnumerable<TaggedSentence> fitOn, string tagColumn = "Punct")
    {
        var data = ml.Data.LoadFromEnumerable(fitOn);
        var prep = ml.Transforms.Conversion.MapValueToKey("Features", "Tokens")
            .Append(ml.Transforms.Conversion.MapValueToKey("Label", tagColumn))
            .Fit(data);
        return (prep.Transform(data), prep);
    }

    private static LstmTagger.Options Small(bool crf) => new()
    {
        EmbeddingSize = 16, HiddenSize = 16, Bidirectional = true, UseCrf = crf, MaxEpochs = 2, BatchSize = 16, Seed = 5,
    };

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Workout(bool crf)
    {
        var ml = new MLContext(seed: 1);
        var sentences = ConllSentences.Read(ConllSentences.DataPath("truecase-punct-train.conll"), take: 60);
        var (data, _) = Prepare(ml, sentences);
        var plain = ml.Data.LoadFromEnumerable(sentences); // tokens as text: the wrong type
        var result = EstimatorWorkout.Run(ml, ml.Transforms.Rnn.LstmTagger(Small(crf)), data, new WorkoutOptions
        {
            ModelPath = Path.Combine(_directory, $"tagger-{crf}.zip"),
            Tolerance = 1e-5,
            InvalidInputs = new (IDataView, string)[]
            {
                (ml.Data.LoadFromEnumerable(new[] { new { Other = 1f } }), "Features"),
                (ml.Transforms.CopyColumns("Features", "Tokens").Fit(plain).Transform(plain), "Features"),
            },
        });
        using var fitted = result.Fitted;
        Assert.Equal(crf, fitted.UsesCrf);
        var predicted = result.LoadedOutput.Schema["PredictedLabel"];
        Assert.Equal(new VectorDataViewType(new KeyDataViewType(typeof(uint), fitted.TagCount)), predicted.Type);

        // One tag per token, and T probabilities per token that sum to one.
        var tokens = ColumnValues.Read(result.LoadedOutput, "Features").Cast<object[]>().ToList();
        var tags = ColumnValues.Read(result.LoadedOutput, "PredictedLabel").Cast<object[]>().ToList();
        var scores = ColumnValues.Read(result.LoadedOutput, "Score").Cast<object[]>().ToList();
        for (int i = 0; i < tokens.Count; i++)
        {
            Assert.Equal(tokens[i].Length, tags[i].Length);
            Assert.Equal(tokens[i].Length * fitted.TagCount, scores[i].Length);
            for (int t = 0; t < tokens[i].Length; t++)
                Assert.Equal(1.0, scores[i].Skip(t * fitted.TagCount).Take(fitted.TagCount).Cast<float>().Sum(), 4);
        }

        // MapKeyToValue turns predicted tags back into their text, and the evaluator reads them.
        var text = ml.Transforms.Conversion.MapKeyToValue("PredictedText", "PredictedLabel").Fit(result.FittedOutput).Transform(result.FittedOutput);
        Assert.Equal(new VectorDataViewType(TextDataViewType.Instance), text.Schema["PredictedText"].Type);
        Assert.InRange(TaggingEvaluator.Evaluate(result.FittedOutput).TokenAccuracy, 0, 1);

        // A separate process with Model.Load only gives the same tags.
        var loader = LoaderProcess.Run(ml, result.ModelPath, data, new[] { "PredictedLabel", "Score" });
        Assert.Equal(tags.Select(t => t.Select(k => (float)(ulong)k).ToArray()), loader["PredictedLabel"]);
        for (int i = 0; i < scores.Count; i++)
            Assert.Equal(scores[i].Cast<float>().ToArray(), loader["Score"][i], new Tolerance(1e-5f));
    }

    [Fact]
    public void TagsTokensLengthMismatchNamesBothColumns()
    {
        var ml = new MLContext(seed: 1);
        var sentences = ConllSentences.Read(ConllSentences.DataPath("truecase-punct-train.conll"), take: 5);
        sentences[3].Punct = sentences[3].Punct.Skip(1).ToArray();
        var (data, _) = Prepare(ml, sentences);
        var e = Assert.Throws<InvalidOperationException>(() => ml.Transforms.Rnn.LstmTagger(Small(false)).Fit(data));
        Assert.Equal($"LstmTagger: row 3 has {sentences[3].Tokens.Length} steps in feature column 'Features' but {sentences[3].Punct.Length} tags " +
                     "in label column 'Label'; each token needs exactly one tag.", e.Message);
    }

    [Fact]
    public void ScalarLabelIsRejectedWithMlNetWording()
    {
        var ml = new MLContext(seed: 1);
        var rows = ml.Data.LoadFromEnumerable(new[] { new { Tokens = new[] { "a", "b" }, Tag = "x" } });
        var data = ml.Transforms.Conversion.MapValueToKey("Features", "Tokens").Append(ml.Transforms.Conversion.MapValueToKey("Label", "Tag"))
            .Fit(rows).Transform(rows);
        var e = Assert.ThrowsAny<Exception>(() => ml.Transforms.Rnn.LstmTagger(Small(false)).Fit(data));
        Assert.Contains("Schema mismatch for label column 'Label': expected vector of key (UInt32)", e.Message);
    }

    /// <summary>
    /// Real data: predict the punctuation after each word and, separately, each word's case from lower-cased words.
    /// The taggers must beat the most-frequent-tag-per-word baseline on PERIOD F1 and on C (Capitalised) F1.
    /// </summary>
    [Fact]
    public void BeatsMostFrequentTagBaselineOnTruecasePunct()
    {
        var ml = new MLContext(seed: 1);
        var train = ConllSentences.Read(ConllSentences.DataPath("truecase-punct-train.conll"), take: 1200);
        var test = ConllSentences.Read(ConllSentences.DataPath("truecase-punct-test.conll"));
        foreach (var (column, tag) in new[] { ("Punct", "PERIOD"), ("Case", "C") })
        {
            var (data, prep) = Prepare(ml, train, column);
            var options = new LstmTagger.Options
            {
                EmbeddingSize = 48, HiddenSize = 64, Bidirectional = true, MaxEpochs = 6, BatchSize = 32, LearningRate = 0.01f, Seed = 3,
            };
            using var tagger = ml.Transforms.Rnn.LstmTagger(options).Fit(data);
            var scored = tagger.Transform(prep.Transform(ml.Data.LoadFromEnumerable(test)));
            double model = TaggingEvaluator.Evaluate(scored).PerTag[tag].F1;

            Func<TaggedSentence, string[]> gold = column == "Punct" ? s => s.Punct : s => s.Case;
            var baseline = MostFrequentTagBaseline(train, gold);
            var baselineMetrics = TaggingEvaluator.Evaluate(test.Select(s => (IReadOnlyList<string?>)gold(s)),
                test.Select(s => (IReadOnlyList<string?>)s.Tokens.Select(baseline).ToArray()));
            double reference = baselineMetrics.PerTag.TryGetValue(tag, out var m) ? m.F1 : 0;
            Assert.True(model > reference, $"{tag} F1: tagger {model:F3}, most-frequent-tag baseline {reference:F3}");
        }
    }

    /// <summary>Each word's most frequent training tag; unseen words get the most frequent tag overall.</summary>
    internal static Func<string, string> MostFrequentTagBaseline(IEnumerable<TaggedSentence> train, Func<TaggedSentence, string[]> tags)
    {
        var pairs = train.SelectMany(s => s.Tokens.Zip(tags(s))).ToList();
        string overall = pairs.GroupBy(p => p.Second).OrderByDescending(g => g.Count()).ThenBy(g => g.Key, StringComparer.Ordinal).First().Key;
        var byWord = pairs.GroupBy(p => p.First).ToDictionary(g => g.Key,
            g => g.GroupBy(p => p.Second).OrderByDescending(t => t.Count()).ThenBy(t => t.Key, StringComparer.Ordinal).First().Key);
        return word => byWord.TryGetValue(word, out var t) ? t : overall;
    }

    private sealed class Tolerance(float tolerance) : IEqualityComparer<float>
    {
        public bool Equals(float x, float y) => Math.Abs(x - y) <= tolerance;
        public int GetHashCode(float obj) => 0;
    }
}
