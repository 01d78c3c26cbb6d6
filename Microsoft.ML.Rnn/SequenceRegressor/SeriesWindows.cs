using System.Globalization;
using Microsoft.ML.Data;

namespace Microsoft.ML.Rnn;

/// <summary>
/// From a time-ordered series (one or more columns) to the rows a <see cref="SequenceRegressor"/> trains on: windows of
/// the past steps and the target's next values, split by time so that no test window shares a value with a training
/// one. Missing values (NaN) are filled first by linear interpolation between the nearest observed values (the nearest
/// observed value before the first or after the last one); the forecasting protocol is docs/forecasting.md's.
/// </summary>
public static class SeriesWindows
{
    /// <summary>
    /// <paramref name="values"/> with every NaN replaced by linear interpolation between the nearest observed values
    /// around it (the nearest observed value at either end); throws naming <paramref name="column"/> when no value is
    /// observed or a value is infinite.
    /// </summary>
    public static float[] FillMissing(ReadOnlySpan<float> values, string column = "series")
    {
        var filled = values.ToArray();
        int previous = -1;
        for (int i = 0; i <= filled.Length; i++)
        {
            if (i < filled.Length && float.IsInfinity(filled[i]))
                throw new ArgumentException($"SeriesWindows: column '{column}' has the infinite value {filled[i].ToString(CultureInfo.InvariantCulture)} at index {i}; expected finite values or NaN for missing ones.", nameof(values));
            if (i < filled.Length && float.IsNaN(filled[i]))
                continue;
            // Fill the gap (previous, i): interpolate between two observed values, or copy the one observed end.
            for (int j = previous + 1; j < i; j++)
            {
                filled[j] = previous < 0 ? (i < filled.Length ? filled[i] : float.NaN)
                    : i == filled.Length ? filled[previous]
                    : (float)(filled[previous] + (filled[i] - (double)filled[previous]) * (j - previous) / (i - previous));
            }
            previous = i;
        }
        if (filled.Length > 0 && float.IsNaN(filled[0]))
            throw new ArgumentException($"SeriesWindows: column '{column}' has no observed value; at least one is needed.", nameof(values));
        return filled;
    }

    /// <summary>
    /// Every window of <paramref name="pastSteps"/> steps of <paramref name="columns"/> (each a series of the same length, in
    /// time order, missing values filled by <see cref="FillMissing"/>) followed by <paramref name="horizon"/> values of
    /// column <paramref name="target"/>, in time order: origins <paramref name="pastSteps"/> to n − <paramref name="horizon"/>.
    /// </summary>
    public static SeriesWindow[] Create(IReadOnlyList<float[]> columns, int target, int pastSteps, int horizon)
    {
        ArgumentNullException.ThrowIfNull(columns);
        if (columns.Count == 0 || columns.Any(c => c is null))
            throw new ArgumentException("SeriesWindows: expected at least one column, and no null column.", nameof(columns));
        int n = columns[0].Length;
        if (columns.Any(c => c.Length != n))
            throw new ArgumentException($"SeriesWindows: the columns have different lengths ({string.Join(", ", columns.Select(c => c.Length))}); expected one length.", nameof(columns));
        if (target < 0 || target >= columns.Count)
            throw new ArgumentOutOfRangeException(nameof(target), target, $"SeriesWindows: target must be a column index in [0, {columns.Count}), got {target}.");
        if (pastSteps < 1)
            throw new ArgumentOutOfRangeException(nameof(pastSteps), pastSteps, $"SeriesWindows: pastSteps must be at least 1, got {pastSteps}.");
        if (horizon < 1)
            throw new ArgumentOutOfRangeException(nameof(horizon), horizon, $"SeriesWindows: horizon must be at least 1, got {horizon}.");
        if (n < pastSteps + horizon)
            throw new ArgumentException($"SeriesWindows: a series of {n} values holds no window of {pastSteps} past steps and {horizon} next values.", nameof(columns));
        var filled = columns.Select((c, i) => FillMissing(c, $"column {i}")).ToArray();
        int features = filled.Length;
        return Enumerable.Range(pastSteps, n - horizon - pastSteps + 1).Select(origin =>
        {
            var past = new float[pastSteps * features];
            for (int t = 0; t < pastSteps; t++)
                for (int f = 0; f < features; f++)
                    past[t * features + f] = filled[f][origin - pastSteps + t];
            return new SeriesWindow { Past = past, Next = filled[target][origin..(origin + horizon)], Origin = origin };
        }).ToArray();
    }

