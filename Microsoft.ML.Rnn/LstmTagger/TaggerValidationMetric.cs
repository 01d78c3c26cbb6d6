namespace Microsoft.ML.Rnn;

/// <summary>The validation metric <see cref="LstmTagger"/> reports each epoch and keeps the best epoch by.</summary>
public enum TaggerValidationMetric
{
    /// <summary>Fraction of validation tokens tagged right; dominated by the most frequent tag (e.g. O).</summary>
    TokenAccuracy,

    /// <summary>Mean over tags (gold or predicted in the validation data) of the per-tag F1, as <see cref="TaggingMetrics.MacroF1"/>: rare tags count as much as frequent ones.</summary>
    MacroF1,
}
