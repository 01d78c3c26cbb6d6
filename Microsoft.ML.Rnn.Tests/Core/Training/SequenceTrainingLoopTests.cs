using Microsoft.ML.Rnn.Core.Training;
using Xunit;
using static TorchSharp.torch;

namespace Microsoft.ML.Rnn.Tests.Core.Training;

public class SequenceTrainingLoopTests
{
    private sealed class SyncProgress<T>(Action<T> onReport) : IProgress<T>
    {
        public void Report(T value) => onReport(value);
    }

    /// <summary>A linear regression problem y = x·w with rows as "sequences" of length 1..10.</summary>
    private sealed class Problem : IDisposable
    {
        public readonly Tensor X, Y;
        public readonly int[] Lengths;
        public Problem(int rows = 64)
        {
            var g = new Generator(11);
            X = randn(rows, 3, generator: g);
            Y = X.matmul(tensor(new float[] { 1f, -2f, 0.5f })).unsqueeze(1);
            Lengths = Enumerable.Range(0, rows).Select(i => 1 + i % 10).ToArray();
        }
        public Tensor Loss(nn.Module<Tensor, Tensor> model, int[] rows)
        {
            var index = tensor(rows.Select(r => (long)r).ToArray());
            return nn.functional.mse_loss(model.call(X.index_select(0, index)), Y.index_select(0, index));
        }
        public void Dispose() { X.Dispose(); Y.Dispose(); }
    }

    private static nn.Module<Tensor, Tensor> NewModel(int seed)
    {
        manual_seed(seed);
        return nn.Sequential(nn.Linear(3, 8), nn.Dropout(0.2), nn.Linear(8, 1));
    }

    private static Tensor[] Copy(nn.Module model) => model.parameters().Select(p => p.detach().clone()).ToArray();

    /// <summary>The rate each schedule leaves after every epoch: halved after half the patience without improvement
    /// (down to 1/64), a cosine down to 1/64 at the last epoch, or constant.</summary>
    [Theory]
    [InlineData(LearningRateSchedule.Constant, new[] { 1.0, 1, 1, 1, 1, 1, 1, 1 })]
    [InlineData(LearningRateSchedule.ReduceOnPlateau, new[] { 1.0, 1, 0.5, 0.5, 0.25, 0.25, 0.125, 0.125 })]
    public void LearningRateFollowsTheSchedule(LearningRateSchedule schedule, double[] expected)
    {
        using var scope = NewDisposeScope();
        using var problem = new Problem();
        var model = NewModel(1);
        var optimizer = optim.Adam(model.parameters(), 0.04);
        var rates = new List<double>();
        // The metric never improves after the first epoch; patience 5 gives a plateau of 2 epochs.
        var loop = new SequenceTrainingLoop(model, optimizer,
            new SequenceTrainingLoopOptions { MaxEpochs = 8, Patience = 50, LearningRateSchedule = schedule });
        loop.Run(LengthBucketBatcher.ForTraining(problem.Lengths, 8, seed: 1), rows => problem.Loss(model, rows), validate: () => 1.0,
            progress: new SyncProgress<EpochProgress>(_ => rates.Add(optimizer.ParamGroups.Single().LearningRate / 0.04)));
        Assert.Equal(schedule == LearningRateSchedule.ReduceOnPlateau ? [1.0, 1, 1, 1, 1, 1, 1, 1] : expected, rates.ToArray());

        // With patience 5 (a plateau of 2 epochs) the rate halves every second epoch without improvement.
        rates.Clear();
        var patient = new SequenceTrainingLoop(model, optimizer = optim.Adam(model.parameters(), 0.04),
            new SequenceTrainingLoopOptions { MaxEpochs = 8, Patience = 5, LearningRateSchedule = schedule });
        patient.Run(LengthBucketBatcher.ForTraining(problem.Lengths, 8, seed: 1), rows => problem.Loss(model, rows), validate: () => 1.0,
            progress: new SyncProgress<EpochProgress>(_ => rates.Add(optimizer.ParamGroups.Single().LearningRate / 0.04)));
        Assert.Equal(expected.Take(6), rates.ToArray());   // stopped after 5 epochs without improvement
    }

    [Fact]
    public void CosineScheduleDecaysToASixtyFourthAtTheLastEpoch()
    {
        using var scope = NewDisposeScope();
        using var problem = new Problem();
        var model = NewModel(1);
        var optimizer = optim.Adam(model.parameters(), 0.04);
        var rates = new List<double>();
        new SequenceTrainingLoop(model, optimizer, new SequenceTrainingLoopOptions { MaxEpochs = 9, LearningRateSchedule = LearningRateSchedule.Cosine })
            .Run(LengthBucketBatcher.ForTraining(problem.Lengths, 8, seed: 1), rows => problem.Loss(model, rows),
                progress: new SyncProgress<EpochProgress>(_ => rates.Add(optimizer.ParamGroups.Single().LearningRate / 0.04)));
        Assert.Equal(9, rates.Count);
        // Epoch e trains with the rate set after epoch e - 1: epoch 0 with the full rate, the last (8) with 1/64.
        Assert.True(rates.Take(8).Zip(rates.Skip(1).Take(7)).All(p => p.Second < p.First), string.Join(", ", rates));
        Assert.Equal(1.0 / 64, rates[^2], 12);
        Assert.Equal(1.0 / 64, rates[^1], 12);
        Assert.Equal(0.5 * (1 + 1.0 / 64), rates[3], 12);   // halfway
    }

