using Microsoft.ML.Rnn.Features;

namespace Microsoft.ML.Rnn;

/// <summary>A row's shift and scale per feature (<see cref="RowScaling"/>): a value x becomes (x − Shift) / Scale.</summary>
/// <param name="Shift">Per feature: 0 for <see cref="RowScaling.MeanAbsolute"/>, the row's mean for <see cref="RowScaling.Standardize"/>.</param>
/// <param name="Scale">Per feature: the row's mean absolute value or standard deviation (1 where that is 0 or there are no steps).</param>
internal sealed record RowScale(float[] Shift, float[] Scale)
{
    /// <summary>The row's value of feature <paramref name="f"/> from its scaled value (a prediction).</summary>
    public float Restore(float scaled, int f) => scaled * Scale[f] + Shift[f];

    /// <summary>A value of feature <paramref name="f"/> in the row's scaled units (a target).</summary>
    public float Apply(float value, int f) => (value - Shift[f]) / Scale[f];
}

/// <summary><see cref="RowScaling"/> on rows of Single steps, in place.</summary>
internal static class RowScales
{
    /// <summary>
    /// Scales every row of <paramref name="rows"/> feature by feature as <paramref name="scaling"/> says, over the row's
    /// steps; returns each row's <see cref="RowScale"/>.
    /// </summary>
    public static RowScale[] ApplyInPlace(SequenceRows rows, RowScaling scaling)
    {
        int features = rows.Column.FeaturesPerStep;
        var result = new RowScale[rows.Count];
        for (int r = 0; r < rows.Count; r++)
        {
            var values = rows.Singles(r);
            int steps = rows.Lengths[r];
            var shift = new float[features];
            var scale = new float[features];
            for (int f = 0; f < features; f++)
            {
                double sum = 0, absolute = 0;
                for (int t = 0; t < steps; t++)
                {
                    sum += values[t * features + f];
                    absolute += Math.Abs(values[t * features + f]);
                }
                double mean = steps == 0 ? 0 : sum / steps;
                double spread;
                if (scaling == RowScaling.Standardize)
                {
                    double squares = 0;
                    for (int t = 0; t < steps; t++)
                        squares += (values[t * features + f] - mean) * (values[t * features + f] - mean);
                    shift[f] = (float)mean;
                    spread = steps == 0 ? 0 : Math.Sqrt(squares / steps);
                }
                else
                {
                    spread = steps == 0 ? 0 : absolute / steps;
                }
                scale[f] = spread > 0 && double.IsFinite(spread) ? (float)spread : 1f;
                for (int t = 0; t < steps; t++)
                    values[t * features + f] = (values[t * features + f] - shift[f]) / scale[f];
            }
            result[r] = new RowScale(shift, scale);
        }
        return result;
    }
}
