// Forecasting three real series (docs/forecasting.md's protocol): the last fifth of each is forecast from rolling
// origins, a season ahead (co2 weekly: 52 weeks; electrical equipment orders monthly: 12 months; US unemployment and
// inflation quarterly: 4 quarters), by SequenceRegressor on windows of two seasons (8 quarters) of the past, each
// standardised by its own mean and deviation (RowScaling.Standardize), and compared in the same run with the seasonal
// naive forecast (and with the Holt-Winters and ARIMA figures that bench/forecast_baselines.py recorded, when the record
// is found above the working folder). Prints one table and draws, per series, the test part with the one-step-ahead
// forecasts and the first origin's whole horizon (forecast-<series>.png). The settings were chosen with --validate.
// Usage: dotnet run -c Release --project examples/SeriesForecast [-- --series co2,elec,unemp,infl --epochs N --ensemble K --validate
//          [--earlier-cut] --multivariate --random-validation --scaling Standardize|MeanAbsolute --difference|--levels]
//   --validate forecasts the training part's last fifth instead, from its first four fifths: how the settings were chosen
//   (with --earlier-cut, the fifth before that); --difference reads every series as its changes over a season, --levels
//   as its values (by default the orders are read as changes, the others as values: chosen on both validation cuts);
//   --multivariate reads all 12 macro series for unemp and infl (by default each reads its own past only: better on the
//   training part's last fifth, docs/components/sequence-regressor.md); --random-validation stops
//   early on a random tenth of the training windows instead of their last tenth in time.
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Examples.Shared;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Rnn;
using ScottPlot;

string? Argument(string name) => Array.IndexOf(args, name) is var i and >= 0 && i + 1 < args.Length ? args[i + 1] : null;
string[] chosen = (Argument("--series") ?? "co2,elec,unemp,infl").Split(',');
int epochs = int.Parse(Argument("--epochs") ?? "100", CultureInfo.InvariantCulture);
int ensemble = int.Parse(Argument("--ensemble") ?? "5", CultureInfo.InvariantCulture);
var scaling = Enum.Parse<RowScaling>(Argument("--scaling") ?? nameof(RowScaling.Standardize));
bool validate = args.Contains("--validate"), multivariate = args.Contains("--multivariate"), randomValidation = args.Contains("--random-validation");
// --difference / --levels: every series read as its changes over a season, or as its values (by default, each as the
// task table says: the orders as changes, chosen on two validation cuts).
bool? difference = args.Contains("--difference") ? true : args.Contains("--levels") ? false : null;
// --earlier-cut: with --validate, the cut before (the last fifth of the training part's first four fifths), a second
// validation that does not overlap the first one's forecasts.
bool earlierCut = args.Contains("--earlier-cut");

string Data(string file) => Path.Combine(AppContext.BaseDirectory, "Data", file);
float[] Column(string file, int column) => File.ReadLines(Data(file)).Skip(1)
    .Select(line => line.Split(',')[column]).Select(v => v.Length == 0 ? float.NaN : float.Parse(v, CultureInfo.InvariantCulture)).ToArray();
float[][] Macro() => Enumerable.Range(2, 12).Select(c => Column("us-macro-quarterly.csv", c)).ToArray();   // realgdp .. realint

// name, columns, target column, season m, horizon H, past steps, read as changes over a season
var tasks = new (string Name, float[][] Columns, int Target, int Season, int Horizon, int Past, bool Changes)[]
{
    ("co2", [Column("co2-weekly.csv", 1)], 0, 52, 52, 104, false),
    ("elec", [Column("elec-equip-monthly.csv", 1)], 0, 12, 12, 24, true),
    ("unemp", Macro(), 8, 1, 4, 8, false),
    ("infl", Macro(), 10, 1, 4, 8, false),
}.Where(t => chosen.Contains(t.Name))
 .Select(t => !multivariate ? t with { Columns = [t.Columns[t.Target]], Target = 0 } : t).ToArray();

