namespace Microsoft.ML.Rnn.Experiments;

/// <summary>How a trial ended.</summary>
public enum RnnTrialStatus
{
    /// <summary>At least one rung finished and scored.</summary>
    Completed,
    /// <summary>Its first run was cancelled (budget or cancellation) before finishing.</summary>
    Cancelled,
    /// <summary>Training or scoring threw (the message is in <see cref="RnnTrialResult.Error"/>); the experiment went on.</summary>
    Failed,
}

/// <summary>One scored run of a trial: the epochs trained so far and the metric after them.</summary>
/// <param name="Rung">0-based successive-halving rung.</param>
/// <param name="Epochs">Epochs trained in total when scored.</param>
/// <param name="Metric">The experiment's metric (mean over folds with cross-validation).</param>
/// <param name="Seconds">Wall-clock seconds of this run (training the added epochs and scoring).</param>
public sealed record RnnRungResult(int Rung, int Epochs, double Metric, double Seconds);

/// <summary>One configuration of an experiment and what happened to it (a leaderboard row, a history entry).</summary>
public sealed class RnnTrialResult
{
    /// <summary>0-based trial id, in the order trials started; trial 0 is the default options.</summary>
    public int Id { get; set; }

    /// <summary>True for the trial of the base options (run first, to the full epoch budget, never stopped early).</summary>
    public bool IsDefault { get; set; }

    /// <summary>The searched options of this trial as invariant text, by name.</summary>
    public Dictionary<string, string> Options { get; set; } = new();

    /// <summary>The trial's point in the unit hypercube of the search space (tuner input).</summary>
    public double[] Point { get; set; } = Array.Empty<double>();

    /// <summary>Where the point came from: "default", "halton" or "tpe".</summary>
    public string Source { get; set; } = "";

    /// <summary>The best metric over its scored runs (NaN when none finished).</summary>
    public double Metric { get; set; } = double.NaN;

    /// <summary>Epochs trained when <see cref="Metric"/> was scored.</summary>
    public int BestEpochs { get; set; }

    /// <summary>Epochs trained in total.</summary>
    public int EpochsRun { get; set; }

    /// <summary>Wall-clock seconds over all its runs.</summary>
    public double Seconds { get; set; }

    /// <summary>True when the scheduler stopped it before the last rung (successive halving).</summary>
    public bool StoppedEarly { get; set; }

    /// <summary>True when its last run was cancelled (budget or cancellation) before finishing; its earlier rungs stand.</summary>
    public bool Interrupted { get; set; }

    /// <summary>How it ended.</summary>
    public RnnTrialStatus Status { get; set; }

    /// <summary>The exception message of a failed trial.</summary>
    public string? Error { get; set; }

    /// <summary>Every scored run, by rung.</summary>
    public List<RnnRungResult> Rungs { get; set; } = new();

    /// <summary>A copy (reports and histories must not change under the caller).</summary>
    internal RnnTrialResult Snapshot() => new()
    {
        Id = Id, IsDefault = IsDefault, Options = new(Options), Point = Point.ToArray(), Source = Source, Metric = Metric,
        BestEpochs = BestEpochs, EpochsRun = EpochsRun, Seconds = Seconds, StoppedEarly = StoppedEarly, Interrupted = Interrupted, Status = Status,
        Error = Error, Rungs = Rungs.ToList(),
    };

    /// <inheritdoc/>
    public override string ToString() => string.Create(System.Globalization.CultureInfo.InvariantCulture,
        $"trial {Id}: {Metric:F4} after {BestEpochs} epochs ({Status}{(StoppedEarly ? ", stopped early" : "")}) {string.Join(" ", Options.Select(o => $"{o.Key}={o.Value}"))}");
}
