using System.Text.Json.Serialization;

namespace RnnBench;

/// <summary>One benchmark shape: batch N, steps L, input H_in, hidden H_out, layers, directions, variable lengths, and the cell (LSTM, or GRU).</summary>
internal sealed record BenchConfig(int N, int L, int InputSize, int HiddenSize, int Layers = 1, int Directions = 1, bool VariableLengths = false,
    bool Gru = false)
{
    /// <summary>Short label for the table.</summary>
    public override string ToString() => $"N={N} L={L}{(VariableLengths ? "(var)" : "")} Hin={InputSize} H={HiddenSize}" +
        (Gru || Directions == 2 ? $" {(Directions == 2 ? "Bi" : "")}{(Gru ? "GRU" : "LSTM")}" : "");
}

/// <summary>Median with p10/p90 spread.</summary>
internal sealed record Spread(double P10, double P90, int Repetitions);

/// <summary>
/// One measured figure against its reference: <c>Ratio</c> = value / reference, compared with <c>Goal</c>
/// (≥ goal when <c>HigherIsBetter</c>, ≤ goal otherwise). Goals are informative; nothing fails on them.
/// </summary>
internal sealed record BenchRecord(
    string Name,
    BenchConfig Config,
    double Value,
    double? Reference,
    double? Ratio,
    double? Goal,
    bool HigherIsBetter,
    string Units,
    string ReferenceName,
    Spread? ValueSpread,
    Spread? ReferenceSpread)
{
    /// <summary>Whether the ratio meets the goal (null when there is no goal).</summary>
    [JsonPropertyOrder(100)]
    public bool? MeetsGoal => Goal is not double g || Ratio is not double r ? null : HigherIsBetter ? r >= g : r <= g;

    /// <summary>
    /// A latency percentile <paramref name="q"/> of sorted single-call times in seconds (value and reference), in ms,
    /// ratio value / reference, lower is better; the spreads are the p10 and p90 of the calls.
    /// </summary>
    public static BenchRecord Latency(string name, BenchConfig config, double[] value, double[] reference, double q, double? goal, string referenceName)
    {
        static Spread SpreadOf(double[] times) => new(Sample.Percentile(times, 0.1) * 1e3, Sample.Percentile(times, 0.9) * 1e3, times.Length);
        double v = Sample.Percentile(value, q) * 1e3, r = Sample.Percentile(reference, q) * 1e3;
        return new BenchRecord(name, config, v, r, v / r, goal, false, "ms", referenceName, SpreadOf(value), SpreadOf(reference));
    }

    /// <summary>Builds a record from two samples (value and reference), ratio value / reference.</summary>
    public static BenchRecord Compare(string name, BenchConfig config, Sample value, Sample reference, string units,
        string referenceName, double? goal, bool higherIsBetter)
        => new(name, config, value.Median, reference.Median, value.Median / reference.Median, goal, higherIsBetter, units, referenceName,
            new Spread(value.P10, value.P90, value.Repetitions), new Spread(reference.P10, reference.P90, reference.Repetitions));
}
