using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Microsoft.ML.Rnn.Experiments;

/// <summary>
/// Everything an experiment tried, in a form that round-trips through a JSON file: the task, metric, schedule and
/// every trial with its rung results. Written by <see cref="RnnExperimentSettings.HistoryFile"/> after each trial run,
/// or by <see cref="Save"/>; read back with <see cref="Load"/>.
/// </summary>
public sealed class RnnExperimentHistory
{
    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        Converters = { new JsonStringEnumConverter() },
    };

    /// <summary>Format version of the file.</summary>
    public int Version { get; set; } = 1;

    /// <summary>The experiment kind, e.g. "SequenceClassification".</summary>
    public string Task { get; set; } = "";

    /// <summary>The metric maximised (resolved, never Auto).</summary>
    public RnnExperimentMetric Metric { get; set; }

    /// <summary>The experiment's seed.</summary>
    public int Seed { get; set; }

    /// <summary>Epochs of each successive-halving rung.</summary>
    public int[] RungEpochs { get; set; } = Array.Empty<int>();

    /// <summary>The search space, one "Name range" entry per dimension.</summary>
    public List<string> SearchSpace { get; set; } = new();

    /// <summary>Seconds from the start of the experiment to the end of the last trial run.</summary>
    public double Seconds { get; set; }

    /// <summary>The trials in the order they started.</summary>
    public List<RnnTrialResult> Trials { get; set; } = new();

    /// <summary>The best completed trial, or null.</summary>
    [JsonIgnore]
    public RnnTrialResult? Best => Leaderboard.FirstOrDefault();

    /// <summary>Completed trials, best metric first (ties: fewer epochs, then lower id).</summary>
    [JsonIgnore]
    public IReadOnlyList<RnnTrialResult> Leaderboard => Trials
        .Where(t => t.Status == RnnTrialStatus.Completed && !double.IsNaN(t.Metric))
        .OrderByDescending(t => t.Metric).ThenBy(t => t.BestEpochs).ThenBy(t => t.Id).ToList();

    /// <summary>Writes the history as indented JSON (overwriting the file).</summary>
    public void Save(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        // Write then move, so a reader never sees half a file while the experiment rewrites it.
        string temporary = path + ".tmp";
        File.WriteAllText(temporary, JsonSerializer.Serialize(this, Json), new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
        File.Move(temporary, path, overwrite: true);
    }

    /// <summary>Reads a history written by <see cref="Save"/>.</summary>
    public static RnnExperimentHistory Load(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var history = JsonSerializer.Deserialize<RnnExperimentHistory>(File.ReadAllText(path, Encoding.UTF8), Json)
            ?? throw new InvalidDataException($"RnnExperimentHistory: '{Path.GetFileName(path)}' holds no history.");
        if (history.Version != 1)
            throw new InvalidDataException($"RnnExperimentHistory: '{Path.GetFileName(path)}' has format version {history.Version}; this package reads version 1.");
        return history;
    }

    /// <summary>The leaderboard as a fixed-width text table (the top <paramref name="top"/> rows, then the stopped and failed counts).</summary>
    public string FormatLeaderboard(int top = 10)
    {
        var board = Leaderboard;
        var names = Trials.SelectMany(t => t.Options.Keys).Distinct().ToList();
        var header = new List<string> { "rank", "trial", Metric.ToString(), "epochs", "seconds", "stopped" };
        header.AddRange(names);
        var rows = new List<string[]> { header.ToArray() };
        foreach (var (t, rank) in board.Take(top).Select((t, i) => (t, i + 1)))
        {
            var row = new List<string>
            {
                rank.ToString(CultureInfo.InvariantCulture),
                t.Id.ToString(CultureInfo.InvariantCulture) + (t.IsDefault ? "*" : ""),
                t.Metric.ToString("F4", CultureInfo.InvariantCulture),
                t.BestEpochs == t.EpochsRun ? t.EpochsRun.ToString(CultureInfo.InvariantCulture) : $"{t.BestEpochs}/{t.EpochsRun}",
                t.Seconds.ToString("F1", CultureInfo.InvariantCulture),
                t.StoppedEarly ? "yes" : "no",
            };
            row.AddRange(names.Select(n => t.Options.TryGetValue(n, out var v) ? v : ""));
            rows.Add(row.ToArray());
        }
        var widths = Enumerable.Range(0, header.Count).Select(c => rows.Max(r => r[c].Length)).ToArray();
        var text = new StringBuilder();
        foreach (var row in rows)
            text.AppendLine(string.Join("  ", row.Select((cell, c) => cell.PadRight(widths[c]))).TrimEnd());
        int stopped = board.Count(t => t.StoppedEarly), failed = Trials.Count(t => t.Status != RnnTrialStatus.Completed);
        text.AppendLine(string.Create(CultureInfo.InvariantCulture,
            $"{Trials.Count} trials in {Seconds:F1} s: {board.Count} scored, {stopped} stopped early by successive halving, {failed} cancelled or failed; * = default options."));
        return text.ToString();
    }
}
