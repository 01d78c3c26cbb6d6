using System.Globalization;
using Microsoft.ML.Data;
using Xunit;
using Xunit.Abstractions;

namespace Microsoft.ML.Rnn.Tests.Docs;

/// <summary>The README's regression pipeline, run as written on the repository's real series.</summary>
public class RegressionSnippetTests(ITestOutputHelper output)
{
    private sealed class Window
    {
        [VectorType(24)] public float[] Past { get; set; } = [];
        public float Next { get; set; }
    }

    [Fact]
    public void NextMonthsOrdersFromTheLastTwoYears()
    {
        string csv = Path.Combine(AppContext.BaseDirectory, "Data", "elec-equip-monthly.csv");

        // snippet: regression-pipeline
        var ml = new MLContext(seed: 1);
        float[] series = File.ReadLines(csv).Skip(1).Select(line => float.Parse(line.Split(',')[1], CultureInfo.InvariantCulture)).ToArray();
        var windows = Enumerable.Range(0, series.Length - 24)            // 24 months in, the next month out
            .Select(t => new Window { Past = series[t..(t + 24)], Next = series[t + 24] }).ToArray();
        int cut = windows.Length * 4 / 5;                                 // in time order: the last fifth is the test
        var train = ml.Data.LoadFromEnumerable(windows[..cut]);
        var test = ml.Data.LoadFromEnumerable(windows[cut..]);
        var model = ml.Transforms.Rnn.SequenceRegressor(new SequenceRegressor.Options
        {
            LabelColumnName = "Next", FeatureColumnName = "Past", MaxEpochs = 100,
            Scaling = RowScaling.MeanAbsolute,                            // each window by its own level: the series' level moves
        }).Fit(train);
        var metrics = ml.Regression.Evaluate(model.Transform(test), labelColumnName: "Next");
        Console.WriteLine($"MAE {metrics.MeanAbsoluteError:F2}, RMSE {metrics.RootMeanSquaredError:F2}");
        // end snippet

        var tested = windows[cut..];
        double lastValue = tested.Average(w => Math.Abs(w.Past[^1] - w.Next));
        double seasonal = tested.Average(w => Math.Abs(w.Past[^12] - w.Next));
        output.WriteLine($"MAE {metrics.MeanAbsoluteError:F3}; last value {lastValue:F3}; same month last year {seasonal:F3}");
        Assert.True(metrics.MeanAbsoluteError < seasonal, $"MAE {metrics.MeanAbsoluteError} vs the seasonal naive's {seasonal}");
        model.Dispose();
    }
}
