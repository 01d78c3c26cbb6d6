using System.Diagnostics;
using System.Globalization;
using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.Rnn.Core.Training;

/// <summary>Settings of a <see cref="SequenceTrainingLoop"/>.</summary>
public sealed class SequenceTrainingLoopOptions
{
    /// <summary>Epochs to run at most; at least 1.</summary>
    public int MaxEpochs { get; init; } = 10;

    /// <summary>Largest global L2 norm of the gradients before each step (clip_grad_norm_); 0 or less disables clipping.</summary>
    public double MaxGradientNorm { get; init; } = 5.0;

    /// <summary>Epochs without improvement of the monitored metric before stopping; null runs every epoch.</summary>
    public int? Patience { get; init; }

    /// <summary>Smallest change of the monitored metric that counts as an improvement; at least 0.</summary>
    public double MinDelta { get; init; }

    /// <summary>True when the validation metric is better when larger (accuracy); ignored without validation,
    /// where the monitored metric is the training loss.</summary>
    public bool HigherIsBetter { get; init; }

    /// <summary>At the end of the run (finished, stopped early or cancelled), load the weights of the best epoch.</summary>
    public bool RestoreBestWeights { get; init; } = true;

    /// <summary>How the optimizer's learning rate changes between epochs; default constant.</summary>
    public LearningRateSchedule LearningRateSchedule { get; init; } = LearningRateSchedule.Constant;

    /// <summary>When set, <c>torch.manual_seed</c> is called with it at the start of the run, so dropout is
    /// reproducible; the batcher has its own seed.</summary>
    public int? Seed { get; init; }
}

/// <summary>What a <see cref="SequenceTrainingLoop"/> run did.</summary>
/// <param name="EpochsCompleted">Epochs run to the end (a cancelled epoch does not count).</param>
/// <param name="BatchesRun">Optimizer steps taken.</param>
/// <param name="BestEpoch">0-based epoch with the best monitored metric, or -1 when no epoch finished.</param>
/// <param name="BestMetric">Its monitored metric (validation metric, or training loss without validation).</param>
/// <param name="StoppedEarly">True when early stopping ended the run.</param>
/// <param name="Cancelled">True when the cancellation token ended the run.</param>
/// <param name="TrainLosses">Mean training loss of each completed epoch.</param>
/// <param name="ValidationMetrics">Validation metric of each completed epoch (null without validation).</param>
public sealed record TrainingSummary(
    int EpochsCompleted,
    int BatchesRun,
    int BestEpoch,
    double BestMetric,
    bool StoppedEarly,
    bool Cancelled,
    IReadOnlyList<double> TrainLosses,
    IReadOnlyList<double?> ValidationMetrics);

/// <summary>
/// A small reusable epoch loop over length-bucketed mini-batches: per batch, a dispose scope, zero_grad, the
/// caller's loss, backward, gradient-norm clipping, optimizer step; per epoch, validation, early stopping and
/// progress. Cancellation is checked before every batch, so a run stops within one batch of the request.
/// </summary>
public sealed class SequenceTrainingLoop
{
    private readonly nn.Module _module;
    private readonly optim.Optimizer _optimizer;
    private readonly SequenceTrainingLoopOptions _options;

    /// <summary>Creates a loop that trains <paramref name="module"/>'s parameters with <paramref name="optimizer"/>.</summary>
    public SequenceTrainingLoop(nn.Module module, optim.Optimizer optimizer, SequenceTrainingLoopOptions? options = null)
    {
        _module = module ?? throw new ArgumentNullException(nameof(module));
        _optimizer = optimizer ?? throw new ArgumentNullException(nameof(optimizer));
        _options = options ?? new SequenceTrainingLoopOptions();
        if (_options.MaxEpochs < 1)
            throw new ArgumentOutOfRangeException(nameof(options), _options.MaxEpochs, "SequenceTrainingLoop: MaxEpochs must be at least 1.");
        if (_options.Patience is < 1)
            throw new ArgumentOutOfRangeException(nameof(options), _options.Patience, "SequenceTrainingLoop: Patience must be at least 1 (or null for no early stopping).");
    }