var record = Record();
var table = new List<string[]>();
foreach (var task in tasks)
{
    var columns = task.Columns.Select((c, i) => SeriesWindows.FillMissing(c, $"{task.Name} column {i}")).ToArray();
    int n = columns[0].Length;
    if (validate)
        columns = columns.Select(c => c[..SeriesWindows.TrainingLength(n)]).ToArray();   // the training part only
    if (validate && earlierCut)
        columns = columns.Select(c => c[..SeriesWindows.TrainingLength(c.Length)]).ToArray();
    n = columns[0].Length;
    int trainingLength = SeriesWindows.TrainingLength(n);
    var target = columns[task.Target];
    var (train, test) = SeriesWindows.SplitByTime(SeriesWindows.Create(columns, task.Target, task.Past, task.Horizon), n);
    // Changes: the network reads and forecasts each column's change over a season (y_t - y_t-m), and the forecast
    // adds it to the value a season before (the seasonal naive forecast when the change is 0). The windows keep their
    // origins, so training and test windows are the same ones; those whose past reaches before the first change are dropped.
    var (fitTrain, fitTest) = (train, test);
    bool changes = difference ?? task.Changes;
    if (changes)
    {
        var seasonalChanges = columns.Select(c => c.Select((v, t) => t < task.Season ? 0f : v - c[t - task.Season]).ToArray()).ToArray();
        var windows = SeriesWindows.Create(seasonalChanges, task.Target, task.Past, task.Horizon).Where(w => w.Origin - task.Past >= task.Season).ToArray();
        (fitTrain, fitTest) = SeriesWindows.SplitByTime(windows, n);
        if (!fitTest.Select(w => w.Origin).SequenceEqual(test.Select(w => w.Origin)))
            throw new InvalidOperationException($"{task.Name}: the windows of changes are not the test windows.");
    }
    double scale = ForecastMetrics.SeasonalNaiveScale(target.AsSpan(0, trainingLength), task.Season);
    var actual = test.Select(w => w.Next).ToArray();
    // Errors only where the file had a value (docs/forecasting.md); co2's missing weeks are all in its training part.
    var naive = ForecastMetrics.Evaluate(test.Select(w => SeriesWindows.SeasonalNaive(w, task.Season, columns.Length, task.Target)).ToArray(), actual, scale);

    var ml = new MLContext(seed: 1);
    // Early stopping on the last tenth of the training windows in time (a random tenth would hold windows that overlap
    // the ones trained on), unless asked otherwise.
    int held = randomValidation ? 0 : Math.Max(1, fitTrain.Length / 10);
    var fitWindows = fitTrain[..(fitTrain.Length - held)];
    var progress = new TrainingProgress($"{task.Name}", "val mse");
    var clock = Stopwatch.StartNew();
    using var model = ml.Transforms.Rnn.SequenceRegressor(new SequenceRegressor.Options
    {
        FeatureColumnName = "Past", LabelColumnName = "Next", FeaturesPerStep = columns.Length, TargetFeatureIndex = task.Target,
        Scaling = scaling, MaxEpochs = epochs, EnsembleSize = ensemble, Seed = 1, Progress = progress,
    }).Fit(SeriesWindows.ToDataView(ml, fitWindows), held == 0 ? null : SeriesWindows.ToDataView(ml, fitTrain[^held..]));
    progress.Done();
    var fitTime = clock.Elapsed;
    var forecasts = model.Transform(SeriesWindows.ToDataView(ml, fitTest)).GetColumn<VBuffer<float>>("Score").Select(v => v.DenseValues().ToArray()).ToArray();
    if (changes)
        forecasts = forecasts.Select((changes, i) => Integrate(changes, target, test[i].Origin, task.Season)).ToArray();
    var rnn = ForecastMetrics.Evaluate(forecasts, actual, scale);

    table.Add([task.Name, "seasonal naive", Format(naive), ""]);
    table.Add([task.Name, $"SequenceRegressor ({ensemble} BiGRUs, {epochs} epochs, {scaling}{(changes ? ", seasonal changes" : "")})", Format(rnn), $"{fitTime.TotalSeconds:F0} s"]);
    if (!validate && record?.TryGetValue(task.Name, out var recorded) == true)
        foreach (var (method, mae, rmse, mase) in recorded)
            table.Add([task.Name, $"{method} (recorded)", $"{mae,7:F3} {rmse,7:F3} {mase,6:F3}", ""]);
    Console.WriteLine($"{task.Name}: MASE {rnn.MeanAbsoluteScaledError:F3} (seasonal naive {naive.MeanAbsoluteScaledError:F3}); " +
                      $"MAE by step {string.Join(" ", rnn.MeanAbsoluteErrorByStep.Take(12).Select(e => e.ToString("F2", CultureInfo.InvariantCulture)))}");
    Plot(task.Name, target, test, forecasts, validate);
}

