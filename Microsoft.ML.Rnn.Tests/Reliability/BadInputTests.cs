using Xunit;

namespace Microsoft.ML.Rnn.Tests.Reliability;

/// <summary>
/// Bad data at training and scoring time: each case fails with a message naming the column (and row) and what was
/// expected and received, or is handled in a documented way (docs/reliability.md).
/// </summary>
public sealed class BadInputTests
{
    private static IDataView Steps(MLContext ml, params float[][] rows)
        => ml.Data.LoadFromEnumerable(rows.Select((r, i) => new ReliabilityData.StepRow { Features = r, Label = i % 2 == 0 }));

    private static IDataView StepInputs(MLContext ml, params float[][] rows)
        => ml.Data.LoadFromEnumerable(rows.Select(r => new ReliabilityData.StepInput { Features = r }));

    [Theory]
    [InlineData(float.NaN, "NaN")]
    [InlineData(float.PositiveInfinity, "+Infinity")]
    [InlineData(float.NegativeInfinity, "-Infinity")]
    public void NonFiniteFeaturesFailNamingColumnRowAndStep(float bad, string shown)
    {
        var ml = new MLContext(seed: 1);
        var rows = ReliabilityData.Steps(20, seed: 31).Select(r => r.Features).ToArray();
        rows[2] = new[] { 0.5f, 0.25f, 0.1f, bad };
        var fit = Assert.Throws<InvalidOperationException>(() => ReliabilityData.Classifier(ml, Steps(ml, rows)));
        Assert.Equal($"Feature column 'Features', row 2, step 1: the value {shown} at index 3 is not a finite number; expected finite Single values. " +
                     "Replace missing values first (e.g. ReplaceMissingValues) and clip infinities.", fit.Message);

        rows[2] = new[] { 0.5f, 0.25f };
        using var model = ReliabilityData.Classifier(ml, Steps(ml, rows));
        var scoring = Assert.Throws<InvalidOperationException>(() =>
            ColumnValues.Read(model.Transform(StepInputs(ml, new[] { 1f, 2f }, new[] { bad, 0f })), "Score"));
        Assert.StartsWith($"Feature column 'Features', row 1, step 0: the value {shown} at index 0 is not a finite number", scoring.Message);
        var engine = ml.Model.CreatePredictionEngine<ReliabilityData.StepInput, ReliabilityData.BinaryPrediction>(model);
        var single = Assert.Throws<InvalidOperationException>(() => engine.Predict(new ReliabilityData.StepInput { Features = new[] { 0f, bad } }));
        Assert.Contains($"Feature column 'Features', row 0, step 0: the value {shown} at index 1", single.Message);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(17)]
    [InlineData(31)]
    [InlineData(37)] // past the last whole SIMD vector of 8 or 16 values
    public void NonFiniteValuesAreFoundAnywhereInALongRow(int index)
    {
        var ml = new MLContext(seed: 1);
        var rows = ReliabilityData.Steps(20, seed: 31).Select(r => r.Features).ToArray();
        rows[4] = Enumerable.Range(0, 38).Select(i => i == index ? float.NaN : i * 0.01f).ToArray();
        var fit = Assert.Throws<InvalidOperationException>(() => ReliabilityData.Classifier(ml, Steps(ml, rows)));
        Assert.StartsWith($"Feature column 'Features', row 4, step {index / 2}: the value NaN at index {index} is not a finite number", fit.Message);
    }

    [Fact]
    public void EmptySequencesTrainAndScoreAsTheInitialState()
    {
        var ml = new MLContext(seed: 1);
        var rows = ReliabilityData.Steps(30, seed: 32, minSteps: 0);
        Assert.Contains(rows, r => r.Features.Length == 0);
        var data = ml.Data.LoadFromEnumerable(rows);
        using var classifier = ReliabilityData.Classifier(ml, data);
        var scores = ColumnValues.Read(classifier.Transform(StepInputs(ml, Array.Empty<float>(), new[] { 1f, 1f }, Array.Empty<float>())), "Score")
            .Cast<float>().ToArray();
        Assert.All(scores, s => Assert.True(float.IsFinite(s)));
        Assert.Equal(scores[0], scores[2]); // every empty sequence is the zero initial state
        var engine = ml.Model.CreatePredictionEngine<ReliabilityData.StepInput, ReliabilityData.BinaryPrediction>(classifier);
        Assert.Equal(scores[0], engine.Predict(new ReliabilityData.StepInput()).Score, 5);

        foreach (var pooling in new[] { SequencePooling.LastState, SequencePooling.Mean, SequencePooling.Max })
        {
            using var encoder = ml.Transforms.Rnn.BiGruEncoder(new BiGruEncoder.Options
            {
                FeaturesPerStep = 2, HiddenSize = 3, MaxEpochs = 1, Seed = 1, Objective = EncoderObjective.NextStepPrediction, Pooling = pooling,
            }).Fit(data);
            var encoded = ColumnValues.Read(encoder.Transform(StepInputs(ml, Array.Empty<float>())), "Encoding").Cast<object[]>().Single();
            Assert.All(encoded.Cast<float>(), v => Assert.True(float.IsFinite(v), $"{pooling} pooling of an empty sequence gave {v}"));
        }
    }

