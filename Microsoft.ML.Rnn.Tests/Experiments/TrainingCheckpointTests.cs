using Microsoft.ML.Rnn.Training;
using Xunit;

namespace Microsoft.ML.Rnn.Tests.Experiments;

/// <summary>The resume hook successive halving relies on: a first segment is a plain run, a later one trains only the missing epochs.</summary>
public sealed class TrainingCheckpointTests
{
    private sealed class Epochs : IProgress<EpochProgress>
    {
        public List<EpochProgress> Reports { get; } = new();
        public void Report(EpochProgress value) => Reports.Add(value);
    }

    private static float[] Scores(MLContext ml, RnnSequenceClassifierTransformer model, IDataView data)
        => ml.Data.CreateEnumerable<ScoreRow>(model.Transform(data), reuseRowObject: false).SelectMany(r => r.Score).ToArray();

    private sealed class ScoreRow
    {
        public float[] Score { get; set; } = Array.Empty<float>();
    }

    [Fact]
    public void AFirstSegmentIsAPlainRunAndLaterSegmentsContinue()
    {
        var ml = new MLContext(1);
        var data = ExperimentData.Digits(ml, 200);
        RnnSequenceClassifierTransformer Fit(int epochs, TrainingCheckpoint? checkpoint, Epochs progress, int networks = 1)
        {
            var o = ExperimentData.DigitOptions(epochs);
            o.Seed = 4;
            o.EnsembleSize = networks;
            o.Progress = progress;
            return ml.Transforms.Rnn.SequenceClassifier(o).Fit(data, null, checkpoint);
        }

        var plainProgress = new Epochs();
        using var plain = Fit(2, null, plainProgress);
        var checkpoint = new TrainingCheckpoint();
        var first = new Epochs();
        using var segment = Fit(2, checkpoint, first);
        Assert.Equal(Scores(ml, plain, data), Scores(ml, segment, data));
        Assert.Equal(2, checkpoint.EpochsCompleted);
        Assert.Equal(plainProgress.Reports.Select(r => r.TrainLoss), first.Reports.Select(r => r.TrainLoss));

        // Continuing to 5 epochs trains 3 more, starting from the saved weights: its first training loss is close to the
        // last one of the first segment, far below a fresh start's.
        var second = new Epochs();
        using var continued = Fit(5, checkpoint, second);
        Assert.Equal(3, second.Reports.Count);
        Assert.Equal(5, checkpoint.EpochsCompleted);
        Assert.Equal(2, checkpoint.Segments);
        Assert.True(second.Reports[0].TrainLoss < first.Reports[0].TrainLoss - 0.01,
            $"continued epoch loss {second.Reports[0].TrainLoss} vs fresh {first.Reports[0].TrainLoss}");

        var e = Assert.Throws<InvalidOperationException>(() => Fit(5, checkpoint, new Epochs()));
        Assert.Equal("RnnSequenceClassifier: the checkpoint already ran 5 epochs; MaxEpochs 5 leaves none to run.", e.Message);

        // An ensemble continues each network from its own state: 3 more epochs each, the first network's as before.
        var ensembleCheckpoint = new TrainingCheckpoint();
        using (Fit(2, ensembleCheckpoint, new Epochs(), networks: 2)) { }
        var ensembleSecond = new Epochs();
        using var ensemble = Fit(5, ensembleCheckpoint, ensembleSecond, networks: 2);
        Assert.Equal(new[] { 0, 0, 0, 1, 1, 1 }, ensembleSecond.Reports.Select(r => r.Model));
        Assert.All(ensembleSecond.Reports, r => Assert.Equal(2, r.Models));
        Assert.Equal(second.Reports.Select(r => r.TrainLoss), ensembleSecond.Reports.Take(3).Select(r => r.TrainLoss));
        Assert.True(ensembleSecond.Reports[3].TrainLoss < first.Reports[0].TrainLoss - 0.01,
            $"continued second network's loss {ensembleSecond.Reports[3].TrainLoss} vs fresh {first.Reports[0].TrainLoss}");
        Assert.Equal(2, ensemble.EnsembleSize);
    }
}
