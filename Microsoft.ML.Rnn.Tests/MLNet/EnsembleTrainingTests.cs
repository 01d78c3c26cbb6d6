using Microsoft.ML.Data;
using Microsoft.ML.Rnn.Core;
using Microsoft.ML.Rnn.Ensembles;
using Xunit;

namespace Microsoft.ML.Rnn.Tests.MLNet;

/// <summary>
/// An ensemble's networks trained side by side (<see cref="EnsembleTraining"/>) are the networks of a run that trains
/// them one after the other: the same scores bit for bit, the same progress reports in the same order; a failure in
/// one network ends the run with that failure.
/// </summary>
public class EnsembleTrainingTests
{
    private sealed class Row
    {
        [VectorType] public float[] Features { get; set; } = [];
        public bool Label { get; set; }
    }

    /// <summary>Reports on the training thread (<see cref="Progress{T}"/> would post to the thread pool).</summary>
    private sealed class SynchronousProgress(Action<EpochProgress> report) : IProgress<EpochProgress>
    {
        public void Report(EpochProgress value) => report(value);
    }

    private sealed class TaggedRow
    {
        public string[] Tokens { get; set; } = [];
        public string[] Tags { get; set; } = [];
    }

    private static IDataView Rows(MLContext ml) => ml.Data.LoadFromEnumerable(Enumerable.Range(0, 48).Select(i =>
    {
        var features = Enumerable.Range(0, 2 * (2 + i % 5)).Select(k => (float)Math.Sin(0.7 * i + 1.3 * k)).ToArray();
        return new Row { Features = features, Label = features.Where((_, k) => k % 2 == 0).Sum() > 0 };
    }));

    private static IDataView TaggedRows(MLContext ml)
    {
        string[] words = ["the", "a", "cat", "dog", "runs", "sleeps", "fast", "here"];
        var random = new Random(3);
        return ml.Data.LoadFromEnumerable(Enumerable.Range(0, 40).Select(_ =>
        {
            var tokens = Enumerable.Range(0, random.Next(2, 8)).Select(_ => words[random.Next(words.Length)]).ToArray();
            return new TaggedRow { Tokens = tokens, Tags = tokens.Select(t => t is "the" or "a" ? "DET" : t.Length > 4 ? "VERB" : "NOUN").ToArray() };
        }));
    }

    private static (float[] Scores, List<(int Model, int Epoch)> Reports) Classifier(int threads, float dropout = 0)
    {
        var ml = new MLContext(seed: 1);
        var data = Rows(ml);
        var reports = new List<(int, int)>();
        using var model = ml.Transforms.Rnn.SequenceClassifier(new RnnSequenceClassifier.Options
        {
            FeaturesPerStep = 2, HiddenSize = 6, MaxEpochs = 4, BatchSize = 8, Seed = 5, EnsembleSize = 3, Dropout = dropout,
            NumberOfThreads = threads, Progress = new SynchronousProgress(p => reports.Add((p.Model, p.Epoch))),
        }).Fit(data);
        return (model.Transform(data).GetColumn<float>("Score").ToArray(), reports);
    }

    [Fact]
    public void ClassifierNetworksTrainedSideBySideAreThoseOfASequentialRun()
    {
        // Two threads: two networks at a time; one thread: one after the other, on the same one thread each.
        var (sideBySide, sideBySideReports) = Classifier(threads: 2);
        var (sequential, sequentialReports) = Classifier(threads: 1);
        Assert.Equal(sequential, sideBySide);
        Assert.Equal(sequentialReports, sideBySideReports);   // every epoch of network 1, then of network 2, ...
        Assert.Equal([0, 1, 2], sequentialReports.Select(r => r.Model).Distinct());
    }

    [Fact]
    public void TaggerNetworksTrainedSideBySideAreThoseOfASequentialRun()
    {
        // The tagger's LSTM may run libtorch's kernel with oneDNN switched off (on CPUs where oneDNN is wrong) while
        // another network runs it with oneDNN: OneDnnSwitch keeps the two apart, so the results do not depend on timing.
        float[][] Tags(int threads)
        {
            var ml = new MLContext(seed: 1);
            var data = ml.Transforms.Conversion.MapValueToKey("Label", nameof(TaggedRow.Tags)).Fit(TaggedRows(ml)).Transform(TaggedRows(ml));
            using var model = ml.Transforms.Rnn.LstmTagger(new LstmTagger.Options
            {
                FeatureColumnName = nameof(TaggedRow.Tokens), EmbeddingSize = 4, HiddenSize = 5, Bidirectional = true, MaxEpochs = 3,
                BatchSize = 8, Seed = 5, EnsembleSize = 3, NumberOfThreads = threads,
            }).Fit(data);
            return model.Transform(data).GetColumn<float[]>("Score").ToArray();
        }
        Assert.Equal(Tags(threads: 1), Tags(threads: 3));
    }

    [Theory]
    [InlineData(1, 0f, 8, 1)]     // a single network
    [InlineData(5, 0.2f, 8, 1)]   // dropout draws from libtorch's one generator: one after the other
    [InlineData(5, 0f, 1, 1)]     // one thread asked for
    [InlineData(5, 0f, 2, 2)]
    [InlineData(5, 0f, 8, 5)]     // no more than the networks
    public void WorkersFollowTheThreadsTheNetworksAndDropout(int members, float dropout, int threads, int expected)
    {
        var options = new RnnSequenceClassifier.Options { Dropout = dropout, NumberOfThreads = threads };
        Assert.Equal(expected, EnsembleTraining.Workers(options, members, TorchSharp.torch.CPU));
    }

    [Fact]
    public void WithDropoutTheNetworksTrainOneAfterTheOtherAndARunRepeats()
    {
        var first = Classifier(threads: 2, dropout: 0.3f).Scores;
        Assert.Equal(first, Classifier(threads: 2, dropout: 0.3f).Scores);
    }

    [Fact]
    public void AFailureInOneNetworkEndsTheRunWithThatFailure()
    {
        var ml = new MLContext(seed: 1);
        var estimator = ml.Transforms.Rnn.SequenceClassifier(new RnnSequenceClassifier.Options
        {
            FeaturesPerStep = 2, HiddenSize = 6, MaxEpochs = 4, BatchSize = 8, Seed = 5, EnsembleSize = 3, NumberOfThreads = 2,
            Progress = new SynchronousProgress(p =>
            {
                if (p.Model == 1 && p.Epoch == 1) throw new InvalidOperationException("network 2 failed");
            }),
        });
        var e = Assert.Throws<InvalidOperationException>(() => estimator.Fit(Rows(ml)));
        Assert.Equal("network 2 failed", e.Message);
    }

    [Fact]
    public async Task OneDnnOffWaitsUntilTheCallsThatKeepItHaveEnded()
    {
        if (!OneDnnSwitch.IsAvailable) return;   // Windows builds of libtorch export other names: nothing to keep apart
        var keeping = OneDnnSwitch.AsBefore();
        using var offTaken = new ManualResetEventSlim();
        var off = Task.Run(() =>
        {
            using (OneDnnSwitch.Off())
                offTaken.Set();
        });
        // Off must not be taken while the AsBefore scope is open (a wrong switch would take it at once).
        Assert.False(offTaken.Wait(TimeSpan.FromMilliseconds(300)));
        keeping.Dispose();
        await off.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.True(offTaken.IsSet);
    }
}