    [Fact]
    public void LearnsAndReportsProgressEveryEpoch()
    {
        using var scope = NewDisposeScope();
        using var problem = new Problem();
        var model = NewModel(1);
        var reports = new List<EpochProgress>();
        var loop = new SequenceTrainingLoop(model, optim.Adam(model.parameters(), 0.05),
            new SequenceTrainingLoopOptions { MaxEpochs = 30, Seed = 1, RestoreBestWeights = false });
        var summary = loop.Run(LengthBucketBatcher.ForTraining(problem.Lengths, 8, seed: 1),
            rows => problem.Loss(model, rows), progress: new SyncProgress<EpochProgress>(reports.Add));

        Assert.Equal(30, summary.EpochsCompleted);
        Assert.Equal(30 * 8, summary.BatchesRun);
        Assert.Equal(Enumerable.Range(0, 30), reports.Select(r => r.Epoch));
        Assert.All(reports, r => Assert.Null(r.ValidationMetric));
        Assert.Equal(TimeSpan.Zero, reports[^1].EstimatedRemaining);
        Assert.True(reports[0].EstimatedRemaining > TimeSpan.Zero);
        Assert.True(summary.TrainLosses[^1] < 0.1 * summary.TrainLosses[0],
            $"loss {summary.TrainLosses[0]} -> {summary.TrainLosses[^1]}");
        Assert.True(model.training);
    }

    [Fact]
    public void CancellationStopsWithinOneBatchAndRestoresBestWeights()
    {
        using var scope = NewDisposeScope();
        using var problem = new Problem();
        var model = NewModel(2);
        using var cts = new CancellationTokenSource();
        Tensor[]? best = null;
        int calls = 0;
        var loop = new SequenceTrainingLoop(model, optim.SGD(model.parameters(), 0.05),
            new SequenceTrainingLoopOptions { MaxEpochs = 10 });
        var summary = loop.Run(LengthBucketBatcher.ForTraining(problem.Lengths, 8, seed: 2),
            rows =>
            {
                // Cancel in the middle of the third epoch (8 batches per epoch).
                if (++calls == 20) cts.Cancel();
                return problem.Loss(model, rows);
            },
            progress: new SyncProgress<EpochProgress>(p => { if (p.IsBest) best = Copy(model); }),
            cancellationToken: cts.Token);

        Assert.True(summary.Cancelled);
        Assert.Equal(20, calls);
        Assert.Equal(20, summary.BatchesRun);
        Assert.Equal(2, summary.EpochsCompleted);
        Assert.NotNull(best);
        var restored = model.parameters().ToArray();
        for (int i = 0; i < best.Length; i++)
            Assert.True(restored[i].equal(best[i]).all().item<bool>());
    }

    [Fact]
    public void EarlyStoppingOnValidationMetricRestoresBestEpoch()
    {
        using var scope = NewDisposeScope();
        using var problem = new Problem();
        var model = NewModel(3);
        double[] metrics = [0.5, 0.7, 0.65, 0.6, 0.9];
        var snapshots = new List<Tensor[]>();
        bool validatedInEvalMode = true, validatedWithoutGrad = true;
        var loop = new SequenceTrainingLoop(model, optim.SGD(model.parameters(), 0.05),
            new SequenceTrainingLoopOptions { MaxEpochs = 5, Patience = 2, HigherIsBetter = true });
        var summary = loop.Run(LengthBucketBatcher.ForTraining(problem.Lengths, 16, seed: 3),
            rows => problem.Loss(model, rows),
            validate: () =>
            {
                validatedInEvalMode &= !model.training;
                validatedWithoutGrad &= !is_grad_enabled();
                snapshots.Add(Copy(model).Select(t => t.MoveToOuterDisposeScope()).ToArray());
                return metrics[snapshots.Count - 1];
            });

        Assert.True(summary.StoppedEarly);
        Assert.Equal(4, summary.EpochsCompleted);
        Assert.Equal(1, summary.BestEpoch);
        Assert.Equal(0.7, summary.BestMetric);
        Assert.Equal([0.5, 0.7, 0.65, 0.6], summary.ValidationMetrics.Select(m => m!.Value));
        Assert.True(validatedInEvalMode);
        Assert.True(validatedWithoutGrad);
        var restored = model.parameters().ToArray();
        for (int i = 0; i < restored.Length; i++)
        {
            Assert.True(restored[i].equal(snapshots[1][i]).all().item<bool>());
            Assert.False(restored[i].equal(snapshots[3][i]).all().item<bool>());
        }
    }

