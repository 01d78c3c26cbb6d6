using Microsoft.ML.Rnn.Training;
using Xunit;
using static TorchSharp.torch;

namespace Microsoft.ML.Rnn.Tests.MLNet;

public class TrainingThreadsTests
{
    private sealed class Row
    {
        public float[] Features = Array.Empty<float>();
        public bool Label;
    }

    private static IDataView Data(MLContext ml) => ml.Data.LoadFromEnumerable(Enumerable.Range(0, 12).Select(i => new Row
    {
        Features = Enumerable.Range(0, 2 * (1 + i % 4)).Select(k => (float)Math.Sin(i + k)).ToArray(),
        Label = i % 2 == 0,
    }));

    [Theory]
    [InlineData(1, 1)]
    [InlineData(2, 1)]
    [InlineData(4, 3)]
    [InlineData(16, 15)]
    public void DefaultLeavesOneCoreFree(int cores, int expected) => Assert.Equal(expected, TrainingThreads.Default(cores));

    [Fact]
    public void TrainingRunsWithTheRequestedThreadsAndRestoresTheProcessSetting()
    {
        int before = get_num_threads();
        var seen = new List<int>();
        var ml = new MLContext(seed: 1);
        using var model = ml.Transforms.Rnn.SequenceClassifier(new RnnSequenceClassifier.Options
        {
            FeaturesPerStep = 2, HiddenSize = 4, MaxEpochs = 2, BatchSize = 4, Seed = 1, NumberOfThreads = before + 1, EnsembleSize = 1,
            Progress = new SynchronousProgress(_ => seen.Add(get_num_threads())),
        }).Fit(Data(ml));
        Assert.Equal([before + 1, before + 1], seen);
        Assert.Equal(before, get_num_threads());
    }

    [Fact]
    public void TheSettingIsRestoredWhenTrainingFails()
    {
        int before = get_num_threads();
        var ml = new MLContext(seed: 1);
        var estimator = ml.Transforms.Rnn.SequenceClassifier(new RnnSequenceClassifier.Options
        {
            FeaturesPerStep = 2, HiddenSize = 4, MaxEpochs = 3, BatchSize = 4, Seed = 1, NumberOfThreads = before + 1,
            Progress = new SynchronousProgress(_ => throw new InvalidOperationException("stop")),
        });
        Assert.Throws<InvalidOperationException>(() => estimator.Fit(Data(ml)));
        Assert.Equal(before, get_num_threads());
    }

    [Fact]
    public void ZeroThreadsIsRejectedNamingTheOption()
    {
        var ml = new MLContext(seed: 1);
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => ml.Transforms.Rnn.SequenceClassifier(
            new RnnSequenceClassifier.Options { NumberOfThreads = 0 }));
        Assert.Equal("NumberOfThreads", error.ParamName);
        Assert.Contains("NumberOfThreads must be at least 1, got 0", error.Message);
    }

    private sealed class SynchronousProgress(Action<EpochProgress> report) : IProgress<EpochProgress>
    {
        public void Report(EpochProgress value) => report(value);
    }
}
