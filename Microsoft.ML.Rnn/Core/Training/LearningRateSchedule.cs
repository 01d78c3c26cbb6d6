namespace Microsoft.ML.Rnn;

/// <summary>How the learning rate changes from epoch to epoch (the optimizer's own rate is the starting value).</summary>
public enum LearningRateSchedule
{
    /// <summary>The starting rate throughout.</summary>
    Constant,

    /// <summary>
    /// Halve the rate whenever the monitored metric has not improved for half the early-stopping patience (at least one
    /// epoch; two epochs without early stopping), down to 1/64 of the starting rate: Keras' and PyTorch's
    /// ReduceLROnPlateau, paired with early stopping so a run gets smaller steps before it is stopped.
    /// </summary>
    ReduceOnPlateau,

    /// <summary>Cosine decay from the starting rate at the first epoch to 1/64 of it at the last (MaxEpochs).</summary>
    Cosine,
}
