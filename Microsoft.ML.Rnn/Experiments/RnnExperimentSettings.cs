namespace Microsoft.ML.Rnn.Experiments;

/// <summary>Budget, evaluation and scheduler settings of an <see cref="RnnExperiment"/>.</summary>
public sealed class RnnExperimentSettings
{
    /// <summary>Wall-clock budget; the trial running when it ends is cancelled within one mini-batch. Default 60 s.</summary>
    public TimeSpan MaxExperimentTime = TimeSpan.FromSeconds(60);

    /// <summary>Configurations to try at most (the default-options trial included), at least 1. Default 20.</summary>
    public int MaxTrials = 20;

    /// <summary>Seed of the holdout split or folds, the sampler, the tuner and every trial's training. Default 0.</summary>
    public int Seed;

    /// <summary>Fraction of the data held out to score trials, in (0, 1); ignored with <see cref="CrossValidationFolds"/>. Default 0.2.</summary>
    public double HoldoutFraction = 0.2;

    /// <summary>Folds of k-fold cross-validation (at least 2), or 0 for a single holdout. With folds, every trial trains
    /// once per fold and the best configuration is refitted on all the data at the end. Default 0.</summary>
    public int CrossValidationFolds;

    /// <summary>The metric maximised. Default <see cref="RnnExperimentMetric.Auto"/>.</summary>
    public RnnExperimentMetric Metric = RnnExperimentMetric.Auto;

    /// <summary>Epochs of the first successive-halving rung, at least 1. Default 1.</summary>
    public int MinEpochs = 1;

    /// <summary>Epochs of the last rung; null takes the base options' <see cref="RnnOptionsBase.MaxEpochs"/>.</summary>
    public int? MaxEpochs;

    /// <summary>Successive-halving reduction factor η, at least 2: rungs grow by η epochs and the top 1/η of a rung is
    /// promoted. Default 3.</summary>
    public int ReductionFactor = 3;

    /// <summary>Trials drawn from the quasi-random (Halton) sequence before the TPE proposes; at least 1. Default 8.</summary>
    public int InitialRandomTrials = 8;

    /// <summary>When set, the trial history is written to this JSON file after every trial run (reload it with
    /// <see cref="RnnExperimentHistory.Load"/>).</summary>
    public string? HistoryFile;

    /// <summary>Checks the settings; errors name the field.</summary>
    internal void Validate()
    {
        if (MaxExperimentTime <= TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(MaxExperimentTime), MaxExperimentTime, "RnnExperimentSettings: MaxExperimentTime must be positive.");
        if (MaxTrials < 1)
            throw new ArgumentOutOfRangeException(nameof(MaxTrials), MaxTrials, "RnnExperimentSettings: MaxTrials must be at least 1.");
        if (CrossValidationFolds == 0 && !(HoldoutFraction > 0 && HoldoutFraction < 1))
            throw new ArgumentOutOfRangeException(nameof(HoldoutFraction), HoldoutFraction, "RnnExperimentSettings: HoldoutFraction must be in (0, 1).");
        if (CrossValidationFolds is 1 or < 0)
            throw new ArgumentOutOfRangeException(nameof(CrossValidationFolds), CrossValidationFolds, "RnnExperimentSettings: CrossValidationFolds must be 0 (holdout) or at least 2.");
        if (MinEpochs < 1)
            throw new ArgumentOutOfRangeException(nameof(MinEpochs), MinEpochs, "RnnExperimentSettings: MinEpochs must be at least 1.");
        if (MaxEpochs is < 1)
            throw new ArgumentOutOfRangeException(nameof(MaxEpochs), MaxEpochs, "RnnExperimentSettings: MaxEpochs must be at least 1.");
        if (ReductionFactor < 2)
            throw new ArgumentOutOfRangeException(nameof(ReductionFactor), ReductionFactor, "RnnExperimentSettings: ReductionFactor must be at least 2.");
        if (InitialRandomTrials < 1)
            throw new ArgumentOutOfRangeException(nameof(InitialRandomTrials), InitialRandomTrials, "RnnExperimentSettings: InitialRandomTrials must be at least 1.");
        if (!Enum.IsDefined(Metric))
            throw new ArgumentOutOfRangeException(nameof(Metric), Metric, $"RnnExperimentSettings: unknown Metric {Metric}.");
    }
}
