namespace Microsoft.ML.Rnn;

/// <summary>
/// Forecast errors over (origin, horizon step) pairs (<see cref="Evaluate"/>): mean absolute and root mean squared errors
/// overall and for each horizon step, and MASE — the MAE divided by the in-sample MAE of the one-step seasonal naive
/// forecast on the training part (Hyndman and Koehler 2006), so MASE below 1 beats that naive forecast.
/// </summary>
/// <param name="MeanAbsoluteError">Over every (origin, step) pair.</param>
/// <param name="RootMeanSquaredError">Over every (origin, step) pair.</param>
/// <param name="MeanAbsoluteScaledError">MAE / scale (NaN when no scale was given).</param>
/// <param name="MeanAbsoluteErrorByStep">MAE of horizon step h = 1..H (index h − 1).</param>
/// <param name="RootMeanSquaredErrorByStep">RMSE of each horizon step.</param>
public sealed record ForecastMetrics(double MeanAbsoluteError, double RootMeanSquaredError, double MeanAbsoluteScaledError,
    IReadOnlyList<double> MeanAbsoluteErrorByStep, IReadOnlyList<double> RootMeanSquaredErrorByStep)
{
    /// <summary>
    /// The errors of <paramref name="forecasts"/> against <paramref name="actuals"/> (one array of H values per origin,
    /// in the same order); MASE divides by <paramref name="scale"/> (<see cref="SeasonalNaiveScale"/>).
    /// </summary>
    public static ForecastMetrics Evaluate(IReadOnlyList<float[]> forecasts, IReadOnlyList<float[]> actuals, double scale = double.NaN)
    {
        ArgumentNullException.ThrowIfNull(forecasts);
        ArgumentNullException.ThrowIfNull(actuals);
        if (forecasts.Count != actuals.Count || forecasts.Count == 0)
            throw new ArgumentException($"ForecastMetrics: {forecasts.Count} forecasts for {actuals.Count} actual windows; expected one per window, at least one.", nameof(forecasts));
        int horizon = actuals[0].Length;
        if (forecasts.Concat(actuals).Any(w => w.Length != horizon))
            throw new ArgumentException($"ForecastMetrics: every forecast and actual window must hold the horizon's {horizon} values.", nameof(forecasts));
        var absolute = new double[horizon];
        var squared = new double[horizon];
        for (int i = 0; i < actuals.Count; i++)
            for (int h = 0; h < horizon; h++)
            {
                double error = forecasts[i][h] - (double)actuals[i][h];
                absolute[h] += Math.Abs(error);
                squared[h] += error * error;
            }
        int origins = actuals.Count;
        double mae = absolute.Sum() / (origins * horizon);
        return new ForecastMetrics(mae, Math.Sqrt(squared.Sum() / (origins * horizon)), mae / scale,
            absolute.Select(a => a / origins).ToArray(), squared.Select(s => Math.Sqrt(s / origins)).ToArray());
    }

    /// <summary>MASE's scale: the mean of |y[i] − y[i−m]| over the training part (i = m..n_train − 1).</summary>
    public static double SeasonalNaiveScale(ReadOnlySpan<float> training, int season)
    {
        if (season < 1 || season >= training.Length)
            throw new ArgumentOutOfRangeException(nameof(season), season, $"ForecastMetrics: season must be in [1, {training.Length}) (the training length), got {season}.");
        double sum = 0;
        for (int i = season; i < training.Length; i++)
            sum += Math.Abs(training[i] - (double)training[i - season]);
        return sum / (training.Length - season);
    }
}
