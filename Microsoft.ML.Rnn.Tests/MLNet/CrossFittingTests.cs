using Microsoft.ML.Data;
using Microsoft.ML.Rnn.Training;
using Xunit;

namespace Microsoft.ML.Rnn.Tests.MLNet;

/// <summary>
/// A cross-fitted classifier (<see cref="RnnSequenceClassifier.Options.CrossFitFolds"/>) scores the rows it was fitted
/// on with the networks that did not learn from them, and everything else with the full model, which is the model
/// trained without cross-fitting.
/// </summary>
public sealed class CrossFittingTests
{
    private const int Rows = 160;

    private sealed class Row
    {
        [KeyType(Rows)] public uint[] Features { get; set; } = [];
        public bool Label { get; set; }
    }

    /// <summary>Each row's only token is its own, and its label a coin flip: a network knows a row's label only if it learnt that row.</summary>
    private static Row[] Memorise()
    {
        var random = new Random(11);
        return Enumerable.Range(0, Rows).Select(i => new Row { Features = [(uint)i + 1], Label = random.Next(2) == 1 }).ToArray();
    }

    private static RnnSequenceClassifier.Options Options(int folds) => new()
    {
        EmbeddingSize = 8, HiddenSize = 8, EnsembleSize = 1, MaxEpochs = 40, LearningRate = 0.05f, BatchSize = 16,
        ValidationFraction = 0, Seed = 3, NumberOfThreads = 1, CrossFitFolds = folds,
    };

    private static double Accuracy(IDataView scored, Row[] rows)
        => scored.GetColumn<bool>("PredictedLabel").Zip(rows, (predicted, row) => predicted == row.Label).Average(hit => hit ? 1.0 : 0.0);

    [Fact]
    public void TheFittedRowsGetScoresOfNetworksThatDidNotLearnThem()
    {
        var ml = new MLContext(seed: 1);
        var rows = Memorise();
        var data = ml.Data.LoadFromEnumerable(rows);
        using var model = ml.Transforms.Rnn.SequenceClassifier(Options(folds: 4)).Fit(data);

        // The full model has learnt every row's coin flip; a network that never saw a row's token can only guess
        // (a fair guess is right with probability 0.5: standard deviation 0.04 over 160 rows, so 0.7 is 5 of them away).
        double outOfFold = Accuracy(model.Transform(data), rows);
        double full = Accuracy(model.Transform(ml.Data.LoadFromEnumerable(rows)), rows);
        Assert.True(full >= 0.95, $"the full model's accuracy on the rows it learnt: {full:F3}");
        Assert.True(outOfFold <= 0.7, $"out-of-fold accuracy on coin flips: {outOfFold:F3}");

        // A saved and loaded model is the full model alone, for the same data view too.
        using var stream = new MemoryStream();
        ml.Model.Save(model, data.Schema, stream);
        stream.Position = 0;
        var loaded = ml.Model.Load(stream, out _);
        Assert.Equal(model.Transform(ml.Data.LoadFromEnumerable(rows)).GetColumn<float>("Score"), loaded.Transform(data).GetColumn<float>("Score"));
        (loaded as IDisposable)?.Dispose();
    }

    private sealed class TextLabelRow
    {
        [KeyType(Rows)] public uint[] Features { get; set; } = [];
        public string Class { get; set; } = "";
    }

    [Fact]
    public void RowsWithoutALabelAreScoredByTheFullModelBetweenTheOthers()
    {
        // Every fifth row has no class (an empty text: a missing key): Fit skips it, so it has no out-of-fold score, and
        // the batches of the fitted view mix network-scored rows with known ones.
        var ml = new MLContext(seed: 1);
        var rows = Memorise().Select((r, i) => new TextLabelRow { Features = r.Features, Class = i % 5 == 0 ? "" : r.Label ? "heads" : "tails" }).ToArray();
        var labels = ml.Transforms.Conversion.MapValueToKey("Label", "Class").Fit(ml.Data.LoadFromEnumerable(rows));
        var data = labels.Transform(ml.Data.LoadFromEnumerable(rows));
        Assert.Equal(Enumerable.Range(0, rows.Length).Where(i => i % 5 == 0), data.GetColumn<uint>("Label").Select((key, i) => (key, i)).Where(r => r.key == 0).Select(r => r.i));
        using var model = ml.Transforms.Rnn.SequenceClassifier(Options(folds: 4)).Fit(data);
        var fitted = model.Transform(data).GetColumn<float[]>("Score").ToArray();
        var full = model.Transform(labels.Transform(ml.Data.LoadFromEnumerable(rows))).GetColumn<float[]>("Score").ToArray();
        // No label: the full model's score, in its place (batched with other rows than in the copy, hence float32
        // rounding: probabilities within 1e-5, a few dozen ulps).
        for (int i = 0; i < rows.Length; i += 5)
            Assert.True(full[i].Zip(fitted[i]).All(p => Math.Abs(p.First - p.Second) < 1e-5), $"row {i}: {full[i][0]} vs {fitted[i][0]}");
        // Labelled: other models' scores (a few may agree closely where both are sure).
        int differing = Enumerable.Range(0, rows.Length).Count(i => i % 5 != 0 && Math.Abs(full[i][0] - fitted[i][0]) > 1e-3);
        Assert.True(differing > rows.Length * 4 / 5 / 2, $"{differing} of {rows.Length * 4 / 5} labelled rows scored differently");
    }

