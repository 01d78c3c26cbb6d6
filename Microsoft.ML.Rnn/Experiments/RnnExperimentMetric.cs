namespace Microsoft.ML.Rnn.Experiments;

/// <summary>The metric an experiment maximises on its holdout (or cross-validation folds). Every choice is higher-is-better.</summary>
public enum RnnExperimentMetric
{
    /// <summary>The task's usual metric: macro-accuracy (key label), AUC (Boolean label), macro-F1 over tags (tagging),
    /// R² (regression on a Single label), minus the RMSE (regression on a vector label).</summary>
    Auto,
    /// <summary><c>MulticlassClassificationMetrics.MacroAccuracy</c> (mean per-class recall).</summary>
    MacroAccuracy,
    /// <summary><c>MulticlassClassificationMetrics.MicroAccuracy</c> (fraction of rows right).</summary>
    MicroAccuracy,
    /// <summary><c>BinaryClassificationMetrics.AreaUnderRocCurve</c>.</summary>
    AreaUnderRocCurve,
    /// <summary><c>BinaryClassificationMetrics.Accuracy</c>.</summary>
    Accuracy,
    /// <summary><see cref="TaggingMetrics.MacroF1"/> (tagging).</summary>
    TaggingMacroF1,
    /// <summary><see cref="TaggingMetrics.TokenAccuracy"/> (tagging).</summary>
    TokenAccuracy,
    /// <summary>F1 of exact entity spans, <see cref="TaggingMetrics.Spans"/> (tagging with a <see cref="TagScheme"/>).</summary>
    SpanF1,
    /// <summary><c>RegressionMetrics.RSquared</c> (regression on a Single label).</summary>
    RSquared,
    /// <summary>Minus the root mean squared error over every predicted value (regression; higher is better, as every metric here).</summary>
    NegativeRootMeanSquaredError,
}
