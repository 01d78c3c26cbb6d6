namespace Microsoft.ML.Rnn;

/// <summary>How <see cref="SequenceRegressor"/> scales each row before its network reads it.</summary>
public enum RowScaling
{
    /// <summary>Rows as they come (the default); the label is standardised over the training rows only.</summary>
    None,

    /// <summary>
    /// Each row's Single features divided, feature by feature, by their mean absolute value over the row's steps, and the
    /// label by that of the target feature (<see cref="SequenceRegressor.Options.TargetFeatureIndex"/>); predictions are
    /// multiplied back. The level of a window no longer matters, only its shape: what forecasting models that learn
    /// from many windows of a series do (DeepAR's mean scaling), so that a level the training windows never reached
    /// still forecasts well. A row whose values are all 0 (or that has no steps) keeps scale 1.
    /// </summary>
    MeanAbsolute,

    /// <summary>
    /// Each row's Single features standardised feature by feature with their mean and standard deviation over the row's
    /// steps, the label with those of the target feature; predictions are mapped back (reversible instance
    /// normalisation, Kim et al. 2022). Unlike <see cref="MeanAbsolute"/> it removes the level too, so a series whose
    /// variations are small next to its level (CO2 at 350 ppm moving by a few ppm a year) keeps them visible. A row
    /// with no steps keeps mean 0, and a constant one standard deviation 1.
    /// </summary>
    Standardize,
}
