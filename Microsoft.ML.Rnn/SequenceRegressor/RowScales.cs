using Microsoft.ML.Rnn.Features;

namespace Microsoft.ML.Rnn;

/// <summary><see cref="RowScaling.MeanAbsolute"/> on rows of Single steps, in place.</summary>
internal static class RowScales
{
    /// <summary>
    /// Divides every row of <paramref name="rows"/>, feature by feature, by its mean absolute value over the row's
    /// steps (1 where that is 0 or there are no steps); returns each row's scales (F).
    /// </summary>
    public static float[][] DivideInPlace(SequenceRows rows)
    {
        int features = rows.Column.FeaturesPerStep;
        var scales = new float[rows.Count][];
        for (int r = 0; r < rows.Count; r++)
        {
            var values = rows.Singles(r);
            int steps = rows.Lengths[r];
            var scale = scales[r] = new float[features];
            for (int f = 0; f < features; f++)
            {
                double sum = 0;
                for (int t = 0; t < steps; t++)
                    sum += Math.Abs(values[t * features + f]);
                float mean = steps == 0 ? 0 : (float)(sum / steps);
                scale[f] = mean > 0 && float.IsFinite(mean) ? mean : 1f;
                for (int t = 0; t < steps; t++)
                    values[t * features + f] /= scale[f];
            }
        }
        return scales;
    }
}
