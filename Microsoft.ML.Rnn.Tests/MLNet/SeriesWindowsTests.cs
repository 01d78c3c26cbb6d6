using System.Globalization;
using Microsoft.ML.Data;
using Xunit;

namespace Microsoft.ML.Rnn.Tests.MLNet;

/// <summary>
/// From a series to rows (<see cref="SeriesWindows"/>) and forecast errors (<see cref="ForecastMetrics"/>): the window
/// layout, the missing-value rule, the time split, the loaded columns, the errors for bad arguments, and the seasonal
/// naive forecast's errors on the repository's series against the record of an independent implementation (NumPy,
/// bench/forecast_baselines.py, in bench/results/forecast-baselines.json).
/// </summary>
public sealed class SeriesWindowsTests
{
    private static string DataPath(string file) => Path.Combine(AppContext.BaseDirectory, "Data", file);

    /// <summary>Column <paramref name="column"/> of a CSV with a header; an empty cell is NaN (missing).</summary>
    internal static float[] Column(string file, int column) => File.ReadLines(DataPath(file)).Skip(1)
        .Select(line => line.Split(',')[column]).Select(v => v.Length == 0 ? float.NaN : float.Parse(v, CultureInfo.InvariantCulture)).ToArray();

    [Fact]
    public void MissingValuesAreInterpolatedBetweenObservedOnesAndCopiedAtTheEnds()
    {
        Assert.Equal([1f, 1f, 2f, 3f, 4f, 4f], SeriesWindows.FillMissing([float.NaN, 1, float.NaN, float.NaN, 4, float.NaN]));
        Assert.Equal([5f], SeriesWindows.FillMissing([5f]));
        var none = Assert.Throws<ArgumentException>(() => SeriesWindows.FillMissing([float.NaN, float.NaN], "co2"));
        Assert.StartsWith("SeriesWindows: column 'co2' has no observed value; at least one is needed.", none.Message);
        var infinite = Assert.Throws<ArgumentException>(() => SeriesWindows.FillMissing([1f, float.PositiveInfinity], "co2"));
        Assert.StartsWith("SeriesWindows: column 'co2' has the infinite value Infinity at index 1", infinite.Message);
    }

    [Fact]
    public void WindowsHoldThePastStepMajorAndTheTargetsNextValues()
    {
        float[] a = [0, 1, 2, 3, 4, 5], b = [10, 11, float.NaN, 13, 14, 15];
        var windows = SeriesWindows.Create([a, b], target: 1, pastSteps: 2, horizon: 2);
        Assert.Equal([2, 3, 4], windows.Select(w => w.Origin));
        Assert.Equal([0f, 10f, 1f, 11f], windows[0].Past);      // step 0: a, b; step 1: a, b
        Assert.Equal([12f, 13f], windows[0].Next);              // b's next values, the missing one interpolated
        Assert.Equal([2f, 12f, 3f, 13f], windows[2].Past);
        Assert.Equal([14f, 15f], windows[2].Next);

        Assert.Equal("target", Assert.Throws<ArgumentOutOfRangeException>(() => SeriesWindows.Create([a], 1, 2, 2)).ParamName);
        Assert.Equal("pastSteps", Assert.Throws<ArgumentOutOfRangeException>(() => SeriesWindows.Create([a], 0, 0, 2)).ParamName);
        Assert.Equal("horizon", Assert.Throws<ArgumentOutOfRangeException>(() => SeriesWindows.Create([a], 0, 2, 0)).ParamName);
        var shortSeries = Assert.Throws<ArgumentException>(() => SeriesWindows.Create([a], 0, 5, 2));
        Assert.StartsWith("SeriesWindows: a series of 6 values holds no window of 5 past steps and 2 next values.", shortSeries.Message);
        var lengths = Assert.Throws<ArgumentException>(() => SeriesWindows.Create([a, [1f]], 0, 2, 2));
        Assert.StartsWith("SeriesWindows: the columns have different lengths (6, 1)", lengths.Message);
    }