    /// <summary>
    /// As <see cref="Create(IReadOnlyList{float[]}, int, int, int)"/> from the Single columns <paramref name="columns"/> of
    /// <paramref name="series"/>, whose rows are in time order (NaN: missing); <paramref name="target"/> is one of them.
    /// </summary>
    public static SeriesWindow[] Create(IDataView series, IReadOnlyList<string> columns, string target, int pastSteps, int horizon)
    {
        ArgumentNullException.ThrowIfNull(series);
        ArgumentNullException.ThrowIfNull(columns);
        int index = columns.ToList().IndexOf(target);
        if (index < 0)
            throw new ArgumentException($"SeriesWindows: the target '{target}' is not one of the columns ({string.Join(", ", columns)}).", nameof(target));
        var values = columns.Select(name =>
        {
            var column = series.Schema.GetColumnOrNull(name)
                ?? throw new ArgumentException($"SeriesWindows: the data has no column '{name}'.", nameof(columns));
            if (column.Type != NumberDataViewType.Single)
                throw new ArgumentException($"SeriesWindows: column '{name}' is {column.Type}; expected Single (convert it first, e.g. with ConvertType).", nameof(columns));
            return series.GetColumn<float>(column).ToArray();
        }).ToArray();
        return Create(values, index, pastSteps, horizon);
    }

    /// <summary>
    /// The windows of a series of <paramref name="seriesLength"/> values split by time at n_train = floor((1 −
    /// <paramref name="testFraction"/>) n): training windows forecast values before n_train only, test windows from
    /// n_train on (one per origin, a rolling origin); a window whose horizon straddles the cut is in neither.
    /// </summary>
    public static (SeriesWindow[] Train, SeriesWindow[] Test) SplitByTime(IReadOnlyList<SeriesWindow> windows, int seriesLength, double testFraction = 0.2)
    {
        ArgumentNullException.ThrowIfNull(windows);
        if (!(testFraction > 0 && testFraction < 1))
            throw new ArgumentOutOfRangeException(nameof(testFraction), testFraction, $"SeriesWindows: testFraction must be in (0, 1), got {testFraction}.");
        int cut = TrainingLength(seriesLength, testFraction);
        return (windows.Where(w => w.Origin + w.Next.Length <= cut).ToArray(), windows.Where(w => w.Origin >= cut).ToArray());
    }

    /// <summary>n_train = floor((1 − <paramref name="testFraction"/>) n), computed in integers for the default fifth ((4 n) div 5).</summary>
    public static int TrainingLength(int seriesLength, double testFraction = 0.2)
        => testFraction == 0.2 ? seriesLength * 4 / 5 : (int)Math.Floor((1 - testFraction) * seriesLength);

    /// <summary>
    /// The windows as an IDataView with known-size columns: <c>Past</c> (vector of pastSteps × features Single), <c>Next</c>
    /// (vector of horizon Single, or Single when <paramref name="scalarNext"/> and the horizon is 1) and <c>Origin</c> (Int32).
    /// </summary>
    public static IDataView ToDataView(MLContext mlContext, IReadOnlyList<SeriesWindow> windows, bool scalarNext = false)
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        ArgumentNullException.ThrowIfNull(windows);
        if (windows.Count == 0)
            throw new ArgumentException("SeriesWindows: no windows to load.", nameof(windows));
        int past = windows[0].Past.Length, horizon = windows[0].Next.Length;
        if (windows.Any(w => w.Past.Length != past || w.Next.Length != horizon))
            throw new ArgumentException("SeriesWindows: the windows differ in size; expected windows of one series.", nameof(windows));
        if (scalarNext && horizon != 1)
            throw new ArgumentException($"SeriesWindows: scalarNext needs a horizon of 1, got {horizon}.", nameof(scalarNext));
        if (scalarNext)
            return mlContext.Data.LoadFromEnumerable(windows.Select(w => new ScalarRow { Past = w.Past, Next = w.Next[0], Origin = w.Origin }),
                Schema<ScalarRow>(past, null));
        return mlContext.Data.LoadFromEnumerable(windows, Schema<SeriesWindow>(past, horizon));
    }

    private sealed class ScalarRow
    {
        public float[] Past { get; set; } = [];
        public float Next { get; set; }
        public int Origin { get; set; }
    }

    private static SchemaDefinition Schema<TRow>(int past, int? horizon)
    {
        var schema = SchemaDefinition.Create(typeof(TRow));
        schema[nameof(SeriesWindow.Past)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, past);
        if (horizon is int h)
            schema[nameof(SeriesWindow.Next)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, h);
        return schema;
    }

    /// <summary>
    /// The seasonal naive forecast of a window (season <paramref name="season"/>, at most its past length): each next value
    /// is the last observed value one or more seasons before it, ŷ[t+h−1] = y[t+h−1−m·ceil(h/m)].
    /// </summary>
    public static float[] SeasonalNaive(SeriesWindow window, int season, int features = 1, int target = 0)
    {
        ArgumentNullException.ThrowIfNull(window);
        int steps = window.Past.Length / features;
        if (season < 1 || season > steps)
            throw new ArgumentOutOfRangeException(nameof(season), season, $"SeriesWindows: season must be in [1, {steps}] (the window's past steps), got {season}.");
        return Enumerable.Range(1, window.Next.Length).Select(h =>
        {
            int back = season * (int)Math.Ceiling(h / (double)season);   // steps before the value forecast
            return window.Past[(steps + h - 1 - back) * features + target];
        }).ToArray();
    }
}
