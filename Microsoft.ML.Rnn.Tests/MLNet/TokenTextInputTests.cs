using Microsoft.ML.Rnn.Networks;
using Xunit;

namespace Microsoft.ML.Rnn.Tests.MLNet;

/// <summary>
/// Token text as the feature column: the component's own vocabulary (rare words share the unknown word's row) and
/// character features, trained, saved and loaded in another process; words never seen in training carry their spelling.
/// </summary>
public sealed class TokenTextInputTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("rnn-tokens-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private sealed class TokenRow
    {
        public string[] Features { get; set; } = [];
        public string[] Tags { get; set; } = [];
    }

    private sealed class SentenceRow
    {
        public string[] Features { get; set; } = [];
        public bool Label { get; set; }
    }

    /// <summary>The truecasing sentences with their tokens as text in "Features" and case tags as keys in "Label".</summary>
    private static IDataView CaseTags(MLContext ml, IEnumerable<TaggedSentence> sentences)
    {
        var data = ml.Data.LoadFromEnumerable(sentences.Select(s => new TokenRow { Features = s.Tokens, Tags = s.Case }));
        return ml.Transforms.Conversion.MapValueToKey("Label", "Tags").Fit(data).Transform(data);
    }

    [Fact]
    public void TaggerOnTokenTextWorksOutAndScoresTheSameInAnotherProcess()
    {
        var ml = new MLContext(seed: 1);
        var data = CaseTags(ml, ConllSentences.Read(ConllSentences.DataPath("truecase-punct-train.conll"), take: 60));
        var options = new LstmTagger.Options
        {
            EmbeddingSize = 16, HiddenSize = 16, CharacterFeatures = 8, Bidirectional = true, MaxEpochs = 2, BatchSize = 16, Seed = 5,
        };
        var result = EstimatorWorkout.Run(ml, ml.Transforms.Rnn.LstmTagger(options), data, new WorkoutOptions
        {
            ModelPath = Path.Combine(_directory, "tagger.zip"),
            Tolerance = Tolerances.Float32Score,
            InvalidInputs = new (IDataView, string)[]
            {
                (ml.Data.LoadFromEnumerable(new[] { new { Features = "one text, not tokens", Label = 1u } }), "Features"),
            },
        });
        using var fitted = result.Fitted;
        Assert.True(fitted.Encoder.Options.UsesCharacters);
        // Words seen once share the unknown word's row (MinimumWordCount 2).
        Assert.True(fitted.Encoder.VocabularySize < ColumnValues.Read(data, "Features").Cast<object[]>().SelectMany(t => t).Distinct().Count());

        // A model trained on token text refuses keys, naming the column and what it expected.
        var keys = ml.Transforms.Conversion.MapValueToKey("Features").Fit(data).Transform(data);
        var error = Assert.ThrowsAny<ArgumentOutOfRangeException>(() => fitted.Transform(keys));
        Assert.Contains("Schema mismatch for feature column 'Features': expected vector of String (tokens)", error.Message);

        var loader = LoaderProcess.Run(ml, result.ModelPath, data, new[] { "PredictedLabel", "Score" });
        var scores = ColumnValues.Read(result.FittedOutput, "Score").Cast<object[]>().ToList();
        for (int i = 0; i < scores.Count; i++)
            Assert.Equal(scores[i].Cast<float>().ToArray(), loader["Score"][i], Tolerances.Within(Tolerances.Float32Score));
    }

    /// <summary>
    /// Sentences whose label is whether a word ending in "ing" occurs; the test sentences use only words the training
    /// rows never had. Reading characters, the classifier learns the suffix and scores unseen words right; reading words
    /// only, every rare or unseen word is the same unknown word and it can do no better than chance.
    /// </summary>
    [Fact]
    public void CharacterFeaturesCarryWordsNeverSeenInTraining()
    {
        var ml = new MLContext(seed: 1);
        var random = new Random(3);
        string[] stems = ["walk", "talk", "hold", "jump", "read", "play", "cook", "swim", "draw", "work", "rest", "call",
            "look", "help", "turn", "move", "pull", "push", "kick", "wash", "fill", "melt", "dust", "sort", "mark", "pick"];
        // A stem, three letters spelling the variant in base 26, and the suffix.
        string Word(int stem, bool ing, int variant)
            => stems[stem] + (char)('a' + variant / 676) + (char)('a' + variant / 26 % 26) + (char)('a' + variant % 26) + (ing ? "ing" : "s");
        SentenceRow[] Sentences(int count, Func<int> variant) => Enumerable.Range(0, count).Select(_ =>
        {
            bool label = random.Next(2) == 1;
            int length = random.Next(3, 7), at = random.Next(length);
            return new SentenceRow
            {
                Features = Enumerable.Range(0, length).Select(t => Word(random.Next(stems.Length), label && t == at, variant())).ToArray(),
                Label = label,
            };
        }).ToArray();
        // Most training words occur once (and so read as the unknown word); the test words were never seen.
        var train = ml.Data.LoadFromEnumerable(Sentences(1000, () => random.Next(0, 8000)));
        var test = ml.Data.LoadFromEnumerable(Sentences(200, () => random.Next(9000, 17576)));

        double Accuracy(int characterFeatures)
        {
            var options = new RnnSequenceClassifier.Options
            {
                EmbeddingSize = 16, HiddenSize = 16, CharacterFeatures = characterFeatures, MaxEpochs = 15, Seed = 2,
            };
            using var model = ml.Transforms.Rnn.SequenceClassifier(options).Fit(train);
            return ml.BinaryClassification.EvaluateNonCalibrated(model.Transform(test)).Accuracy;
        }

        double withCharacters = Accuracy(16), wordsOnly = Accuracy(0);
        Assert.True(withCharacters > 0.9, $"with characters: accuracy {withCharacters} on unseen words (chance 0.5)");
        Assert.True(wordsOnly < 0.7, $"words only: accuracy {wordsOnly} on unseen words, expected near chance");
    }

    [Fact]
    public void EncoderOnTokenTextRoundTripsThroughAZip()
    {
        var ml = new MLContext(seed: 1);
        var sentences = ConllSentences.Read(ConllSentences.DataPath("truecase-punct-train.conll"), take: 40);
        var data = ml.Data.LoadFromEnumerable(sentences.Select(s => new TokenRow { Features = s.Tokens, Tags = s.Case }));
        var options = new BiGruEncoder.Options
        {
            EmbeddingSize = 8, HiddenSize = 8, CharacterFeatures = 4, MaxEpochs = 1, Seed = 3, OutputColumnName = "Encoding",
            Objective = EncoderObjective.NextStepPrediction,
        };
        using var fitted = ml.Transforms.Rnn.BiGruEncoder(options).Fit(data);
        string path = Path.Combine(_directory, "encoder.zip");
        ml.Model.Save(fitted, data.Schema, path);
        var loaded = ml.Model.Load(path, out _);
        try
        {
            var expected = ColumnValues.Read(fitted.Transform(data), "Encoding").Cast<object[]>().ToList();
            var actual = ColumnValues.Read(loaded.Transform(data), "Encoding").Cast<object[]>().ToList();
            Assert.Equal(expected.Count, actual.Count);
            for (int i = 0; i < expected.Count; i++)
                Assert.Equal(expected[i].Cast<float>(), actual[i].Cast<float>(), Tolerances.Within(Tolerances.Float32Score));
        }
        finally
        {
            (loaded as IDisposable)?.Dispose();
        }
    }

    [Fact]
    public void BadCharacterOptionsNameTheOption()
    {
        var ml = new MLContext();
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => ml.Transforms.Rnn.LstmTagger(new LstmTagger.Options { CharacterFeatures = -1 }));
        Assert.StartsWith("LstmTagger: CharacterFeatures must be at least 0, got -1.", error.Message);
        error = Assert.Throws<ArgumentOutOfRangeException>(() => ml.Transforms.Rnn.LstmTagger(new LstmTagger.Options { MinimumWordCount = 0 }));
        Assert.StartsWith("LstmTagger: MinimumWordCount must be at least 1, got 0.", error.Message);
    }
}