    [Fact]
    public void TheTimeSplitLeavesNoTestValueInATrainingWindow()
    {
        var series = Enumerable.Range(0, 100).Select(i => (float)i).ToArray();
        var (train, test) = SeriesWindows.SplitByTime(SeriesWindows.Create([series], 0, pastSteps: 10, horizon: 5), series.Length);
        int cut = SeriesWindows.TrainingLength(series.Length);
        Assert.Equal(80, cut);
        Assert.All(train, w => Assert.True(w.Next.Max() < cut && w.Past.Max() < cut));
        Assert.All(test, w => Assert.True(w.Next.Min() >= cut));
        Assert.Equal(Enumerable.Range(80, 100 - 5 - 80 + 1), test.Select(w => w.Origin));   // every rolling origin
        Assert.Equal(80 - 5 - 10 + 1, train.Length);
        Assert.Equal("testFraction", Assert.Throws<ArgumentOutOfRangeException>(() => SeriesWindows.SplitByTime(train, 100, 1.0)).ParamName);
    }

    private sealed class Reading
    {
        public float Temperature { get; set; }
        public float Load { get; set; }
        public double Other { get; set; }
    }

    [Fact]
    public void WindowsAreCutFromAnIDataViewsColumnsInRowOrder()
    {
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(Enumerable.Range(0, 6).Select(i => new Reading { Temperature = i, Load = i == 2 ? float.NaN : 10 + i }));
        var windows = SeriesWindows.Create(data, ["Temperature", "Load"], "Load", pastSteps: 2, horizon: 2);
        var fromArrays = SeriesWindows.Create([[0, 1, 2, 3, 4, 5], [10, 11, float.NaN, 13, 14, 15]], 1, 2, 2);
        Assert.Equal(fromArrays.Select(w => (w.Origin, w.Past, w.Next)), windows.Select(w => (w.Origin, w.Past, w.Next)));
        Assert.Equal("target", Assert.Throws<ArgumentException>(() => SeriesWindows.Create(data, ["Temperature"], "Load", 2, 2)).ParamName);
        var missing = Assert.Throws<ArgumentException>(() => SeriesWindows.Create(data, ["Load", "Wind"], "Load", 2, 2));
        Assert.StartsWith("SeriesWindows: the data has no column 'Wind'.", missing.Message);
        var type = Assert.Throws<ArgumentException>(() => SeriesWindows.Create(data, ["Load", "Other"], "Load", 2, 2));
        Assert.StartsWith("SeriesWindows: column 'Other' is Double; expected Single", type.Message);
    }

    [Fact]
    public void WindowsLoadAsKnownSizeColumns()
    {
        var ml = new MLContext(seed: 1);
        var windows = SeriesWindows.Create([[1, 2, 3, 4, 5, 6], [6, 5, 4, 3, 2, 1]], 0, pastSteps: 3, horizon: 2);
        var data = SeriesWindows.ToDataView(ml, windows);
        Assert.Equal(new VectorDataViewType(NumberDataViewType.Single, 6), data.Schema["Past"].Type);
        Assert.Equal(new VectorDataViewType(NumberDataViewType.Single, 2), data.Schema["Next"].Type);
        Assert.Equal(NumberDataViewType.Int32, data.Schema["Origin"].Type);
        var one = SeriesWindows.ToDataView(ml, SeriesWindows.Create([[1, 2, 3, 4]], 0, 2, 1), scalarNext: true);
        Assert.Equal(NumberDataViewType.Single, one.Schema["Next"].Type);
        Assert.Equal([3f, 4f], one.GetColumn<float>("Next").ToArray());
        Assert.Equal("scalarNext", Assert.Throws<ArgumentException>(() => SeriesWindows.ToDataView(ml, windows, scalarNext: true)).ParamName);
    }

