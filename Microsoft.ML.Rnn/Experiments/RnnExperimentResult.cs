namespace Microsoft.ML.Rnn.Experiments;

/// <summary>What <see cref="RnnExperiment.Execute(IDataView, IProgress{RnnTrialResult}?, CancellationToken)"/> returns: the best fitted pipeline, its trial and the whole history.</summary>
public sealed class RnnExperimentResult
{
    internal RnnExperimentResult(ITransformer model, RnnTrialResult bestTrial, RnnExperimentHistory history)
        => (Model, BestTrial, History) = (model, bestTrial, history);

    /// <summary>The best trial's fitted pipeline (trained on the training part of the holdout split, or refitted on all the
    /// data with cross-validation). Save it with <c>mlContext.Model.Save</c>; dispose it when done.</summary>
    public ITransformer Model { get; }

    /// <summary>The best trial.</summary>
    public RnnTrialResult BestTrial { get; }

    /// <summary>Every trial and the schedule.</summary>
    public RnnExperimentHistory History { get; }

    /// <summary>Completed trials, best first.</summary>
    public IReadOnlyList<RnnTrialResult> Leaderboard => History.Leaderboard;
}