    [Fact]
    public void LongerSequencesThanInTrainingScore()
    {
        var ml = new MLContext(seed: 1);
        using var model = ReliabilityData.Classifier(ml, ml.Data.LoadFromEnumerable(ReliabilityData.Steps(30, seed: 33, maxSteps: 4)));
        var random = new Random(1);
        var longRow = Enumerable.Range(0, 2 * 500).Select(_ => (float)random.NextDouble()).ToArray();
        var score = ColumnValues.Read(model.Transform(StepInputs(ml, longRow)), "Score").Cast<float>().Single();
        Assert.True(float.IsFinite(score));
    }

    [Fact]
    public void MaxSequenceLengthKeepsTheFirstStepsInTrainingScoringAndAfterLoading()
    {
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(ReliabilityData.Steps(30, seed: 34, maxSteps: 8));
        using var model = ReliabilityData.Classifier(ml, data, maxSequenceLength: 3);
        var random = new Random(2);
        var longRow = Enumerable.Range(0, 2 * 10).Select(_ => (float)random.NextDouble()).ToArray();
        var input = StepInputs(ml, longRow, longRow[..6], longRow[..4]);
        var scores = ColumnValues.Read(model.Transform(input), "Score").Cast<float>().ToArray();
        Assert.Equal(scores[0], scores[1]); // 10 steps scored as their first 3
        Assert.NotEqual(scores[1], scores[2]);

        string path = Path.Combine(Path.GetTempPath(), $"rnn-maxlen-{Guid.NewGuid():N}.zip");
        try
        {
            ml.Model.SaveAtomically(model, data.Schema, path);
            var loaded = ml.Model.LoadUntrusted(path, out _);
            Assert.Equal(scores, ColumnValues.Read(loaded.Transform(input), "Score").Cast<float>().ToArray());
            (loaded as IDisposable)?.Dispose();
        }
        finally
        {
            File.Delete(path);
        }

        var tokens = ml.Data.LoadFromEnumerable(ReliabilityData.Tokens(30, seed: 35, maxSteps: 8));
        using var tagger = ReliabilityData.Tagger(ml, tokens, maxSequenceLength: 4);
        var tags = ColumnValues.Read(tagger.Transform(tokens), "PredictedLabel").Cast<object[]>().ToArray();
        var lengths = ml.Data.CreateEnumerable<ReliabilityData.TokenRow>(tokens, false).Select(r => Math.Min(4, r.Features.Length)).ToArray();
        Assert.Equal(lengths, tags.Select(t => t.Length));

        var invalid = Assert.Throws<ArgumentOutOfRangeException>(() => ml.Transforms.Rnn.SequenceClassifier(new RnnSequenceClassifier.Options { MaxSequenceLength = 0 }));
        Assert.Equal("MaxSequenceLength", invalid.ParamName);
        Assert.StartsWith("RnnSequenceClassifier: MaxSequenceLength must be at least 1, got 0.", invalid.Message);
    }

    [Fact]
    public void TokensNeverSeenInTrainingUseTheUnknownRowAndKeysOutOfRangeFail()
    {
        var ml = new MLContext(seed: 1);
        var tokens = ml.Data.LoadFromEnumerable(ReliabilityData.Tokens(30, seed: 36));
        using var tagger = ReliabilityData.Tagger(ml, tokens);
        // Key 0 is what MapValueToKey gives a value outside its dictionary: scored with the unknown-token row.
        var unseen = ml.Data.LoadFromEnumerable(new[] { new ReliabilityData.TokenInput { Features = new uint[] { 2, 0, 0, 5 } } });
        var tags = ColumnValues.Read(tagger.Transform(unseen), "PredictedLabel").Cast<object[]>().Single();
        Assert.Equal(4, tags.Length);

        var outside = ml.Data.LoadFromEnumerable(new[] { new ReliabilityData.TokenInput { Features = new uint[] { 2, 11 } } });
        var error = Assert.Throws<InvalidOperationException>(() => ColumnValues.Read(tagger.Transform(outside), "PredictedLabel"));
        Assert.Equal("Feature column 'Features', row 0, step 1: key 11 is outside the key range 1..10 of the column type.", error.Message);
    }

