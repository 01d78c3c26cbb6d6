using Microsoft.ML.Rnn.Core.Training;
using Microsoft.ML.Rnn.Core;
using Microsoft.ML.Rnn.Features;
using Microsoft.ML.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.Rnn.Training;

/// <summary>The sequences of a training or validation set and the per-row targets a component trains them on.</summary>
/// <typeparam name="TTargets">What the component keeps per row (class indices, tag sequences, nothing).</typeparam>
/// <param name="Rows">The feature sequences.</param>
/// <param name="Targets">Targets indexed like <paramref name="Rows"/>.</param>
internal sealed record SequenceDataSet<TTargets>(SequenceRows Rows, TTargets Targets);

/// <summary>What <see cref="SequenceTrainingDriver.Train{TTargets}"/> needs besides the data and the loss.</summary>
internal sealed record TrainingSetup
{
    /// <summary>The component's host: its channel gets the progress, its cancellation stops training.</summary>
    public required IHost Host { get; init; }

    /// <summary>The component's options (epochs, batch size, learning rate, validation, patience, progress).</summary>
    public required RnnOptionsBase Options { get; init; }

    /// <summary>Name used in messages, e.g. "RnnSequenceClassifier".</summary>
    public required string Component { get; init; }

    /// <summary>The network whose parameters are trained (already on the training device).</summary>
    public required nn.Module Network { get; init; }

    /// <summary>Resolved seed (see <see cref="SequenceTrainingDriver.ResolveSeed"/>).</summary>
    public required int Seed { get; init; }

    /// <summary>Name of the validation metric in the log, e.g. "accuracy"; "loss" by default.</summary>
    public string MetricName { get; init; } = "loss";

    /// <summary>True when the validation metric is better when larger.</summary>
    public bool HigherIsBetter { get; init; }

    /// <summary>0-based index of the network trained, when the component trains <see cref="Members"/> in turn.</summary>
    public int Member { get; init; }

    /// <summary>Networks the component trains in turn (an ensemble's size; 1 otherwise).</summary>
    public int Members { get; init; } = 1;

    /// <summary>Experiments only: continue the run recorded here instead of starting from fresh weights (ASHA).</summary>
    public TrainingCheckpoint? Checkpoint { get; init; }

    /// <summary>libtorch threads for this run; null: <see cref="RnnOptionsBase.NumberOfThreads"/>'s rule (<see cref="TrainingThreads"/>).</summary>
    public int? Threads { get; init; }

    /// <summary>Where the epochs are reported; null: <see cref="RnnOptionsBase.Progress"/>.</summary>
    public IProgress<EpochProgress>? Progress { get; init; }

    /// <summary>Ends the run before its next batch, keeping the best weights (an ensemble's other network failed).</summary>
    public CancellationToken Stop { get; init; }

    /// <summary>
    /// The setup of an ensemble's network <paramref name="member"/> of <paramref name="members"/>: the first trains
    /// exactly as a single network would; each other one on its own seed (hence its own validation split, batch order
    /// and dropout masks) and its own checkpoint.
    /// </summary>
    public TrainingSetup ForMember(torch.nn.Module network, int member, int members) => this with
    {
        Network = network, Member = member, Members = members,
        Seed = unchecked(Seed + 1_000_003 * member), Checkpoint = Checkpoint?.Member(member),
    };
}

/// <summary>
/// The training run shared by the components: validation split (seeded) or a given validation set, length-bucketed
/// mini-batches, Adam, gradient clipping, early stopping with the best epoch's weights restored, progress to the
/// ML.NET log and <see cref="RnnOptionsBase.Progress"/>, and <c>mlContext.CancelExecution()</c> checked before every batch.
/// </summary>
internal static class SequenceTrainingDriver
{
    /// <summary>The seed to use: <see cref="RnnOptionsBase.Seed"/>, or one drawn from the host (itself seeded by the MLContext).</summary>
    public static int ResolveSeed(RnnOptionsBase options, IHost host) => options.Seed ?? host.Rand.Next();

