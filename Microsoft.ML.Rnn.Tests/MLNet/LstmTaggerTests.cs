using Microsoft.ML.Data;
using Microsoft.ML.Rnn.Features;
using Microsoft.ML.Rnn.Networks;
using Microsoft.ML;
using TorchSharp;
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
        var result = EstimatorWorkout.Run(ml, ml.Transforms.Rnn.LstmTagger(Small(crf)), data, new WorkoutOptions
        {
            ModelPath = Path.Combine(_directory, $"tagger-{crf}.zip"),
            Tolerance = Tolerances.Float32Score,
            InvalidInputs = new (IDataView, string)[]
            {
                (ml.Data.LoadFromEnumerable(new[] { new { Other = 1f } }), "Features"),
                (ml.Data.LoadFromEnumerable(new[] { new { Features = "one text, not tokens" } }), "Features"),
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
            Assert.Equal(scores[i].Cast<float>().ToArray(), loader["Score"][i], Tolerances.Within(Tolerances.Float32Score));
    }

    private sealed class StepRow
    {
        public float[] Features { get; set; } = [];
        public string[] Tags { get; set; } = [];
    }

    private sealed class FixedStepRow
    {
        [VectorType(8)] public float[] Features { get; set; } = [];
        public string[] Tags { get; set; } = [];
    }

    private sealed class StepInput
    {
        public float[] Features { get; set; } = [];
    }

    private sealed class TagPrediction
    {
        public uint[] PredictedLabel { get; set; } = [];
        public float[] Score { get; set; } = [];
    }

    /// <summary>
    /// Steps of two values (x, y); the tag says whether x rose since the previous step ("UP"/"DOWN", "START" first),
    /// so the tagger must carry state across steps. <paramref name="fixedSteps"/> gives every row that many steps.
    /// </summary>
    private static StepRow[] RisingSteps(int count, int seed, int? fixedSteps = null)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, count).Select(_ =>
        {
            int length = fixedSteps ?? random.Next(1, 7);
            var x = Enumerable.Range(0, length).Select(_ => (float)random.NextDouble()).ToArray();
            return new StepRow
            {
                Features = x.SelectMany(v => new[] { v, (float)random.NextDouble() - 0.5f }).ToArray(),
                Tags = x.Select((v, t) => t == 0 ? "START" : v > x[t - 1] ? "UP" : "DOWN").ToArray(),
            };
        }).ToArray();
    }

    private static IDataView TagKeys(MLContext ml, IDataView data) =>
        ml.Transforms.Conversion.MapValueToKey("Label", "Tags").Fit(data).Transform(data);

    private static LstmTagger.Options StepOptions() => new()
    {
        FeaturesPerStep = 2, HiddenSize = 12, Cell = RnnCellKind.Gru(), MaxEpochs = 3, BatchSize = 16, Seed = 7, LearningRate = 0.01f,
    };

    [Fact]
    public void WorkoutWithSingleSteps()
    {
        var ml = new MLContext(seed: 1);
        var rows = RisingSteps(60, seed: 1);
        var data = TagKeys(ml, ml.Data.LoadFromEnumerable(rows));
        var options = StepOptions();
        options.UseCrf = true;
        var result = EstimatorWorkout.Run(ml, ml.Transforms.Rnn.LstmTagger(options), data, new WorkoutOptions
        {
            ModelPath = Path.Combine(_directory, "steps.zip"),
            Tolerance = Tolerances.Float32Score,
            InvalidInputs = new (IDataView, string)[]
            {
                (ml.Data.LoadFromEnumerable(new[] { new { Other = new float[2] } }), "Features"),   // missing
                (ml.Data.LoadFromEnumerable(new[] { new { Features = 1f } }), "Features"),          // a scalar, not a sequence
                (ml.Data.LoadFromEnumerable(new[] { new { Features = new[] { 1.0, 2.0 } } }), "Features"), // Double steps
            },
        });
        using var fitted = result.Fitted;
        Assert.Equal(3, fitted.TagCount);
        Assert.Equal(new VectorDataViewType(new KeyDataViewType(typeof(uint), 3)), result.LoadedOutput.Schema["PredictedLabel"].Type);
        var tags = ColumnValues.Read(result.LoadedOutput, "PredictedLabel").Cast<object[]>().ToList();
        var scores = ColumnValues.Read(result.LoadedOutput, "Score").Cast<object[]>().ToList();
        for (int i = 0; i < rows.Length; i++)
        {
            Assert.Equal(rows[i].Features.Length / 2, tags[i].Length); // one tag per step of two values
            Assert.Equal(rows[i].Features.Length / 2 * 3, scores[i].Length);
        }

        // A model trained on Single steps refuses key steps, naming the column in ML.NET's words.
        var keys = ml.Transforms.Conversion.MapValueToKey("Features", "Tags").Fit(data).Transform(data);
        var e = Assert.ThrowsAny<Exception>(() => result.Loaded.Transform(keys));
        Assert.StartsWith("Schema mismatch for feature column 'Features': expected vector of Single, got Vector<Key<UInt32, 0-2>>", e.Message);

        // At scoring, a row whose length is not a multiple of FeaturesPerStep is reported with its position.
        var odd = ml.Data.LoadFromEnumerable(new[] { new StepInput { Features = new float[4] }, new StepInput { Features = new float[5] } });
        var bad = Assert.Throws<InvalidOperationException>(() => ColumnValues.Read(result.Loaded.Transform(odd), "PredictedLabel"));
        Assert.Equal("Feature column 'Features', row 1: the vector length 5 is not a multiple of the features per step (2).", bad.Message);
    }

    [Fact]
    public void SingleStepsLearnARecurrentTagAndFixedSizeInputIsSplitIntoSteps()
    {
        var ml = new MLContext(seed: 1);
        var train = RisingSteps(300, seed: 2, fixedSteps: 4);
        var test = RisingSteps(100, seed: 3, fixedSteps: 4);
        IDataView Fixed(StepRow[] rows) => TagKeys(ml, ml.Data.LoadFromEnumerable(rows.Select(r => new FixedStepRow { Features = r.Features, Tags = r.Tags })));
        var options = StepOptions();
        options.MaxEpochs = 25;
        options.EarlyStoppingPatience = null;
        using var tagger = ml.Transforms.Rnn.LstmTagger(options).Fit(Fixed(train));
        var scored = tagger.Transform(Fixed(test));
        Assert.Equal(new VectorDataViewType(NumberDataViewType.Single, 8), scored.Schema["Features"].Type);
        var metrics = TaggingEvaluator.Evaluate(scored);
        // UP/DOWN depend on the previous step's x: a per-step model cannot beat chance (0.5) on them.
        Assert.True(metrics.PerTag["UP"].F1 > 0.85 && metrics.PerTag["DOWN"].F1 > 0.85,
            $"UP F1 {metrics.PerTag["UP"].F1:F3}, DOWN F1 {metrics.PerTag["DOWN"].F1:F3}");
        Assert.Equal(1.0, metrics.PerTag["START"].F1);

        // FeaturesPerStep must divide the known size (8 values).
        options.FeaturesPerStep = 3;
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => ml.Transforms.Rnn.LstmTagger(options).Fit(Fixed(train)));
        Assert.StartsWith("The size 8 of feature column 'Features' is not a multiple of the features per step (3).", e.Message);
    }

    [Fact]
    public void SingleStepsTagsLengthMismatchAndLabelTypeAreRejected()
    {
        var ml = new MLContext(seed: 1);
        var rows = RisingSteps(6, seed: 4);
        rows[2] = new StepRow { Features = new float[6], Tags = new[] { "START", "UP" } };
        var e = Assert.Throws<InvalidOperationException>(() => ml.Transforms.Rnn.LstmTagger(StepOptions()).Fit(TagKeys(ml, ml.Data.LoadFromEnumerable(rows))));
        Assert.Equal("LstmTagger: row 2 has 3 steps in feature column 'Features' but 2 tags in label column 'Label'; each token needs exactly one tag.", e.Message);

        rows[2] = new StepRow { Features = new float[5], Tags = new[] { "START", "UP" } };
        var odd = Assert.Throws<InvalidOperationException>(() => ml.Transforms.Rnn.LstmTagger(StepOptions()).Fit(TagKeys(ml, ml.Data.LoadFromEnumerable(rows))));
        Assert.Equal("Feature column 'Features', row 2: the vector length 5 is not a multiple of the features per step (2).", odd.Message);

        var floats = ml.Data.LoadFromEnumerable(new[] { new { Features = new float[4], Label = new float[2] } });
        var label = Assert.ThrowsAny<Exception>(() => ml.Transforms.Rnn.LstmTagger(StepOptions()).Fit(floats));
        Assert.StartsWith("Schema mismatch for label column 'Label': expected vector of key (UInt32), got Vector<Single>", label.Message);
        label = Assert.ThrowsAny<Exception>(() => ml.Transforms.Rnn.LstmTagger(StepOptions()).GetOutputSchema(SchemaShape.Create(floats.Schema)));
        Assert.StartsWith("Schema mismatch for label column 'Label': expected vector of key (UInt32), got VarVector<Single>", label.Message);
    }

    /// <summary>PredictionEngines (one per thread) give the batched Transform's tags and scores, rows of any length.</summary>
    [Fact]
    public void PredictionEnginesAgreeWithBatchedTransformAcrossThreads()
    {
        var ml = new MLContext(seed: 1);
        var rows = RisingSteps(40, seed: 5);
        var data = TagKeys(ml, ml.Data.LoadFromEnumerable(rows));
        var options = StepOptions();
        options.Bidirectional = true;
        options.BatchSize = 7;
        using var tagger = ml.Transforms.Rnn.LstmTagger(options).Fit(data);
        var scoring = ml.Data.LoadFromEnumerable(rows.Select(r => new StepInput { Features = r.Features }).Append(new StepInput()));
        var output = tagger.Transform(scoring);
        var tags = ColumnValues.Read(output, "PredictedLabel").Cast<object[]>().Select(t => t.Select(k => (uint)(ulong)k).ToArray()).ToList();
        var scores = ColumnValues.Read(output, "Score").Cast<object[]>().Select(s => s.Cast<float>().ToArray()).ToList();
        Assert.Empty(tags[^1]); // an empty sequence has no tags

        var failures = new System.Collections.Concurrent.ConcurrentBag<string>();
        Parallel.For(0, 3, new ParallelOptions { MaxDegreeOfParallelism = 3 }, thread =>
        {
            // Not disposed: disposing a PredictionEngine disposes the transformer it was made from (ML.NET 5).
            var engine = ml.Model.CreatePredictionEngine<StepInput, TagPrediction>(tagger);
            for (int i = 0; i < tags.Count; i++)
            {
                var p = engine.Predict(new StepInput { Features = i < rows.Length ? rows[i].Features : [] });
                if (!p.PredictedLabel.SequenceEqual(tags[i])) failures.Add($"thread {thread}, row {i}: tags differ");
                if (p.Score.Length != scores[i].Length || p.Score.Zip(scores[i]).Any(z => Math.Abs(z.First - z.Second) > Tolerances.Float32Score))
                    failures.Add($"thread {thread}, row {i}: scores differ");
            }
        });
        Assert.Empty(failures);
    }

    [Fact]
    public void TagWeightsFollowTheTrainingTagFrequencies()
    {
        var ml = new MLContext(seed: 1);
        // 12 tokens: tag 0 ×8, tag 1 ×3, tag 2 ×1; tag 3 never occurs. n / (T · count) = 12 / (4 · count).
        var text = ml.Data.LoadFromEnumerable(new[]
        {
            new { Tags = new[] { "a", "a", "b", "a" } }, new { Tags = new[] { "c", "a", "a", "b", "a" } }, new { Tags = new[] { "a", "b", "a" } },
        });
        var keys = ml.Data.LoadFromEnumerable(new[] { "a", "b", "c", "d" }.Select(t => new { Tags = t }));
        var tagKeys = ml.Transforms.Conversion.MapValueToKey("Tags", keyData: keys).Fit(text).Transform(text);
        var rows = SequenceRows.ReadAll(tagKeys, "Tags", 1, columnRole: "label");
        using var inverse = TaggingObjective.TagWeights(ClassWeighting.InverseFrequency, rows, 4, null)!;
        Assert.Equal(new[] { 12f / 32, 12f / 12, 12f / 4, 1f }, inverse.data<float>().ToArray());
        using var root = TaggingObjective.TagWeights(ClassWeighting.InverseSquareRootFrequency, rows, 4, null)!;
        Assert.Equal(new[] { MathF.Sqrt(12f / 32), 1f, MathF.Sqrt(3f), 1f }, root.data<float>().ToArray(), Tolerances.Within(1e-6f));
        Assert.Null(TaggingObjective.TagWeights(ClassWeighting.None, rows, 4, null));

        // Fit computes them from its training tags (logged) and trains with them.
        var messages = new List<string>();
        ml.Log += (_, m) => { lock (messages) messages.Add(m.Message); };
        var steps = RisingSteps(1, seed: 1, fixedSteps: 4); // START, then three UP/DOWN tags
        var stepOptions = StepOptions();
        stepOptions.TagWeighting = ClassWeighting.InverseFrequency;
        stepOptions.MaxEpochs = 1;
        stepOptions.ValidationFraction = 0;
        using (ml.Transforms.Rnn.LstmTagger(stepOptions).Fit(TagKeys(ml, ml.Data.LoadFromEnumerable(steps)))) { }
        int up = steps[0].Tags.Count(t => t == "UP"), down = 3 - up;
        Assert.True(up is 1 or 2, "the fixture needs both UP and DOWN");
        string F(double v) => v.ToString("G4", System.Globalization.CultureInfo.InvariantCulture);
        // Keys in order of appearance: START, then the first of UP/DOWN, then the other.
        var firstTag = steps[0].Tags[1];
        var expectedWeights = new[] { 4.0 / 3, 4.0 / (3 * (firstTag == "UP" ? up : down)), 4.0 / (3 * (firstTag == "UP" ? down : up)) };
        Assert.Contains(messages, m => m.Contains($"LstmTagger: tag weights (InverseFrequency) {string.Join(", ", expectedWeights.Select(F))}."));

        var options = Small(crf: true);
        options.TagWeighting = ClassWeighting.InverseFrequency;
        var e = Assert.Throws<ArgumentException>(() => ml.Transforms.Rnn.LstmTagger(options));
        Assert.Equal("TagWeighting", e.ParamName);
        Assert.StartsWith("LstmTagger: TagWeighting InverseFrequency weights the per-token loss and cannot be used with UseCrf.", e.Message);
    }

    /// <summary>By default rare tags are weighted (square root of the inverse frequency) and early stopping watches
    /// macro-F1; with a CRF the default is unweighted, and only an explicit weighting conflicts with it.</summary>
    [Fact]
    public void DefaultsWeightRareTagsWithoutACrfOnly()
    {
        var ml = new MLContext(seed: 1);
        var plain = new LstmTagger.Options();
        Assert.Null(plain.TagWeighting);
        Assert.Equal(ClassWeighting.InverseSquareRootFrequency, plain.ResolvedTagWeighting);
        Assert.Equal(TaggerValidationMetric.MacroF1, plain.ValidationMetric);
        var crf = new LstmTagger.Options { UseCrf = true };
        Assert.Equal(ClassWeighting.None, crf.ResolvedTagWeighting);
        ml.Transforms.Rnn.LstmTagger(crf);   // no conflict: the default adapts to the CRF
        Assert.Equal(ClassWeighting.InverseFrequency, new LstmTagger.Options { TagWeighting = ClassWeighting.InverseFrequency }.ResolvedTagWeighting);
        Assert.Equal(ClassWeighting.None, new LstmTagger.Options { TagWeighting = ClassWeighting.None }.ResolvedTagWeighting);
    }

    [Fact]
    public void TagCountsMacroF1MatchesAHandComputation()
    {
        // Gold   [0 0 1 2 | 1 ·]  (second row has length 1)
        // Pred   [0 1 1 0 | 1 ·]  tag 0: correct 1, predicted 2, gold 2 -> F1 2/4; tag 1: correct 2, predicted 3, gold 2
        // -> 4/5; tag 2: 0, 0, 1 -> 0; tag 3 is neither gold nor predicted at a valid step: left out. Macro-F1 = 1.3 / 3.
        var counts = new TaggingObjective.TagCounts(4);
        using var predicted = TorchSharp.torch.tensor(new long[,] { { 0, 1, 1, 0 }, { 1, 3, 3, 3 } });
        using var gold = TorchSharp.torch.tensor(new long[,] { { 0, 0, 1, 2 }, { 1, 0, 0, 0 } });
        using var lengths = TorchSharp.torch.tensor(new long[] { 4, 1 });
        counts.Add(predicted, gold, lengths);
        Assert.Equal(1.3 / 3, counts.MacroF1(), 12);
        Assert.Equal(0, new TaggingObjective.TagCounts(3).MacroF1());
    }

    /// <summary>
    /// ValidationMetric = MacroF1 with Fit(train, validation): after one epoch the reported metric is the macro-F1 that
    /// TaggingEvaluator computes from the fitted tagger's output on the validation set.
    /// </summary>
    [Fact]
    public void MacroF1ValidationMetricOnAGivenValidationSetMatchesTheEvaluator()
    {
        var ml = new MLContext(seed: 1);
        var train = ml.Data.LoadFromEnumerable(RisingSteps(60, seed: 6));
        var tagKeys = ml.Transforms.Conversion.MapValueToKey("Label", "Tags").Fit(train);
        var validation = tagKeys.Transform(ml.Data.LoadFromEnumerable(RisingSteps(25, seed: 7)));
        var epochs = new List<EpochProgress>();
        var options = StepOptions();
        options.MaxEpochs = 1;
        options.EnsembleSize = 1;   // the one network's validation metric is the model's
        options.ValidationMetric = TaggerValidationMetric.MacroF1;
        options.Progress = new SyncProgress(epochs.Add);
        using var tagger = ml.Transforms.Rnn.LstmTagger(options).Fit(tagKeys.Transform(train), validation);
        var expected = TaggingEvaluator.Evaluate(tagger.Transform(validation)).MacroF1;
        Assert.Equal(expected, Assert.Single(epochs).ValidationMetric!.Value, 12);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void AnEnsembleTagsWithItsNetworksTogetherWhoseFirstIsTheSingleNetwork(bool crf)
    {
        var ml = new MLContext(seed: 1);
        var data = TagKeys(ml, ml.Data.LoadFromEnumerable(RisingSteps(120, seed: 5, fixedSteps: 4).Select(r => new FixedStepRow { Features = r.Features, Tags = r.Tags })));
        LstmTaggerTransformer Fit(int networks, List<EpochProgress> reports)
        {
            var options = StepOptions();
            options.UseCrf = crf;
            options.EnsembleSize = networks;
            options.Progress = new SyncProgress(reports.Add);
            return ml.Transforms.Rnn.LstmTagger(options).Fit(data);
        }
        var singleReports = new List<EpochProgress>();
        var ensembleReports = new List<EpochProgress>();
        using var single = Fit(1, singleReports);
        using var ensemble = Fit(3, ensembleReports);
        Assert.Equal(3, ensemble.EnsembleSize);
        Assert.Equal(new[] { 0, 0, 0, 1, 1, 1, 2, 2, 2 }, ensembleReports.Select(r => r.Model));
        Assert.Equal(singleReports.Select(r => r.TrainLoss), ensembleReports.Take(3).Select(r => r.TrainLoss));

        // Each network on its own, on the 120 rows of 4 steps of 2 values.
        var values = ColumnValues.Read(data, "Features").Cast<object[]>().SelectMany(r => r.Cast<float>()).ToArray();
        using var input = torch.tensor(values, [values.Length / 8, 4, 2]);
        var members = ensemble.Network.Members.Select(m => m.Forward(input)).ToArray();
        float[] Flat(torch.Tensor t) => t.detach().cpu().data<float>().ToArray();
        var scores = ColumnValues.Read(ensemble.Transform(data), "Score").Cast<object[]>().SelectMany(s => s.Cast<float>()).ToArray();
        var tags = ColumnValues.Read(ensemble.Transform(data), "PredictedLabel").Cast<object[]>().SelectMany(s => s.Select(k => (long)(ulong)k - 1)).ToArray();
        if (!crf)
        {
            // Per-token probabilities: the mean of the networks'; tags: their largest.
            var probabilities = members.Select(m => Flat(torch.nn.functional.softmax(m.Emissions, 2))).ToArray();
            for (int i = 0; i < scores.Length; i++)
                Assert.Equal(probabilities.Average(p => p[i]), scores[i], 1e-5);
            Assert.Contains(Enumerable.Range(0, scores.Length), i => Math.Abs(probabilities[0][i] - scores[i]) > 1e-3);
        }
        else
        {
            // Tags: Viterbi under the networks' mean emissions and mean transition, start and end scores.
            var crfs = ensemble.Network.Members.Select(m => m.Crf!).ToArray();
            torch.Tensor Mean(IEnumerable<torch.Tensor> each) => torch.stack(each.ToArray()).mean([0]);
            var lengths = torch.full([values.Length / 8], 4L, dtype: torch.ScalarType.Int64);
            var expected = LinearChainCrf.Viterbi(Mean(members.Select(m => m.Emissions)), lengths, Mean(crfs.Select(c => (torch.Tensor)c.Transitions)),
                Mean(crfs.Select(c => (torch.Tensor)c.StartScores)), Mean(crfs.Select(c => (torch.Tensor)c.EndScores))).Tags.data<long>().ToArray();
            Assert.Equal(expected, tags);
        }
        var singleScores = ColumnValues.Read(single.Transform(data), "Score").Cast<object[]>().SelectMany(s => s.Cast<float>()).ToArray();
        Assert.Equal(singleScores, Flat(torch.nn.functional.softmax(members[0].Emissions, 2)), (a, b) => Math.Abs(a - b) <= 1e-5);

        // Saved and loaded, the ensemble tags the same.
        string path = Path.Combine(_directory, $"ensemble-{crf}.zip");
        ml.Model.Save(ensemble, data.Schema, path);
        using var loaded = Assert.IsType<LstmTaggerTransformer>(ml.Model.Load(path, out _));
        Assert.Equal(3, loaded.EnsembleSize);
        Assert.Equal(scores, ColumnValues.Read(loaded.Transform(data), "Score").Cast<object[]>().SelectMany(s => s.Cast<float>()).ToArray());

        var bad = Assert.Throws<ArgumentOutOfRangeException>(() => ml.Transforms.Rnn.LstmTagger(new LstmTagger.Options { EnsembleSize = 65 }));
        Assert.Contains("LstmTagger: EnsembleSize must be between 1 and 64, got 65.", bad.Message);
    }

    private sealed class SyncProgress(Action<EpochProgress> report) : IProgress<EpochProgress>
    {
        public void Report(EpochProgress value) => report(value);
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
}