    /// <summary>Runs the training.</summary>
    /// <param name="batcher">Gives each epoch's batches of row indices.</param>
    /// <param name="batchLoss">Scalar loss of a batch of row indices (mean over the batch), built with gradients;
    /// the loop disposes everything it creates after the step.</param>
    /// <param name="validate">Optional metric computed after each epoch, run in eval mode without gradients.</param>
    /// <param name="progress">Receives one <see cref="EpochProgress"/> per completed epoch.</param>
    /// <param name="cancellationToken">Ends the run before the next batch; best weights are restored when kept.</param>
    /// <remarks>When a batch loss is not finite, or a callback throws, the best weights are restored (when kept)
    /// before the exception propagates.</remarks>
    public TrainingSummary Run(
        LengthBucketBatcher batcher,
        Func<int[], Tensor> batchLoss,
        Func<double>? validate = null,
        IProgress<EpochProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(batcher);
        ArgumentNullException.ThrowIfNull(batchLoss);
        if (_options.Seed is int seed) manual_seed(seed);

        var parameters = _module.parameters().Where(p => p.requires_grad).ToArray();
        bool higherIsBetter = validate is not null && _options.HigherIsBetter;
        using var tracker = new EarlyStopping(_options.Patience ?? int.MaxValue, _options.MinDelta, higherIsBetter);
        var trainLosses = new List<double>();
        var validationMetrics = new List<double?>();
        var clock = Stopwatch.StartNew();
        var rate = new LearningRateSteps(_optimizer, _options.LearningRateSchedule, _options.MaxEpochs, _options.Patience);
        int batchesRun = 0;
        bool cancelled = false, stoppedEarly = false;

        try
        {
            for (int epoch = 0; epoch < _options.MaxEpochs && !cancelled && !stoppedEarly; epoch++)
            {
                _module.train();
                double lossSum = 0;
                long rows = 0;
                var batches = batcher.GetBatches(epoch);
                for (int b = 0; b < batches.Count; b++)
                {
                    if (cancellationToken.IsCancellationRequested) { cancelled = true; break; }
                    using var scope = NewDisposeScope();
                    _optimizer.zero_grad();
                    var loss = batchLoss(batches[b]);
                    double value = loss.ToDouble();
                    if (!double.IsFinite(value))
                        throw new InvalidOperationException(
                            string.Create(CultureInfo.InvariantCulture,
                                $"SequenceTrainingLoop: the loss became {value} at epoch {epoch}, batch {b}; lower the learning rate or set MaxGradientNorm."));
                    loss.backward();
                    if (_options.MaxGradientNorm > 0)
                        nn.utils.clip_grad_norm_(parameters, _options.MaxGradientNorm);
                    _optimizer.step();
                    batchesRun++;
                    lossSum += value * batches[b].Length;
                    rows += batches[b].Length;
                }
                if (cancelled || cancellationToken.IsCancellationRequested) { cancelled = true; break; }

                double trainLoss = rows > 0 ? lossSum / rows : double.NaN;
                double? metric = null;
                if (validate is not null)
                {
                    _module.eval();
                    using (no_grad())
                    using (NewDisposeScope())
                    {
                        metric = validate();
                    }
                    _module.train();
                }

                trainLosses.Add(trainLoss);
                validationMetrics.Add(metric);
                bool isBest = tracker.Report(epoch, metric ?? trainLoss, _options.RestoreBestWeights ? _module : null);
                stoppedEarly = _options.Patience is not null && tracker.ShouldStop;
                rate.AfterEpoch(epoch, isBest);

                var elapsed = clock.Elapsed;
                var remaining = TimeSpan.FromTicks(elapsed.Ticks / (epoch + 1) * (_options.MaxEpochs - epoch - 1));
                progress?.Report(new EpochProgress(epoch, _options.MaxEpochs, trainLoss, metric, isBest, elapsed, remaining));
            }
        }
        catch
        {
            // A non-finite loss, or an exception from a callback (e.g. OperationCanceledException from the caller's
            // loss): leave the module with the best weights seen, as a cancelled run would, then rethrow.
            RestoreAfterFailure(tracker);
            throw;
        }

        if (_options.RestoreBestWeights)
            tracker.RestoreBest(_module);
        _module.train();

        return new TrainingSummary(trainLosses.Count, batchesRun, tracker.BestEpoch, tracker.BestMetric,
            stoppedEarly, cancelled, trainLosses, validationMetrics);
    }

    /// <summary>Puts back the best weights (when kept) and training mode after a failed run.</summary>
    private void RestoreAfterFailure(EarlyStopping tracker)
    {
        try
        {
            if (_options.RestoreBestWeights)
                tracker.RestoreBest(_module);
            _module.train();
        }
        catch
        {
            // The original exception matters more than a failed restore.
        }
    }

    /// <summary>Sets the optimizer's learning rate after each epoch as <see cref="LearningRateSchedule"/> says.</summary>
    private sealed class LearningRateSteps(optim.Optimizer optimizer, LearningRateSchedule schedule, int maxEpochs, int? patience)
    {
        private const double Floor = 1.0 / 64;
        private readonly double[] _start = optimizer.ParamGroups.Select(g => g.LearningRate).ToArray();
        private readonly int _plateau = patience is int p ? Math.Max(1, p / 2) : 2;
        private int _sinceBestOrCut;
        private double _scale = 1;

        public void AfterEpoch(int epoch, bool improved)
        {
            switch (schedule)
            {
                case LearningRateSchedule.ReduceOnPlateau:
                    _sinceBestOrCut = improved ? 0 : _sinceBestOrCut + 1;
                    if (_sinceBestOrCut < _plateau || _scale <= Floor) return;
                    _scale = Math.Max(Floor, _scale / 2);
                    _sinceBestOrCut = 0;
                    break;
                case LearningRateSchedule.Cosine:
                    double progress = Math.Min(1.0, (epoch + 1) / (double)Math.Max(1, maxEpochs - 1));
                    _scale = Floor + (1 - Floor) * 0.5 * (1 + Math.Cos(Math.PI * progress));
                    break;
                default:
                    return;
            }
            int i = 0;
            foreach (var group in optimizer.ParamGroups)
                group.LearningRate = _start[i++] * _scale;
        }
    }
}