Console.WriteLine();
Console.WriteLine($"{"series",-6} {"method",-72} {"MAE",7} {"RMSE",7} {"MASE",6}  fit");
foreach (var row in table)
    Console.WriteLine($"{row[0],-6} {row[1],-72} {row[2]}  {row[3]}");

// Values from forecast changes over a season: y_o+h = (the value a season before, observed or itself forecast) + change.
static float[] Integrate(float[] changes, float[] series, int origin, int season)
{
    var values = new float[changes.Length];
    for (int h = 0; h < changes.Length; h++)
        values[h] = (h < season ? series[origin + h - season] : values[h - season]) + changes[h];
    return values;
}

static string Format(ForecastMetrics m) => $"{m.MeanAbsoluteError,7:F3} {m.RootMeanSquaredError,7:F3} {m.MeanAbsoluteScaledError,6:F3}";

// The test part with the one-step-ahead forecasts (h = 1 from every origin) and the first origin's whole horizon.
static void Plot(string name, float[] series, SeriesWindow[] test, float[][] forecasts, bool validate)
{
    var plot = new Plot();
    int first = test[0].Origin;
    var actual = plot.Add.Scatter(Enumerable.Range(first, series.Length - first).Select(i => (double)i).ToArray(),
        series[first..].Select(v => (double)v).ToArray(), Colors.Black);
    actual.LegendText = "actual";
    actual.MarkerSize = 0;
    var oneStep = plot.Add.Scatter(test.Select(w => (double)w.Origin).ToArray(), forecasts.Select(f => (double)f[0]).ToArray(), Colors.OrangeRed);
    oneStep.LegendText = "forecast one step ahead";
    oneStep.MarkerSize = 3;
    var horizon = plot.Add.Scatter(Enumerable.Range(first, forecasts[0].Length).Select(i => (double)i).ToArray(),
        forecasts[0].Select(v => (double)v).ToArray(), Colors.SteelBlue);
    horizon.LegendText = $"forecast of the first origin, {forecasts[0].Length} steps";
    horizon.MarkerSize = 3;
    plot.Title($"{name}: {(validate ? "the training part's last fifth" : "the last fifth")}, SequenceRegressor");
    plot.XLabel("index in the series");
    plot.ShowLegend();
    string path = $"forecast-{name}{(validate ? "-validation" : "")}.png";
    plot.SavePng(path, 1000, 450);
    Console.WriteLine($"plot written to {Path.GetFullPath(path)}");
}

// Holt-Winters and ARIMA as bench/forecast_baselines.py recorded them (statsmodels), found above the working folder.
static Dictionary<string, List<(string Method, double Mae, double Rmse, double Mase)>>? Record()
{
    for (var dir = new DirectoryInfo(Directory.GetCurrentDirectory()); dir is not null; dir = dir.Parent)
    {
        string path = Path.Combine(dir.FullName, "bench", "results", "forecast-baselines.json");
        if (!File.Exists(path)) continue;
        using var json = JsonDocument.Parse(File.ReadAllText(path));
        var result = new Dictionary<string, List<(string, double, double, double)>>();
        foreach (var series in json.RootElement.GetProperty("results").EnumerateArray())
        {
            string file = series.GetProperty("series").GetString()!, target = series.GetProperty("target").GetString()!;
            string name = file.StartsWith("co2") ? "co2" : file.StartsWith("elec") ? "elec" : target;
            result[name] = new[] { "holt_winters", "arima" }.Select(m =>
            {
                var method = series.GetProperty("methods").GetProperty(m);
                return (m == "arima" ? "ARIMA" : "Holt-Winters", method.GetProperty("MAE").GetDouble(), method.GetProperty("RMSE").GetDouble(), method.GetProperty("MASE").GetDouble());
            }).ToList();
        }
        return result;
    }
    Console.WriteLine("bench/results/forecast-baselines.json not found: Holt-Winters and ARIMA are not shown (run bench/forecast_baselines.py).");
    return null;
}