    /// <summary>
    /// Splits <paramref name="rowCount"/> rows into training and validation indices: a seeded shuffle, the first
    /// round(fraction * n) rows (at least 1 when the fraction is positive) for validation, keeping at least one
    /// training row. Both lists are sorted.
    /// </summary>
    public static (int[] Train, int[] Validation) Split(int rowCount, double fraction, int seed)
    {
        var order = Enumerable.Range(0, rowCount).ToArray();
        int validation = fraction > 0 ? Math.Max(1, (int)Math.Round(fraction * rowCount)) : 0;
        if (validation >= rowCount) validation = 0;
        if (validation == 0) return (order, Array.Empty<int>());
        new Random(unchecked(seed * 31 + 17)).Shuffle(order);
        var held = order[..validation];
        var kept = order[validation..];
        Array.Sort(held);
        Array.Sort(kept);
        return (kept, held);
    }

    /// <summary>
    /// Trains <see cref="TrainingSetup.Network"/>. Without <paramref name="validation"/>, a
    /// <see cref="RnnOptionsBase.ValidationFraction"/> of <paramref name="train"/> is held out.
    /// </summary>
    /// <param name="setup">Network, options, host.</param>
    /// <param name="train">Training data.</param>
    /// <param name="validation">Separate validation data, or null to split <paramref name="train"/>.</param>
    /// <param name="batchLoss">Mean loss of rows <c>indices</c> of a data set, with gradients, on the network's device.</param>
    /// <param name="validationMetric">Sum and count of the validation metric over rows <c>indices</c> (run without
    /// gradients in eval mode); null uses the loss.</param>
    /// <param name="validationScore">A metric that is not a mean over rows (e.g. macro-F1): given every validation batch
    /// (row indices), returns the epoch's value; run without gradients in eval mode. Takes precedence over
    /// <paramref name="validationMetric"/>.</param>
    /// <param name="rows">The rows of <paramref name="train"/> to learn from (and to split for validation), sorted; null: all
    /// (a cross-fitted classifier's networks each leave one fold out).</param>
    public static TrainingSummary Train<TTargets>(TrainingSetup setup, SequenceDataSet<TTargets> train,
        SequenceDataSet<TTargets>? validation,
        Func<SequenceDataSet<TTargets>, int[], Tensor> batchLoss,
        Func<SequenceDataSet<TTargets>, int[], (double Sum, long Count)>? validationMetric = null,
        Func<SequenceDataSet<TTargets>, IReadOnlyList<int[]>, double>? validationScore = null,
        int[]? rows = null)
    {
        ArgumentNullException.ThrowIfNull(setup);
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(batchLoss);
        var options = setup.Options;
        var host = setup.Host;
        int[] trainIndices, validationIndices;
        SequenceDataSet<TTargets>? validationSet = validation;
        if (validation is null)
        {
            (trainIndices, validationIndices) = Split(rows?.Length ?? train.Rows.Count, options.ValidationFraction, setup.Seed);
            if (rows is not null)
                (trainIndices, validationIndices) = (trainIndices.Select(k => rows[k]).ToArray(), validationIndices.Select(k => rows[k]).ToArray());
            if (validationIndices.Length > 0) validationSet = train;
        }
        else
        {
            trainIndices = rows ?? Enumerable.Range(0, train.Rows.Count).ToArray();
            validationIndices = Enumerable.Range(0, validation.Rows.Count).ToArray();
        }
        if (trainIndices.Length == 0)
            throw new InvalidOperationException($"{setup.Component}: no training rows.");

        using var ch = host.Start("Training");
        // Training and validation run the fused kernels as the options say; a wrong kernel's warning goes to the log.
        using var kernelChecks = FusedKernelChecks.Use(options.FusedKernels ?? FusedKernelChecks.Policy, ch.Warning);
        string component = setup.Members > 1 ? $"{setup.Component} (network {setup.Member + 1} of {setup.Members})" : setup.Component;
        ch.Info($"{component}: training on {trainIndices.Length} rows, validating on {validationIndices.Length} rows" +
                $"{(validation is null ? $" (ValidationFraction {options.ValidationFraction})" : " (given validation set)")}.");

        // Experiments' resume hook: continue a previous run for the missing epochs (see TrainingCheckpoint).
        var checkpoint = setup.Checkpoint;
        int epochsDone = checkpoint?.EpochsCompleted ?? 0;
        if (epochsDone >= options.MaxEpochs)
            throw new InvalidOperationException($"{setup.Component}: the checkpoint already ran {epochsDone} epochs; MaxEpochs {options.MaxEpochs} leaves none to run.");
        // A continued segment draws new batch orders and dropout masks; a first segment is exactly a plain run.
        int segmentSeed = epochsDone == 0 ? setup.Seed : unchecked(setup.Seed + 7919 * epochsDone);

        var trainLengths = trainIndices.Select(i => train.Rows.Lengths[i]).ToArray();
        var batcher = LengthBucketBatcher.ForTraining(trainLengths, options.BatchSize, segmentSeed);
        var parameters = setup.Network.parameters().Where(p => p.requires_grad).ToArray();
        using var optimizer = new KeptScalarAdam(parameters, options.LearningRate);
        checkpoint?.Restore(setup.Network, optimizer);
        var loop = new SequenceTrainingLoop(setup.Network, optimizer, new SequenceTrainingLoopOptions
        {
            MaxEpochs = options.MaxEpochs - epochsDone,
            MaxGradientNorm = options.MaxGradientNorm,
            Patience = options.ResolvedPatience,
            LearningRateSchedule = options.LearningRateSchedule,
            HigherIsBetter = setup.HigherIsBetter,
            RestoreBestWeights = true,
            Seed = segmentSeed,
        });

        Func<double>? validate = null;
        if (validationSet is not null && validationIndices.Length > 0)
        {
            var validationLengths = validationIndices.Select(i => validationSet.Rows.Lengths[i]).ToArray();
            var validationBatches = LengthBucketBatcher.ForInference(validationLengths, options.BatchSize).GetBatches();
            validate = validationScore is not null
                ? () =>
                {
                    host.CheckAlive();
                    var rows = validationBatches.Select(batch => batch.Select(k => validationIndices[k]).ToArray()).ToArray();
                    return validationScore(validationSet, rows);
                }
                : () =>
            {
                double sum = 0;
                long count = 0;
                foreach (var batch in validationBatches)
                {
                    host.CheckAlive();
                    using var scope = NewDisposeScope();
                    var rows = batch.Select(k => validationIndices[k]).ToArray();
                    if (validationMetric is not null)
                    {
                        var (s, c) = validationMetric(validationSet, rows);
                        sum += s;
                        count += c;
                    }
                    else
                    {
                        sum += batchLoss(validationSet, rows).ToDouble() * rows.Length;
                        count += rows.Length;
                    }
                }
                return count > 0 ? sum / count : double.NaN;
            };
        }

        string metricName = validate is null ? "" : setup.MetricName;
        var progress = new Progress(ch, component, metricName, setup.Progress ?? options.Progress, setup.Member, setup.Members);
        using var threads = TrainingThreads.Use(setup.Threads ?? options.NumberOfThreads);
        var summary = loop.Run(batcher,
            batch =>
            {
                // CancelExecution marks the host; CheckAlive throws OperationCanceledException before the next batch.
                host.CheckAlive();
                return batchLoss(train, batch.Select(k => trainIndices[k]).ToArray());
            },
            validate, progress, setup.Stop);
        host.CheckAlive();
        checkpoint?.Capture(setup.Network, optimizer, summary.EpochsCompleted);
        ch.Info($"{component}: {summary.EpochsCompleted} epochs{(summary.StoppedEarly ? " (stopped early)" : "")}, " +
                $"best epoch {summary.BestEpoch + 1} ({(validate is null ? "training loss" : metricName)} {summary.BestMetric:G4}).");
        setup.Network.eval();
        return summary;
    }

    /// <summary>Forwards each epoch's report to the log and the user's progress, synchronously (no SynchronizationContext).</summary>
    private sealed class Progress(IChannel channel, string component, string metricName, IProgress<EpochProgress>? user, int model, int models)
        : IProgress<EpochProgress>
    {
        public void Report(EpochProgress value)
        {
            string metric = value.ValidationMetric is double m ? $", validation {metricName} {m:F4}" : "";
            channel.Info($"{component}: epoch {value.Epoch + 1}/{value.MaxEpochs}: training loss {value.TrainLoss:F4}{metric}" +
                         $"{(value.IsBest ? " (best)" : "")}, {value.Elapsed.TotalSeconds:F1} s");
            user?.Report(value with { Model = model, Models = models });
        }
    }
}
