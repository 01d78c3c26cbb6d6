namespace Microsoft.ML.Rnn;

/// <summary>Progress of a training run, reported once per finished epoch.</summary>
/// <param name="Epoch">0-based index of the epoch that just finished.</param>
/// <param name="MaxEpochs">Epochs the run would do without early stopping.</param>
/// <param name="TrainLoss">Mean of the batch losses of the epoch, weighted by rows per batch.</param>
/// <param name="ValidationMetric">The validation callback's value, or null without one.</param>
/// <param name="IsBest">True when this epoch is the best so far by the monitored metric.</param>
/// <param name="Elapsed">Time since the run started.</param>
/// <param name="EstimatedRemaining">Mean epoch time so far times the epochs left (an upper bound under early stopping).</param>
public sealed record EpochProgress(
    int Epoch,
    int MaxEpochs,
    double TrainLoss,
    double? ValidationMetric,
    bool IsBest,
    TimeSpan Elapsed,
    TimeSpan EstimatedRemaining)
{
    /// <summary>0-based index of the network being trained when the component trains several in turn (an ensemble;
    /// <see cref="RnnSequenceClassifier.Options.EnsembleSize"/>): each reports its own epochs from 0.</summary>
    public int Model { get; init; }

    /// <summary>Networks the component trains in turn (1 unless it trains an ensemble).</summary>
    public int Models { get; init; } = 1;
}
