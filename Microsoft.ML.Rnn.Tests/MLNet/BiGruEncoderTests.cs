using Microsoft.ML.Data;
using Xunit;

namespace Microsoft.ML.Rnn.Tests.MLNet;

public sealed class BiGruEncoderTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("rnn-encoder-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private sealed class Fortune
    {
        [LoadColumn(0)] public string Topic { get; set; } = "";
        [LoadColumn(1)] public string Text { get; set; } = "";
    }

    /// <summary>The fortune topics; texts contain quotes, so quoting is off.</summary>
    private static IDataView Fortunes(MLContext ml, string file) =>
        ml.Data.LoadFromTextFile<Fortune>(Path.Combine(AppContext.BaseDirectory, "Data", file), separatorChar: '\t',
            hasHeader: true, allowQuoting: false);

    private static IEstimator<ITransformer> Tokens(MLContext ml) =>
        ml.Transforms.Text.NormalizeText("Normalized", "Text")
            .Append(ml.Transforms.Text.TokenizeIntoWords("Words", "Normalized"))
            .Append(ml.Transforms.Conversion.MapValueToKey("Tokens", "Words", maximumNumberOfKeys: 4000))
            .Append(ml.Transforms.Conversion.MapValueToKey("Label", "Topic"));

    [Fact]
    public void NextStepTrainingTakesBatchesOfSequencesWithNoSteps()
    {
        // Length buckets put the rows of no steps together: a batch of them has no step to predict and, with nothing
        // read, constant outputs; its zero loss must still reach the parameters (backward failed on it before).
        var ml = new MLContext(seed: 1);
        var rows = Reliability.ReliabilityData.Steps(60, seed: 6, minSteps: 0);
        Assert.True(rows.Count(r => r.Features.Length == 0) >= 8, "the data must fill a batch with rows of no steps");
        var data = ml.Data.LoadFromEnumerable(rows);
        using var encoder = Reliability.ReliabilityData.Encoder(ml, data);
        var encodings = ColumnValues.Read(encoder.Transform(data), "Encoding").Cast<object[]>().ToList();
        Assert.Equal(60, encodings.Count);
        Assert.All(encodings.Where((_, i) => rows[i].Features.Length == 0), e => Assert.All(e, v => Assert.Equal(0.0, (double)(float)v)));
    }

    /// <summary>
    /// SDCA reads its input many times: without a cache the encoder runs on every pass, which a user is told once in
    /// the log; with AppendCacheCheckpoint it runs once and nothing is said.
    /// </summary>
    [Fact]
    public void ATrainerReadingTheEncodingsManyTimesWithoutACacheIsToldOnce()
    {
        foreach (bool cached in new[] { false, true })
        {
            var ml = new MLContext(seed: 1);
            var warnings = new List<string>();
            ml.Log += (_, e) =>
            {
                if (e.Kind == Microsoft.ML.Runtime.ChannelMessageKind.Warning && e.Message.Contains("AppendCacheCheckpoint"))
                    lock (warnings) warnings.Add(e.Message);
            };
            // Every 12th row: the file is sorted by topic, and 200 rows of every topic are what SDCA needs.
            var data = ml.Data.LoadFromEnumerable(ml.Data.CreateEnumerable<Fortune>(Fortunes(ml, "fortune-topics-train.tsv"), false)
                .Where((_, i) => i % 12 == 0).Take(200).ToList());
            var encode = Tokens(ml).Append(ml.Transforms.Rnn.BiGruEncoder("Features", "Tokens", hiddenSize: 4, maxEpochs: 1));
            var sdca = ml.MulticlassClassification.Trainers.SdcaMaximumEntropy(maximumNumberOfIterations: 6);
            (cached ? encode.AppendCacheCheckpoint(ml).Append(sdca) : encode.Append(sdca)).Fit(data);
            if (cached)
            {
                Assert.Empty(warnings);
                continue;
            }
            var warning = Assert.Single(warnings);
            Assert.Contains("scored all 200 rows of the same data 3 times", warning);
        }
    }

    [Theory]
    [InlineData(EncoderObjective.Supervised, SequencePooling.LastState)]
    [InlineData(EncoderObjective.NextStepPrediction, SequencePooling.Mean)]
    public void WorkoutWithTokens(EncoderObjective objective, SequencePooling pooling)
    {
        var ml = new MLContext(seed: 1);
        var raw = ml.Data.TakeRows(ml.Data.ShuffleRows(Fortunes(ml, "fortune-topics-train.tsv"), seed: 2), 60);
        var data = Tokens(ml).Fit(raw).Transform(raw);
        var options = new BiGruEncoder.Options
        {
            FeatureColumnName = "Tokens", Objective = objective, Pooling = pooling, EmbeddingSize = 8, HiddenSize = 6,
            MaxEpochs = 2, BatchSize = 16, Seed = 4,
        };
        var result = EstimatorWorkout.Run(ml, ml.Transforms.Rnn.BiGruEncoder(options), data, new WorkoutOptions
        {
            ModelPath = Path.Combine(_directory, $"encoder-{objective}.zip"),
            Tolerance = Tolerances.Float32Score,
            InvalidInputs = new (IDataView, string)[]
            {
                (raw, "Tokens"),
                (ml.Data.LoadFromEnumerable(new[] { new { Tokens = new[] { 1.0, 2.0 } } }), "Tokens"), // Double, not keys
            },
        });
        using var fitted = result.Fitted;
        Assert.Equal(12, fitted.OutputSize); // 2 directions × 6
        Assert.Equal(new VectorDataViewType(NumberDataViewType.Single, 12), result.LoadedOutput.Schema["Encoding"].Type);

        var loader = LoaderProcess.Run(ml, result.ModelPath, data, new[] { "Encoding" });
        var expected = ColumnValues.Read(result.FittedOutput, "Encoding").Cast<object[]>().ToList();
        for (int i = 0; i < expected.Count; i++)
            Assert.Equal(expected[i].Cast<float>().ToArray(), loader["Encoding"][i], Tolerances.Within(Tolerances.Float32Score));
    }

    private sealed class Steps
    {
        public float[] Features { get; set; } = [];
    }

    [Fact]
    public void SelfSupervisedOnFloatStepsLearnsAndWorksOut()
    {
        var ml = new MLContext(seed: 1);
        var random = new Random(3);
        // Sine waves with random phase and length: the next step is predictable from the past.
        var rows = Enumerable.Range(0, 64).Select(_ =>
        {
            double phase = random.NextDouble() * 6.28;
            int length = random.Next(3, 12);
            return new Steps { Features = Enumerable.Range(0, length).Select(t => (float)Math.Sin(phase + 0.6 * t)).ToArray() };
        }).ToArray();
        var data = ml.Data.LoadFromEnumerable(rows);
        var result = EstimatorWorkout.Run(ml, ml.Transforms.Rnn.BiGruEncoder(featureColumnName: "Features", labelColumnName: null,
            hiddenSize: 8, maxEpochs: 3, batchSize: 16), data, new WorkoutOptions { ModelPath = Path.Combine(_directory, "steps.zip"), Tolerance = Tolerances.Float32Score });
        using var fitted = result.Fitted;
        Assert.Equal(16, fitted.OutputSize);
    }

    private sealed class TextRow
    {
        public string Text = "";
        public bool Label;
    }

    /// <summary>A tiny sentiment task ("good"/"great" in the text); <paramref name="flip"/> inverts every label.</summary>
    private static TextRow[] Sentiment(int count, int seed, bool flip = false)
    {
        string[] positive = { "good", "great" }, filler = { "the", "film", "was", "plot", "a", "bad", "dull", "long" };
        var random = new Random(seed);
        return Enumerable.Range(0, count).Select(i =>
        {
            var words = Enumerable.Range(0, random.Next(2, 7)).Select(_ => filler[random.Next(filler.Length)]).ToList();
            bool label = i % 2 == 0;
            if (label) words.Insert(random.Next(words.Count + 1), positive[random.Next(2)]);
            return new TextRow { Text = string.Join(' ', words), Label = label ^ flip };
        }).ToArray();
    }

    private sealed class SyncProgress(Action<EpochProgress> report) : IProgress<EpochProgress>
    {
        public void Report(EpochProgress value) => report(value);
    }

    /// <summary>
    /// Fit(train, validation): the given set drives the validation metric. Training is the same whatever the validation
    /// set (same seed, all training rows), so with the validation labels inverted each epoch's accuracy must be exactly
    /// one minus the accuracy on the same rows with their true labels; ValidationFraction is ignored (all 80 rows train).
    /// </summary>
    [Fact]
    public void GivenValidationSetDrivesTheValidationMetric()
    {
        var ml = new MLContext(seed: 1);
        var messages = new List<string>();
        ml.Log += (_, e) => { lock (messages) messages.Add(e.Message); };
        var rows = Sentiment(80, seed: 4);
        var prep = ml.Transforms.Text.TokenizeIntoWords("Features", "Text").Append(ml.Transforms.Conversion.MapValueToKey("Features"))
            .Fit(ml.Data.LoadFromEnumerable(rows));
        var train = prep.Transform(ml.Data.LoadFromEnumerable(rows));
        var heldOut = Sentiment(30, seed: 8);
        var validation = prep.Transform(ml.Data.LoadFromEnumerable(heldOut));
        var inverted = prep.Transform(ml.Data.LoadFromEnumerable(heldOut.Select(r => new TextRow { Text = r.Text, Label = !r.Label })));

        List<EpochProgress> Run(IDataView validationData)
        {
            var epochs = new List<EpochProgress>();
            using var encoder = ml.Transforms.Rnn.BiGruEncoder(new BiGruEncoder.Options
            {
                EmbeddingSize = 8, HiddenSize = 8, MaxEpochs = 4, BatchSize = 8, LearningRate = 0.02f, Seed = 2,
                ValidationFraction = 0.5f, EarlyStoppingPatience = null, Progress = new SyncProgress(epochs.Add),
            }).Fit(train, validationData);
            return epochs;
        }
        var plain = Run(validation);
        var flipped = Run(inverted);

        Assert.Equal(4, plain.Count);
        Assert.Equal(plain.Select(e => e.TrainLoss), flipped.Select(e => e.TrainLoss));
        for (int i = 0; i < plain.Count; i++)
        {
            double accuracy = plain[i].ValidationMetric!.Value;
            Assert.Equal(Math.Round(accuracy * 30), accuracy * 30, 9); // a count of the 30 validation rows
            Assert.Equal(1 - accuracy, flipped[i].ValidationMetric!.Value, 12);
        }
        Assert.True(plain[^1].ValidationMetric > 0.8, $"validation accuracy {plain[^1].ValidationMetric}");
        Assert.Contains(messages, m => m.Contains("BiGruEncoder: training on 80 rows, validating on 30 rows (given validation set)."));
    }

    [Fact]
    public void GivenValidationSetWorksWithoutLabelAndIsChecked()
    {
        var ml = new MLContext(seed: 1);
        var random = new Random(3);
        Steps[] Waves(int count) => Enumerable.Range(0, count).Select(_ =>
        {
            double phase = random.NextDouble() * 6.28;
            return new Steps { Features = Enumerable.Range(0, random.Next(3, 10)).Select(t => (float)Math.Sin(phase + 0.6 * t)).ToArray() };
        }).ToArray();
        var train = ml.Data.LoadFromEnumerable(Waves(32));
        var validation = ml.Data.LoadFromEnumerable(Waves(8));

        List<EpochProgress> Run(IDataView? validationData)
        {
            var epochs = new List<EpochProgress>();
            using var encoder = ml.Transforms.Rnn.BiGruEncoder(new BiGruEncoder.Options
            {
                Objective = EncoderObjective.NextStepPrediction, HiddenSize = 4, MaxEpochs = 2, BatchSize = 8, Seed = 1,
                ValidationFraction = 0, EarlyStoppingPatience = null, Progress = new SyncProgress(epochs.Add),
            }).Fit(train, validationData);
            return epochs;
        }
        Assert.All(Run(null), e => Assert.Null(e.ValidationMetric)); // no split and no set: nothing to validate on
        var given = Run(validation);
        Assert.All(given, e => Assert.True(e.ValidationMetric is > 0 and < 10, $"next-step loss {e.ValidationMetric}"));

        var tokens = ml.Data.LoadFromEnumerable(new[] { new TextRow { Text = "a" } });
        var e = Assert.ThrowsAny<Exception>(() => ml.Transforms.Rnn.BiGruEncoder(labelColumnName: null).Fit(train, tokens));
        Assert.Contains("Could not find feature column 'Features'", e.Message);
        var keys = ml.Transforms.Text.TokenizeIntoWords("Features", "Text").Append(ml.Transforms.Conversion.MapValueToKey("Features"))
            .Fit(tokens).Transform(tokens);
        e = Assert.ThrowsAny<Exception>(() => ml.Transforms.Rnn.BiGruEncoder(labelColumnName: null).Fit(train, keys));
        Assert.Equal("Schema mismatch for feature column 'Features': expected vector of Single, got Vector<Key<UInt32, 0-0>> (Parameter 'validationData')", e.Message);
    }

    [Fact]
    public void GivenValidationSetWithAnotherLabelTypeIsRejected()
    {
        var ml = new MLContext(seed: 1);
        var rows = Sentiment(20, seed: 1);
        var prep = ml.Transforms.Text.TokenizeIntoWords("Features", "Text").Append(ml.Transforms.Conversion.MapValueToKey("Features"))
            .Fit(ml.Data.LoadFromEnumerable(rows));
        var train = prep.Transform(ml.Data.LoadFromEnumerable(rows));
        var keyLabel = ml.Transforms.Conversion.MapValueToKey("Label", "Text").Fit(train).Transform(train);
        var e = Assert.ThrowsAny<Exception>(() => ml.Transforms.Rnn.BiGruEncoder().Fit(train, keyLabel));
        Assert.Contains("Schema mismatch for label column 'Label': expected Boolean, got Key<UInt32, 0-", e.Message);
    }

    private sealed class TextInput
    {
        public string Text = "";
    }

    private sealed class EncodingOutput
    {
        public float[] Encoding = [];
    }

    /// <summary>
    /// PredictionEngines over tokenizer + encoder (one per thread) give the batched Transform's encodings, including
    /// rows with words never seen in training (the missing-key row) and an empty text.
    /// </summary>
    [Theory]
    [InlineData(SequencePooling.LastState)]
    [InlineData(SequencePooling.Max)]
    public void PredictionEnginesAgreeWithBatchedTransformAcrossThreads(SequencePooling pooling)
    {
        var ml = new MLContext(seed: 1);
        var rows = Sentiment(40, seed: 6);
        var tokens = ml.Transforms.Text.TokenizeIntoWords("Features", "Text").Append(ml.Transforms.Conversion.MapValueToKey("Features"))
            .Fit(ml.Data.LoadFromEnumerable(rows));
        using var encoder = ml.Transforms.Rnn.BiGruEncoder(new BiGruEncoder.Options
        {
            EmbeddingSize = 6, HiddenSize = 5, MaxEpochs = 2, BatchSize = 6, Seed = 3, Pooling = pooling,
        }).Fit(tokens.Transform(ml.Data.LoadFromEnumerable(rows)));
        var model = tokens.Append(encoder);
        var texts = rows.Select(r => r.Text).Concat(new[] { "an unseen good sentence", "", "plot plot plot" }).ToArray();
        var batched = ColumnValues.Read(model.Transform(ml.Data.LoadFromEnumerable(texts.Select(t => new TextInput { Text = t }))), "Encoding")
            .Cast<object[]>().Select(v => v.Cast<float>().ToArray()).ToList();
        Assert.All(batched, v => Assert.Equal(10, v.Length));
        Assert.All(batched[^2], v => Assert.Equal(0f, v)); // no tokens: zero outputs and zero final state

        var failures = new System.Collections.Concurrent.ConcurrentBag<string>();
        Parallel.For(0, 3, new ParallelOptions { MaxDegreeOfParallelism = 3 }, thread =>
        {
            // Not disposed: disposing a PredictionEngine disposes the transformer it was made from (ML.NET 5).
            var engine = ml.Model.CreatePredictionEngine<TextInput, EncodingOutput>(model);
            for (int i = 0; i < texts.Length; i++)
            {
                var p = engine.Predict(new TextInput { Text = texts[i] });
                if (p.Encoding.Length != 10 || p.Encoding.Zip(batched[i]).Any(z => Math.Abs(z.First - z.Second) > Tolerances.Float32Score))
                    failures.Add($"thread {thread}, row {i}: [{string.Join(", ", p.Encoding)}] vs [{string.Join(", ", batched[i])}]");
            }
        });
        Assert.Empty(failures);
    }

    [Fact]
    public void WrongLabelTypeIsRejected()
    {
        var ml = new MLContext(seed: 1);
        var raw = ml.Data.TakeRows(Fortunes(ml, "fortune-topics-train.tsv"), 10);
        var data = Tokens(ml).Fit(raw).Transform(raw);
        var e = Assert.ThrowsAny<Exception>(() => ml.Transforms.Rnn.BiGruEncoder(featureColumnName: "Tokens", labelColumnName: "Topic").Fit(data));
        Assert.Contains("Schema mismatch for label column 'Topic'", e.Message);
    }

    /// <summary>
    /// Real data: encoder features concatenated with FeaturizeText n-grams train an SDCA model end to end on the fortune
    /// topics (8 classes, chance 0.125).
    /// </summary>
    [Fact]
    public void EncoderFeaturesWithFeaturizeTextTrainSdcaOnFortuneTopics()
    {
        var ml = new MLContext(seed: 1);
        var train = ml.Data.TakeRows(ml.Data.ShuffleRows(Fortunes(ml, "fortune-topics-train.tsv"), seed: 1), 1200);
        var test = Fortunes(ml, "fortune-topics-test.tsv");
        var pipeline = Tokens(ml)
            .Append(ml.Transforms.Rnn.BiGruEncoder(new BiGruEncoder.Options
            {
                FeatureColumnName = "Tokens", EmbeddingSize = 32, HiddenSize = 32, MaxEpochs = 4, BatchSize = 32, LearningRate = 0.01f, Seed = 2,
            }))
            .Append(ml.Transforms.Text.FeaturizeText("TextFeatures", "Text"))
            .Append(ml.Transforms.Concatenate("Features", "Encoding", "TextFeatures"))
            .Append(ml.MulticlassClassification.Trainers.SdcaMaximumEntropy(maximumNumberOfIterations: 20));
        var model = pipeline.Fit(train);
        var metrics = ml.MulticlassClassification.Evaluate(model.Transform(test));
        Assert.True(metrics.MicroAccuracy > 0.35, $"micro accuracy {metrics.MicroAccuracy:F3}");
        (model as IDisposable)?.Dispose();
    }
}
