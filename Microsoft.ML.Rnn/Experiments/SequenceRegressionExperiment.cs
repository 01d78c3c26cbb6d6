using Microsoft.ML.Data;
using Microsoft.ML.Rnn.Features;
using Microsoft.ML.Rnn.Training;
using Microsoft.ML.Runtime;

namespace Microsoft.ML.Rnn.Experiments;

/// <summary>
/// Searches <see cref="SequenceRegressor"/> options. A Single label is scored with <c>Regression.Evaluate</c> (R² by
/// default, or minus the RMSE); a vector label (a forecast horizon) with minus the RMSE over every value. For windows of
/// a series, pass time-ordered validation windows (<see cref="SeriesWindows.SplitByTime"/>) to
/// <see cref="RnnExperiment.Execute(IDataView, IDataView, IProgress{RnnTrialResult}?, CancellationToken)"/>: a random
/// holdout would score windows that overlap the training ones. The best model is a <see cref="SequenceRegressorTransformer"/>.
/// </summary>
public sealed class SequenceRegressionExperiment : RnnExperiment
{
    internal SequenceRegressionExperiment(IHostEnvironment env, SequenceRegressor.Options options, RnnExperimentSettings? settings)
        : base(env, "SequenceRegression", settings, RnnSearchSpace.CreateDefault())
    {
        ArgumentNullException.ThrowIfNull(options);
        Options = options;
    }

    /// <summary>The regressor options every trial starts from (columns, features per step, scaling, ...); the default trial uses them unchanged.</summary>
    public SequenceRegressor.Options Options { get; }

    internal override RnnOptionsBase BaseOptions => Options;

    internal override RnnExperimentMetric ResolveMetric(DataViewSchema schema, RnnExperimentMetric requested)
    {
        var label = ValueLabelColumn.Bind(schema, Options.LabelColumnName, "data");
        return label.IsVector
            ? ChooseMetric(requested, "a vector label", RnnExperimentMetric.NegativeRootMeanSquaredError)
            : ChooseMetric(requested, "a Single label", RnnExperimentMetric.RSquared, RnnExperimentMetric.NegativeRootMeanSquaredError);
    }

    internal override ITransformer Fit(IHostEnvironment env, RnnOptionsBase options, IReadOnlyDictionary<string, object> values, IDataView train,
        TrainingCheckpoint? checkpoint)
        => new SequenceRegressor(env, (SequenceRegressor.Options)options).Fit(train, null, checkpoint);

    internal override double Evaluate(IHostEnvironment env, ITransformer model, IDataView test, RnnExperimentMetric metric)
    {
        var scored = model.Transform(test);
        if (metric == RnnExperimentMetric.RSquared)
            return new RegressionCatalog(env).Evaluate(scored, Options.LabelColumnName).RSquared;
        if (metric != RnnExperimentMetric.NegativeRootMeanSquaredError)
            throw new ArgumentOutOfRangeException(nameof(metric), metric, "SequenceRegressionExperiment: unsupported metric.");
        var (predicted, actual) = (Values(scored, SequenceRegressorTransformer.ScoreColumnName), Values(scored, Options.LabelColumnName));
        // Rows whose label is missing or infinite are not scored, as in training.
        var kept = actual.Select((a, i) => i).Where(i => actual[i].All(float.IsFinite)).ToArray();
        return -ForecastMetrics.Evaluate(kept.Select(i => predicted[i]).ToArray(), kept.Select(i => actual[i]).ToArray()).RootMeanSquaredError;
    }

    /// <summary>A Single or vector column's values, one array per row.</summary>
    private static float[][] Values(IDataView data, string column)
        => data.Schema[column].Type is VectorDataViewType
            ? data.GetColumn<VBuffer<float>>(column).Select(v => v.DenseValues().ToArray()).ToArray()
            : data.GetColumn<float>(column).Select(v => new[] { v }).ToArray();
}
