using ScottPlot;

namespace Examples.Shared;

/// <summary>
/// Writes a PNG of one or more training runs: training loss per epoch on the left axis (solid lines), the validation
/// metric on the right axis (dashed), and a marker on the epoch whose weights each run kept.
/// </summary>
public static class LearningCurves
{
    private static readonly Color[] Palette = [Colors.SteelBlue, Colors.OrangeRed, Colors.ForestGreen, Colors.DarkViolet, Colors.Teal];

    /// <summary>Saves the curves of <paramref name="runs"/> to <paramref name="path"/> (1000 × 500 pixels) and returns its full path.</summary>
    public static string Save(string path, string title, params TrainingProgress[] runs)
    {
        ArgumentOutOfRangeException.ThrowIfZero(runs.Length, nameof(runs));
        var plot = new Plot();
        string metricNames = string.Join(" / ", runs.Select(r => r.MetricName).Distinct());
        bool anyMetric = false;
        for (int i = 0; i < runs.Length; i++)
        {
            var run = runs[i];
            var color = Palette[i % Palette.Length];
            if (run.History.Count == 0)
                continue;
            double[] epochs = run.History.Select(p => p.Epoch + 1.0).ToArray();

            var loss = plot.Add.Scatter(epochs, run.History.Select(p => p.TrainLoss).ToArray(), color);
            loss.LegendText = $"{run.Name}: training loss";
            loss.LineWidth = 2;
            loss.MarkerSize = 5;

            var withMetric = run.History.Where(p => p.ValidationMetric.HasValue).ToArray();
            if (withMetric.Length > 0)
            {
                anyMetric = true;
                var metric = plot.Add.Scatter(withMetric.Select(p => p.Epoch + 1.0).ToArray(),
                    withMetric.Select(p => p.ValidationMetric!.Value).ToArray(), color);
                metric.LegendText = $"{run.Name}: {run.MetricName}";
                metric.LineWidth = 2;
                metric.MarkerSize = 5;
                metric.LinePattern = LinePattern.Dashed;
                metric.Axes.YAxis = plot.Axes.Right;
            }

            if (run.Best is { } best)
            {
                var kept = plot.Add.VerticalLine(best.Epoch + 1, 1, color);
                kept.LinePattern = LinePattern.Dotted;
                kept.LegendText = $"{run.Name}: kept {run.Unit} {best.Epoch + 1}";
            }
        }
        plot.Title(title);
        plot.XLabel(string.Join(" / ", runs.Select(r => r.Unit).Distinct()));
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { IntegerTicksOnly = true }; // no epoch 1.5
        plot.Axes.Left.Label.Text = "training loss (solid)";
        if (anyMetric)
            plot.Axes.Right.Label.Text = $"{metricNames} (dashed)";
        plot.ShowLegend(Edge.Right);
        string full = Path.GetFullPath(path);
        plot.SavePng(full, 1000, 500);
        return full;
    }
}
