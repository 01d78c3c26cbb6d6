using System.Globalization;

namespace Microsoft.ML.Rnn.Experiments;

/// <summary>
/// One dimension of a <see cref="RnnSearchSpace"/>. Samplers and tuners work in the unit interval: every parameter maps
/// a coordinate u in [0, 1) to a value (<see cref="FromUnit"/>) and back (<see cref="ToUnit"/>), so quasi-random points
/// and the TPE's densities need no knowledge of the parameter's type.
/// </summary>
public abstract class SearchParameter
{
    /// <summary>True for an unordered set of values (the TPE counts them instead of smoothing them).</summary>
    public abstract bool IsCategorical { get; }

    /// <summary>Number of values of a categorical parameter (0 for a range).</summary>
    public virtual int Count => 0;

    /// <summary>The value at unit coordinate <paramref name="u"/> in [0, 1).</summary>
    public abstract object FromUnit(double u);

    /// <summary>A unit coordinate mapping to <paramref name="value"/> (the centre of its cell for integers and choices).</summary>
    public abstract double ToUnit(object value);

    /// <summary>The value as invariant text (leaderboard, history file).</summary>
    public virtual string Format(object value) => Convert.ToString(value, CultureInfo.InvariantCulture) ?? "";

    /// <summary>A range of floating-point values, uniform or log-uniform.</summary>
    public static FloatRange Float(double min, double max, bool logScale = false) => new(min, max, logScale);

    /// <summary>A range of integers (both ends included), uniform or log-uniform.</summary>
    public static IntRange Int(int min, int max, bool logScale = false) => new(min, max, logScale);

    /// <summary>An unordered set of values; a single value fixes the parameter.</summary>
    public static Choice<T> Choice<T>(params T[] values) where T : notnull => new(values);
}

/// <summary>Floating-point values in [Min, Max], uniform or (with <see cref="LogScale"/>) log-uniform.</summary>
public sealed class FloatRange : SearchParameter
{
    /// <summary>Creates the range; with <paramref name="logScale"/> both ends must be positive.</summary>
    public FloatRange(double min, double max, bool logScale = false)
    {
        if (!double.IsFinite(min) || !double.IsFinite(max) || min > max)
            throw new ArgumentOutOfRangeException(nameof(max), max, $"FloatRange: expected finite min <= max, got [{min}, {max}].");
        if (logScale && min <= 0)
            throw new ArgumentOutOfRangeException(nameof(min), min, "FloatRange: a log-scale range needs min > 0.");
        (Min, Max, LogScale) = (min, max, logScale);
    }

    /// <summary>Smallest value.</summary>
    public double Min { get; }

    /// <summary>Largest value.</summary>
    public double Max { get; }

    /// <summary>Sample the logarithm uniformly (learning rates, regularisation).</summary>
    public bool LogScale { get; }

    /// <inheritdoc/>
    public override bool IsCategorical => false;

    /// <inheritdoc/>
    public override object FromUnit(double u)
    {
        u = Math.Clamp(u, 0, 1);
        return LogScale ? Math.Exp(Math.Log(Min) + u * (Math.Log(Max) - Math.Log(Min))) : Min + u * (Max - Min);
    }

    /// <inheritdoc/>
    public override double ToUnit(object value)
    {
        double v = Convert.ToDouble(value, CultureInfo.InvariantCulture);
        if (Max == Min) return 0.5;
        double u = LogScale ? (Math.Log(v) - Math.Log(Min)) / (Math.Log(Max) - Math.Log(Min)) : (v - Min) / (Max - Min);
        return Math.Clamp(u, 0, 1);
    }

    /// <inheritdoc/>
    public override string Format(object value) => Convert.ToDouble(value, CultureInfo.InvariantCulture).ToString("G4", CultureInfo.InvariantCulture);

    /// <inheritdoc/>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"[{Min:G4}, {Max:G4}]{(LogScale ? " log" : "")}");
}

/// <summary>Integers in [Min, Max] (both included), uniform or (with <see cref="LogScale"/>) log-uniform.</summary>
public sealed class IntRange : SearchParameter
{
    /// <summary>Creates the range; with <paramref name="logScale"/> both ends must be positive.</summary>
    public IntRange(int min, int max, bool logScale = false)
    {
        if (min > max)
            throw new ArgumentOutOfRangeException(nameof(max), max, $"IntRange: expected min <= max, got [{min}, {max}].");
        if (logScale && min <= 0)
            throw new ArgumentOutOfRangeException(nameof(min), min, "IntRange: a log-scale range needs min > 0.");
        (Min, Max, LogScale) = (min, max, logScale);
    }

    /// <summary>Smallest value.</summary>
    public int Min { get; }

    /// <summary>Largest value.</summary>
    public int Max { get; }

    /// <summary>Sample the logarithm uniformly (sizes).</summary>
    public bool LogScale { get; }

    /// <inheritdoc/>
    public override bool IsCategorical => false;

    // Each integer owns an equal cell of the (log) interval [Min - 0.5, Max + 0.5).
    private double Low => LogScale ? Math.Log(Min - 0.5 <= 0 ? Min * 0.5 : Min - 0.5) : Min - 0.5;
    private double High => LogScale ? Math.Log(Max + 0.5) : Max + 0.5;

    /// <inheritdoc/>
    public override object FromUnit(double u)
    {
        double x = Low + Math.Clamp(u, 0, 1) * (High - Low);
        double v = LogScale ? Math.Exp(x) : x;
        return (int)Math.Clamp(Math.Round(v, MidpointRounding.AwayFromZero), Min, Max);
    }

    /// <inheritdoc/>
    public override double ToUnit(object value)
    {
        double v = Math.Clamp(Convert.ToDouble(value, CultureInfo.InvariantCulture), Min, Max);
        double x = LogScale ? Math.Log(v) : v;
        return Math.Clamp((x - Low) / (High - Low), 0, 1);
    }

    /// <inheritdoc/>
    public override string ToString() => $"[{Min}, {Max}]{(LogScale ? " log" : "")}";
}

/// <summary>An unordered set of values (cell types, booleans, batch sizes, trainers).</summary>
public sealed class Choice<T> : SearchParameter where T : notnull
{
    private readonly T[] _values;

    /// <summary>Creates the choice; at least one value.</summary>
    public Choice(params T[] values)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (values.Length == 0)
            throw new ArgumentException("Choice: expected at least one value.", nameof(values));
        _values = values.ToArray();
    }

    /// <summary>The values.</summary>
    public IReadOnlyList<T> Values => _values;

    /// <inheritdoc/>
    public override bool IsCategorical => true;

    /// <inheritdoc/>
    public override int Count => _values.Length;

    /// <inheritdoc/>
    public override object FromUnit(double u) => _values[Math.Clamp((int)Math.Floor(u * _values.Length), 0, _values.Length - 1)];

    /// <inheritdoc/>
    public override double ToUnit(object value)
    {
        int index = Array.FindIndex(_values, v => v.Equals(value));
        if (index < 0)
            throw new ArgumentException($"Choice: {value} is not one of {ToString()}.", nameof(value));
        return (index + 0.5) / _values.Length;
    }

    /// <inheritdoc/>
    public override string ToString() => "{" + string.Join(", ", _values.Select(v => Convert.ToString(v, CultureInfo.InvariantCulture))) + "}";
}