    [Fact]
    public void ThePipelineAfterTheClassifierLearnsFromOutOfFoldScores()
    {
        // EstimatorChain.Fit hands the classifier's Transform of its own training data to the next estimator: a
        // trainer on the classifier's score alone then learns that the score says nothing about these labels.
        float Level2Weight(int folds)
        {
            var ml = new MLContext(seed: 1);
            using var stacked = ml.Transforms.Rnn.SequenceClassifier(Options(folds))
                .Append(ml.Transforms.Concatenate("Level2", "Score"))
                .AppendCacheCheckpoint(ml)
                .Append(ml.BinaryClassification.Trainers.LbfgsLogisticRegression(featureColumnName: "Level2"))
                .Fit(ml.Data.LoadFromEnumerable(Memorise()));
            return stacked.LastTransformer.Model.SubModel.Weights[0];
        }
        // On the leaky scores (the rows the classifier learnt) the margin separates the classes: a large weight.
        float outOfFoldWeight = Level2Weight(folds: 4), leakyWeight = Level2Weight(folds: 0);
        Assert.True(leakyWeight > 4 * Math.Abs(outOfFoldWeight), $"weight on leaky scores {leakyWeight:F3}, on out-of-fold scores {outOfFoldWeight:F3}");
    }

    [Fact]
    public void TheKeptModelIsTheModelTrainedWithoutCrossFitting()
    {
        var ml = new MLContext(seed: 1);
        var rows = Memorise();
        using var plain = ml.Transforms.Rnn.SequenceClassifier(Options(folds: 0)).Fit(ml.Data.LoadFromEnumerable(rows));
        using var crossFitted = ml.Transforms.Rnn.SequenceClassifier(Options(folds: 3)).Fit(ml.Data.LoadFromEnumerable(rows));
        var fresh = ml.Data.LoadFromEnumerable(rows);
        Assert.Equal(plain.Transform(fresh).GetColumn<float>("Score"), crossFitted.Transform(fresh).GetColumn<float>("Score"));
    }

    [Fact]
    public void OutOfFoldScoresFollowTheSeedWhateverTheThreads()
    {
        // Two threads train two of the five networks at a time; one thread trains them one after the other.
        float[] OutOfFold(int threads)
        {
            var ml = new MLContext(seed: 1);
            var data = ml.Data.LoadFromEnumerable(Memorise());
            var options = Options(folds: 4);
            options.NumberOfThreads = threads;
            using var model = ml.Transforms.Rnn.SequenceClassifier(options).Fit(data);
            return model.Transform(data).GetColumn<float>("Score").ToArray();
        }
        Assert.Equal(OutOfFold(threads: 1), OutOfFold(threads: 2));
    }

    [Fact]
    public void FoldsHoldEveryClassEvenlyAndFollowTheSeed()
    {
        long[] classes = [.. Enumerable.Repeat(0L, 31), .. Enumerable.Repeat(1L, 9), .. Enumerable.Repeat(2L, 2)];
        var folds = CrossFitting.StratifiedFolds(classes, 4, seed: 7);
        foreach (long c in new long[] { 0, 1, 2 })
        {
            var perFold = Enumerable.Range(0, 4).Select(f => Enumerable.Range(0, classes.Length).Count(r => classes[r] == c && folds[r] == f)).ToArray();
            Assert.True(perFold.Max() - perFold.Min() <= 1, $"class {c}: rows per fold {string.Join(", ", perFold)}");
        }
        Assert.Equal(folds, CrossFitting.StratifiedFolds(classes, 4, seed: 7));
        Assert.NotEqual(folds, CrossFitting.StratifiedFolds(classes, 4, seed: 8));
        Assert.Equal(Enumerable.Range(0, classes.Length).Where(r => folds[r] != 2), CrossFitting.RowsOutside(folds, 2));
    }

    [Fact]
    public void BadFoldCountsAreNamed()
    {
        var ml = new MLContext(seed: 1);
        var one = Assert.Throws<ArgumentOutOfRangeException>(() => ml.Transforms.Rnn.SequenceClassifier(Options(folds: 1)));
        Assert.Contains("CrossFitFolds must be 0 (no cross-fitting) or between 2 and 20, got 1", one.Message);
        var few = ml.Data.LoadFromEnumerable(Memorise().Take(7));
        var tooMany = Assert.Throws<InvalidOperationException>(() => ml.Transforms.Rnn.SequenceClassifier(Options(folds: 4)).Fit(few));
        Assert.Contains("CrossFitFolds 4 needs at least 8 labelled training rows (two per fold); the data has 7", tooMany.Message);
    }
}