    [Theory]
    // file, column, season, horizon, then the record's MASE scale, MAE, RMSE and MASE of the seasonal naive forecast
    [InlineData("elec-equip-monthly.csv", 1, 12, 12, 7.843782383419691, 2.9231504065040643, 3.457509471855059, 0.3726710231894073)]
    [InlineData("co2-weekly.csv", 1, 52, 52, 1.2271588831232987, 1.716237211064733, 1.9012597786039975, 1.398545237024776)]
    [InlineData("us-macro-quarterly.csv", 10, 1, 4, 0.2354037267080747, 0.49539473684210533, 0.8264142582965213, 2.104447298986251)]
    public void TheSeasonalNaiveForecastsErrorsMatchTheIndependentRecord(string file, int column, int season, int horizon,
        double scale, double mae, double rmse, double mase)
    {
        var series = SeriesWindows.FillMissing(Column(file, column));
        var (_, test) = SeriesWindows.SplitByTime(SeriesWindows.Create([series], 0, pastSteps: season, horizon), series.Length);
        int trainingLength = SeriesWindows.TrainingLength(series.Length);
        var metrics = ForecastMetrics.Evaluate(test.Select(w => SeriesWindows.SeasonalNaive(w, season)).ToArray(), test.Select(w => w.Next).ToArray(),
            ForecastMetrics.SeasonalNaiveScale(series.AsSpan(0, trainingLength), season));
        // float32 values from the CSV against NumPy's float64: relative differences of about 1e-7 per value.
        Assert.Equal(scale, ForecastMetrics.SeasonalNaiveScale(series.AsSpan(0, trainingLength), season), 1e-4);
        Assert.Equal(mae, metrics.MeanAbsoluteError, 1e-4);
        Assert.Equal(rmse, metrics.RootMeanSquaredError, 1e-4);
        Assert.Equal(mase, metrics.MeanAbsoluteScaledError, 1e-4);
        Assert.Equal(horizon, metrics.MeanAbsoluteErrorByStep.Count);
        Assert.Equal(metrics.MeanAbsoluteError, metrics.MeanAbsoluteErrorByStep.Average(), 1e-9);
    }

    [Fact]
    public void TheDocumentedProtocolScoresTheSeasonalNaiveForecast()
    {
        float[] orders = Column("elec-equip-monthly.csv", 1);
        // snippet: series-windows
        var series = SeriesWindows.FillMissing(orders);                       // NaN: interpolated between observed values
        var windows = SeriesWindows.Create([series], target: 0, pastSteps: 24, horizon: 12);
        var (train, test) = SeriesWindows.SplitByTime(windows, series.Length);  // the last fifth, every rolling origin
        var trainData = SeriesWindows.ToDataView(new MLContext(seed: 1), train);    // Past: 24 steps, Next: 12 values
        var naive = test.Select(w => SeriesWindows.SeasonalNaive(w, season: 12)).ToArray();
        double scale = ForecastMetrics.SeasonalNaiveScale(series.AsSpan(0, SeriesWindows.TrainingLength(series.Length)), season: 12);
        var metrics = ForecastMetrics.Evaluate(naive, test.Select(w => w.Next).ToArray(), scale);
        Console.WriteLine($"MASE {metrics.MeanAbsoluteScaledError:F3}, MAE by step {string.Join(" ", metrics.MeanAbsoluteErrorByStep.Select(e => e.ToString("F2")))}");
        // end snippet
        Assert.Equal(0.3726710231894073, metrics.MeanAbsoluteScaledError, 1e-4);   // the record's
        Assert.Equal(41, test.Length);
        Assert.Equal(train.Length, trainData.GetColumn<int>("Origin").Count());
    }

    [Fact]
    public void ForecastMetricsNameWhatDoesNotMatch()
    {
        var e = Assert.Throws<ArgumentException>(() => ForecastMetrics.Evaluate([[1f, 2f]], [[1f, 2f], [3f, 4f]]));
        Assert.StartsWith("ForecastMetrics: 1 forecasts for 2 actual windows", e.Message);
        Assert.Equal("season", Assert.Throws<ArgumentOutOfRangeException>(() => ForecastMetrics.SeasonalNaiveScale([1f, 2f], 2)).ParamName);
        var perfect = ForecastMetrics.Evaluate([[1f, 2f]], [[1f, 2f]], scale: 1);
        Assert.Equal((0.0, 0.0, 0.0), (perfect.MeanAbsoluteError, perfect.RootMeanSquaredError, perfect.MeanAbsoluteScaledError));
    }
}
