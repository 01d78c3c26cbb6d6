namespace Microsoft.ML.Rnn;

/// <summary>The loss <see cref="SequenceRegressor"/> trains with, on targets standardised per output.</summary>
public enum RegressionLoss
{
    /// <summary>Mean squared error (the default): predicts the conditional mean.</summary>
    MeanSquaredError,

    /// <summary>Huber loss with δ = 1 standard deviation of the target: squared near the target, absolute beyond, so a
    /// few outliers pull the fit less.</summary>
    Huber,
}