/// <summary>The vocabulary a token column is read through.</summary>
public sealed class TokenVocabularyTests
{
    [Fact]
    public void RareWordsAndUnseenTextReadAsUnknown()
    {
        var vocabulary = TokenVocabulary.Build(["the", "cat", "the", "sat", "cat", "the", "ü"], minimumWordCount: 2);
        Assert.Equal(["the", "cat"], vocabulary.Words);          // most frequent first
        Assert.Equal(0, vocabulary.WordId("the"));
        Assert.Equal(2, vocabulary.WordId("sat"));                // seen once: the unknown word
        Assert.Equal(vocabulary.UnknownWord, vocabulary.WordId("never"));
        Assert.Equal(3L, vocabulary.WordCount);
        Assert.Equal("thecasü", vocabulary.Characters);           // every character, first seen first
        Assert.Equal([2, 3, 4], vocabulary.CharacterIds("the"));
        Assert.Equal([5, 1], vocabulary.CharacterIds("c!"));      // an unseen character is 1
        Assert.Empty(vocabulary.CharacterIds(""));
    }

    [Fact]
    public void AWordsOnlyVocabularyHasNoCharacters()
    {
        var vocabulary = TokenVocabulary.Build(["the", "cat", "the"], minimumWordCount: 1, readCharacters: false);
        Assert.False(vocabulary.ReadsCharacters);
        Assert.Null(vocabulary.Characters);
        Assert.Equal(0L, vocabulary.CharacterCount);
        Assert.Equal(1, vocabulary.WordId("cat"));
        Assert.Throws<InvalidOperationException>(() => vocabulary.CharacterIds("cat"));
    }

    [Fact]
    public void LongTokensKeepTheirFirstAndLastCharacters()
    {
        var vocabulary = TokenVocabulary.Build(["abcdefghijklmnopqrstuvwxyz"], 1);
        var ids = vocabulary.CharacterIds("abcdefghijklmnopqrstuvwxyz");
        Assert.Equal(TokenVocabulary.MaxCharactersPerToken, ids.Length);
        Assert.Equal("abcdefghijqrstuvwxyz", new string(ids.Select(id => vocabulary.Characters![id - 2]).ToArray()));
    }
}
