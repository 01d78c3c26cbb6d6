using Microsoft.ML.Rnn;
using System.Globalization;

namespace Examples.Shared;

/// <summary>
/// Shows training as it happens: on a terminal, one live line redrawn after every epoch (a bar, epoch, loss,
/// validation metric, elapsed time and time left); when the output is redirected (CI, a log file), one plain line per
/// epoch instead. Keeps the reports of the latest run in <see cref="History"/> for <see cref="LearningCurves"/> (a
/// report of epoch 0 starts a new run, so one instance can follow an estimator fitted several times; a classifier trained
/// as an ensemble reports its networks in turn, so the history is the last network's).
/// Pass it as the components' <c>Progress</c> option; call <see cref="Done"/> once <c>Fit</c> returns.
/// </summary>
public sealed class TrainingProgress : IProgress<EpochProgress>
{
    private const int BarWidth = 24;
    private readonly List<EpochProgress> _history = [];
    private readonly bool _live;
    private readonly TextWriter _out;
    private int _lastLineLength;
    private bool _summarized = true;

    /// <summary>Creates a progress display.</summary>
    /// <param name="name">What is training, e.g. "BiLSTM"; starts every line.</param>
    /// <param name="metricName">What the components' validation metric is, e.g. "val acc".</param>
    /// <param name="output">Where to write (default: the console).</param>
    /// <param name="live">Redraw one line in place; default: only when the output is a terminal.</param>
    /// <param name="unit">What one report stands for: "epoch" for the components; e.g. "step" for a hand-written loop
    /// that reports <see cref="EpochProgress"/> records itself.</param>
    public TrainingProgress(string name, string metricName = "val", TextWriter? output = null, bool? live = null, string unit = "epoch")
    {
        Name = name;
        MetricName = metricName;
        Unit = unit;
        _out = output ?? Console.Out;
        _live = live ?? (output is null && !Console.IsOutputRedirected);
    }

    /// <summary>What is training.</summary>
    public string Name { get; }

    /// <summary>Label of the validation metric.</summary>
    public string MetricName { get; }

    /// <summary>What one report stands for ("epoch", "step", ...).</summary>
    public string Unit { get; }

    /// <summary>Every epoch of the latest run, in order.</summary>
    public IReadOnlyList<EpochProgress> History => _history;

    /// <summary>The epoch with the best monitored metric (the weights the model keeps), or null before any report.</summary>
    public EpochProgress? Best => _history.LastOrDefault(p => p.IsBest);

    /// <inheritdoc/>
    public void Report(EpochProgress value)
    {
        if (value.Epoch == 0)
            _history.Clear();
        _history.Add(value);
        _summarized = false;
        string line = Format(value);
        if (_live)
        {
            // A line wider than the terminal wraps, and "\r" would then redraw only its last part: cut it.
            if (TerminalWidth() is int width && line.Length >= width)
                line = line[..(width - 1)];
            // Pad over the previous, possibly longer, line; stay on the line until Done.
            _out.Write("\r" + line.PadRight(_lastLineLength));
            _lastLineLength = line.Length;
        }
        else
        {
            _out.WriteLine(line);
        }
        _out.Flush();
    }

    /// <summary>Ends the live line and prints where training stopped and which epoch's weights were kept (once per run).</summary>
    public void Done()
    {
        if (_live && _lastLineLength > 0)
            _out.WriteLine();
        if (_history.Count > 0 && !_summarized)
        {
            var last = _history[^1];
            var best = Best;
            string stop = last.Epoch + 1 < last.MaxEpochs ? $"early stopping after {last.Epoch + 1}/{last.MaxEpochs} {Unit}s" : $"{last.MaxEpochs} {Unit}s";
            string kept = best is null ? "" : $", kept {Unit} {best.Epoch + 1}";
            _out.WriteLine($"  {Name}: {stop} in {Duration(last.Elapsed)}{kept}");
        }
        _out.Flush();
        _lastLineLength = 0;
        _summarized = true;
    }

    /// <summary>The text of one report (also used for the plain, redirected form).</summary>
    public string Format(EpochProgress p)
    {
        int width = p.MaxEpochs.ToString(CultureInfo.InvariantCulture).Length;
        string epoch = (p.Epoch + 1).ToString(CultureInfo.InvariantCulture).PadLeft(width);
        string metric = p.ValidationMetric is double v ? string.Create(CultureInfo.InvariantCulture, $"  {MetricName} {v:F4}") : "";
        string text = string.Create(CultureInfo.InvariantCulture,
            $"  {Name}{(p.Models > 1 ? $" network {p.Model + 1}/{p.Models}" : "")} {Unit} {epoch}/{p.MaxEpochs}  loss {p.TrainLoss:F4}{metric}{(p.IsBest ? " *" : "  ")}  {Duration(p.Elapsed)} elapsed, ~{Duration(p.EstimatedRemaining)} left");
        if (!_live)
            return text;
        int filled = (int)Math.Round(BarWidth * (p.Epoch + 1) / (double)p.MaxEpochs);
        return "[" + new string('#', filled) + new string('.', BarWidth - filled) + "]" + text;
    }

    private int? TerminalWidth()
    {
        if (!ReferenceEquals(_out, Console.Out))
            return null;
        try
        {
            return Console.WindowWidth > 10 ? Console.WindowWidth : null;
        }
        catch (IOException)
        {
            return null;
        }
    }

    private static string Duration(TimeSpan t) => t.TotalHours >= 1 ? $"{(int)t.TotalHours}h{t.Minutes:D2}m"
        : t.TotalMinutes >= 1 ? $"{(int)t.TotalMinutes}m{t.Seconds:D2}s"
        : string.Create(CultureInfo.InvariantCulture, $"{t.TotalSeconds:F1}s");
}