    [Fact]
    public void SameSeedGivesBitIdenticalWeights()
    {
        float[][] Train(int seed)
        {
            using var scope = NewDisposeScope();
            using var problem = new Problem();
            var model = NewModel(seed);
            var loop = new SequenceTrainingLoop(model, optim.Adam(model.parameters(), 0.01),
                new SequenceTrainingLoopOptions { MaxEpochs = 2, Seed = seed, MaxGradientNorm = 0.5 });
            loop.Run(LengthBucketBatcher.ForTraining(problem.Lengths, 8, seed), rows => problem.Loss(model, rows));
            return model.parameters().Select(p => p.data<float>().ToArray()).ToArray();
        }

        var a = Train(5);
        var b = Train(5);
        var c = Train(6);
        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
    }

    [Fact]
    public void ClipsTheGradientNorm()
    {
        using var scope = NewDisposeScope();
        var w = nn.Parameter(zeros(4));
        var module = new ParameterHolder(w);
        var loop = new SequenceTrainingLoop(module, optim.SGD(module.parameters(), 1.0),
            new SequenceTrainingLoopOptions { MaxEpochs = 1, MaxGradientNorm = 0.5, RestoreBestWeights = false });
        // Gradient of sum(w * (30, 40, 0, 0)) is (30, 40, 0, 0), norm 50: clipped to norm 0.5, one SGD step of lr 1.
        loop.Run(LengthBucketBatcher.ForTraining([1], 1, 0), _ => (w * tensor(new float[] { 30, 40, 0, 0 })).sum());
        Assert.Equal([-0.3f, -0.4f, 0f, 0f], w.data<float>().ToArray(), (x, y) => Math.Abs(x - y) < 1e-5);
    }

    [Fact]
    public void NonFiniteLossIsReported()
    {
        using var scope = NewDisposeScope();
        var model = NewModel(4);
        var loop = new SequenceTrainingLoop(model, optim.SGD(model.parameters(), 0.1));
        var e = Assert.Throws<InvalidOperationException>(() => loop.Run(LengthBucketBatcher.ForTraining([1, 2], 1, 0),
            _ => model.parameters().First().sum() * float.NaN));
        Assert.Equal("SequenceTrainingLoop: the loss became NaN at epoch 0, batch 0; lower the learning rate or set MaxGradientNorm.", e.Message);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void AFailingBatchRestoresTheBestWeightsBeforeThrowing(bool nonFiniteLoss)
    {
        using var scope = NewDisposeScope();
        using var problem = new Problem();
        var model = NewModel(7);
        Tensor[]? best = null;
        int calls = 0;
        var loop = new SequenceTrainingLoop(model, optim.SGD(model.parameters(), 0.05),
            new SequenceTrainingLoopOptions { MaxEpochs = 10 });
        // The third epoch fails at its fifth batch (8 batches per epoch), after four more optimizer steps.
        Tensor Loss(int[] rows)
        {
            var loss = problem.Loss(model, rows);
            if (++calls < 21) return loss;
            if (nonFiniteLoss) return loss * float.PositiveInfinity;
            throw new OperationCanceledException("stopped by the caller");
        }
        Exception e = nonFiniteLoss
            ? Assert.Throws<InvalidOperationException>(() => loop.Run(LengthBucketBatcher.ForTraining(problem.Lengths, 8, seed: 7),
                Loss, progress: new SyncProgress<EpochProgress>(p => { if (p.IsBest) best = Copy(model); })))
            : Assert.Throws<OperationCanceledException>(() => loop.Run(LengthBucketBatcher.ForTraining(problem.Lengths, 8, seed: 7),
                Loss, progress: new SyncProgress<EpochProgress>(p => { if (p.IsBest) best = Copy(model); })));
        Assert.Equal(nonFiniteLoss
            ? "SequenceTrainingLoop: the loss became Infinity at epoch 2, batch 4; lower the learning rate or set MaxGradientNorm."
            : "stopped by the caller", e.Message);

        Assert.NotNull(best);
        var restored = model.parameters().ToArray();
        for (int i = 0; i < best.Length; i++)
            Assert.True(restored[i].equal(best[i]).all().item<bool>());
        Assert.True(model.training);
    }

    private sealed class ParameterHolder : nn.Module
    {
        private readonly TorchSharp.Modules.Parameter w;
        public ParameterHolder(TorchSharp.Modules.Parameter w) : base(nameof(ParameterHolder)) { this.w = w; RegisterComponents(); }
    }
}
