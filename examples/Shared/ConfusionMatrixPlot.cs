using Microsoft.ML;
using Microsoft.ML.Data;
using ScottPlot;

namespace Examples.Shared;

/// <summary>
/// Confusion-matrix images: gold tags down the rows, predicted tags across the columns, each cell coloured by the
/// share of its row (recall per gold tag on the diagonal) and labelled with its count.
/// </summary>
public static class ConfusionMatrixPlot
{
    /// <summary>Counts (gold, predicted) token pairs of a tagger's scored output: two variable key vectors with text key values.</summary>
    public static (string[] Tags, long[,] Counts) FromTaggerOutput(IDataView scored, string labelColumnName = "Label",
        string predictedLabelColumnName = "PredictedLabel")
    {
        var gold = scored.Schema[labelColumnName];
        var predicted = scored.Schema[predictedLabelColumnName];
        string[] goldNames = KeyNames(gold), predictedNames = KeyNames(predicted);
        var tags = goldNames.Union(predictedNames).ToArray();
        var index = tags.Select((t, i) => (t, i)).ToDictionary(x => x.t, x => x.i);
        var counts = new long[tags.Length, tags.Length];
        using var cursor = scored.GetRowCursor([gold, predicted]);
        var getGold = cursor.GetGetter<VBuffer<uint>>(gold);
        var getPredicted = cursor.GetGetter<VBuffer<uint>>(predicted);
        VBuffer<uint> g = default, p = default;
        while (cursor.MoveNext())
        {
            getGold(ref g);
            getPredicted(ref p);
            // ML.NET keys are 1-based; 0 is a missing value (an unknown tag), left out of the matrix.
            foreach (var (gk, pk) in g.DenseValues().Zip(p.DenseValues()))
            {
                if (gk > 0 && pk > 0)
                    counts[index[goldNames[gk - 1]], index[predictedNames[pk - 1]]]++;
            }
        }
        return (tags, counts);
    }

    /// <summary>Writes the matrix of <paramref name="counts"/> (rows gold, columns predicted) as a PNG and returns its full path.</summary>
    public static string Save(string path, string title, IReadOnlyList<string> tags, long[,] counts)
    {
        int n = tags.Count;
        if (counts.GetLength(0) != n || counts.GetLength(1) != n)
            throw new ArgumentException($"ConfusionMatrixPlot: expected {n} x {n} counts, got {counts.GetLength(0)} x {counts.GetLength(1)}.", nameof(counts));
        var share = new double[n, n];
        for (int r = 0; r < n; r++)
        {
            long total = 0;
            for (int c = 0; c < n; c++) total += counts[r, c];
            for (int c = 0; c < n; c++) share[r, c] = total == 0 ? 0 : (double)counts[r, c] / total;
        }

        var plot = new Plot();
        var heatmap = plot.Add.Heatmap(share);
        heatmap.Colormap = new ScottPlot.Colormaps.Viridis(); // dark purple (0) to yellow (1)
        heatmap.ManualRange = new ScottPlot.Range(0, 1);
        // The extent gives the centres of the corner cells: cell (r, c) is centred on x = c, y = n - 1 - r, so the
        // first gold tag is the top row.
        heatmap.Extent = new CoordinateRect(0, Math.Max(n - 1, 1e-9), 0, Math.Max(n - 1, 1e-9));
        for (int r = 0; r < n; r++)
        {
            for (int c = 0; c < n; c++)
            {
                var label = plot.Add.Text(counts[r, c].ToString("N0"), c, n - 1 - r);
                label.LabelAlignment = Alignment.MiddleCenter;
                label.LabelFontSize = 14;
                label.LabelFontColor = share[r, c] > 0.6 ? Colors.Black : Colors.White;
            }
        }
        var positions = Enumerable.Range(0, n).Select(i => (double)i).ToArray();
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(positions, tags.ToArray());
        plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericManual(
            positions.Select(p => n - 1 - p).ToArray(), tags.ToArray());
        plot.Axes.SetLimits(-0.5, n - 0.5, -0.5, n - 0.5);
        plot.Add.ColorBar(heatmap);
        plot.Title(title + "\ncolour: share of the gold tag's tokens; numbers: token counts");
        plot.XLabel("predicted tag");
        plot.YLabel("gold tag");
        string full = Path.GetFullPath(path);
        plot.SavePng(full, 160 + 90 * n + 200, 140 + 70 * n + 60);
        return full;
    }

    private static string[] KeyNames(DataViewSchema.Column column)
    {
        VBuffer<ReadOnlyMemory<char>> values = default;
        column.GetKeyValues(ref values);
        return values.DenseValues().Select(v => v.ToString()).ToArray();
    }
}