    [Fact]
    public void MissingTagsAndMismatchedLengthsFailNamingTheLabelColumn()
    {
        var ml = new MLContext(seed: 1);
        var rows = ReliabilityData.Tokens(20, seed: 37);
        rows[3] = new ReliabilityData.TokenRow { Features = new uint[] { 1, 2, 3 }, Label = new uint[] { 1, 0, 2 } };
        var missing = Assert.Throws<InvalidOperationException>(() => ReliabilityData.Tagger(ml, ml.Data.LoadFromEnumerable(rows)));
        Assert.StartsWith("Feature column 'Label', row 3, step 1: missing key (0, a value not in the key dictionary).", missing.Message);

        // A length mismatch beyond MaxSequenceLength is still reported (compared before truncation).
        rows[3] = new ReliabilityData.TokenRow { Features = new uint[] { 1, 2, 3, 4, 5, 6 }, Label = new uint[] { 1, 2, 3, 1, 2 } };
        var mismatch = Assert.Throws<InvalidOperationException>(() => ReliabilityData.Tagger(ml, ml.Data.LoadFromEnumerable(rows), maxSequenceLength: 3));
        Assert.Equal("LstmTagger: row 3 has 6 steps in feature column 'Features' but 5 tags in label column 'Label'; each token needs exactly one tag.", mismatch.Message);
    }

    private sealed class TextRow
    {
        public string Features = "";
        public bool Label;
    }

    [Fact]
    public void WrongColumnTypesNameTheColumnExpectedAndReceived()
    {
        var ml = new MLContext(seed: 1);
        var text = ml.Data.LoadFromEnumerable(new[] { new TextRow { Features = "a b", Label = true } });
        const string expected = "Schema mismatch for feature column 'Features': expected known-size or variable vector of Single, key or text, got String";
        Assert.StartsWith(expected, Assert.ThrowsAny<ArgumentException>(() => ml.Transforms.Rnn.SequenceClassifier().Fit(text)).Message);
        Assert.StartsWith(expected, Assert.ThrowsAny<ArgumentException>(() => ml.Transforms.Rnn.LstmTagger(new LstmTagger.Options()).Fit(text)).Message);
        Assert.StartsWith(expected, Assert.ThrowsAny<ArgumentException>(() => ml.Transforms.Rnn.BiGruEncoder(new BiGruEncoder.Options { FeatureColumnName = "Features" }).Fit(text)).Message);

        var steps = ml.Data.LoadFromEnumerable(ReliabilityData.Steps(10, seed: 38));
        var tagLabel = Assert.ThrowsAny<ArgumentException>(() => ml.Transforms.Rnn.LstmTagger(new LstmTagger.Options { FeaturesPerStep = 2 }).Fit(steps));
        Assert.StartsWith("Schema mismatch for label column 'Label': expected vector of key (UInt32), got Boolean", tagLabel.Message);
    }

    [Fact]
    public void ZeroRowsAndASingleClassFailNamingTheLabelColumn()
    {
        var ml = new MLContext(seed: 1);
        var none = ml.Data.LoadFromEnumerable(Array.Empty<ReliabilityData.StepRow>());
        Assert.Equal("RnnSequenceClassifier: the training data has no rows with a label in column 'Label'.",
            Assert.Throws<InvalidOperationException>(() => ReliabilityData.Classifier(ml, none)).Message);
        Assert.Equal("BiGruEncoder: the training data has no rows with a label in column 'Label'.",
            Assert.Throws<InvalidOperationException>(() => ml.Transforms.Rnn.BiGruEncoder(new BiGruEncoder.Options { FeatureColumnName = "Features", FeaturesPerStep = 2 }).Fit(none)).Message);
        Assert.Equal("BiGruEncoder: the training data has no rows.",
            Assert.Throws<InvalidOperationException>(() => ReliabilityData.Encoder(ml, none)).Message);
        Assert.Equal("LstmTagger: the training data has no rows.",
            Assert.Throws<InvalidOperationException>(() => ReliabilityData.Tagger(ml, ml.Data.LoadFromEnumerable(Array.Empty<ReliabilityData.TokenRow>()))).Message);

        var oneClass = ml.Data.LoadFromEnumerable(ReliabilityData.Steps(10, seed: 39).Select(r => new ReliabilityData.StepRow { Features = r.Features, Label = true }));
        Assert.Equal("RnnSequenceClassifier: the training labels in column 'Label' hold a single class; at least two are needed.",
            Assert.Throws<InvalidOperationException>(() => ReliabilityData.Classifier(ml, oneClass)).Message);
        Assert.Equal("BiGruEncoder: the training labels in column 'Label' hold a single class; at least two are needed.",
            Assert.Throws<InvalidOperationException>(() => ml.Transforms.Rnn.BiGruEncoder(new BiGruEncoder.Options { FeatureColumnName = "Features", FeaturesPerStep = 2 }).Fit(oneClass)).Message);
    }

    [Fact]
    public void FeaturesPerStepNotDividingTheLengthNamesColumnRowAndSizes()
    {
        var ml = new MLContext(seed: 1);
        var rows = ReliabilityData.Steps(10, seed: 40).Select(r => r.Features).ToArray();
        rows[4] = new[] { 1f, 2f, 3f };
        var error = Assert.Throws<InvalidOperationException>(() => ReliabilityData.Classifier(ml, Steps(ml, rows)));
        Assert.Equal("Feature column 'Features', row 4: the vector length 3 is not a multiple of the features per step (2).", error.Message);
    }
}
