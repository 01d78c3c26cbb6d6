using ScottPlot;
using static TorchSharp.torch;

/// <summary>A figure like the seeds' one: input bits, echoed target and prediction over the first steps of a row.</summary>
internal static class EchoPlot
{
    public static void Save(string path, Tensor x, Tensor y, Tensor predicted, int row, int steps)
    {
        double[] Row(Tensor t) => t[row].narrow(0, 0, steps).to(float64).data<double>().ToArray();
        var time = Enumerable.Range(0, steps).Select(t => (double)t).ToArray();
        var plot = new Plot();
        var series = new (string Label, double[] Values, double Offset, Color Color)[]
        {
            ("input x", Row(x), 3.0, Colors.SteelBlue),
            ("target y (x echoed 3 steps later)", Row(y), 1.5, Colors.ForestGreen),
            ("prediction", Row(predicted), 0.0, Colors.OrangeRed),
        };
        foreach (var (label, values, offset, color) in series)
        {
            var line = plot.Add.Scatter(time, values.Select(v => v + offset).ToArray(), color);
            line.ConnectStyle = ConnectStyle.StepHorizontal;
            line.MarkerSize = 0;
            line.LineWidth = 2;
            line.LegendText = label;
        }
        plot.Title($"Echo-RNN: first {steps} steps of test row {row}");
        plot.XLabel("time step");
        plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericManual(
            [0, 1, 1.5, 2.5, 3, 4], ["pred 0", "pred 1", "target 0", "target 1", "input 0", "input 1"]);
        plot.ShowLegend(Edge.Bottom);
        plot.SavePng(path, 1000, 400);
    }
}
