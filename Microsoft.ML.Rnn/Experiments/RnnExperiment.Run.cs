using System.Diagnostics;
using System.Globalization;
using Microsoft.ML.Rnn.Training;
using Microsoft.ML.Runtime;

namespace Microsoft.ML.Rnn.Experiments;

// One experiment run: the trials, the tuner's proposals, successive halving's rungs, the best model and the history.
public abstract partial class RnnExperiment
{
    /// <summary>The state of one <see cref="Execute(IDataView, IProgress{RnnTrialResult}?, CancellationToken)"/> call.</summary>
    private sealed class Run(RnnExperiment experiment, IHost host, IChannel ch, RnnSearchSpace space, SuccessiveHalvingSchedule schedule,
        RnnExperimentMetric metric, (IDataView Train, IDataView Test)[] folds, RnnExperimentHistory history,
        IProgress<RnnTrialResult>? progress, Stopwatch clock, CancellationToken token)
    {
        private sealed class Trial
        {
            public required RnnTrialResult Result { get; init; }
            public required IReadOnlyDictionary<string, object> Values { get; init; }
            public TrainingCheckpoint[]? Checkpoints { get; init; }
            public bool PointIsExact { get; init; } = true;
            public Dictionary<int, double> RungMetrics { get; } = new();
            public int HighestRung { get; set; } = -1;
        }

        private readonly List<Trial> _trials = new();
        private readonly RnnExperimentSettings _settings = experiment.Settings;
        private readonly HaltonSequence _halton = new(space.Count, experiment.Settings.Seed);
        private readonly TpeSampler _tpe = new(space, unchecked(experiment.Settings.Seed * 7 + 1));
        private (int Id, int Epochs, double Metric) _best = (-1, 0, double.NaN);
        private bool _stop;

        public ITransformer? BestModel { get; private set; }

        public IReadOnlyDictionary<string, object> ValuesOf(int id) => _trials[id].Values;

        public RnnOptionsBase OptionsFor(IReadOnlyDictionary<string, object> values, int epochs)
            => experiment.ApplyOptions(values, epochs, _settings.Seed);

        public void DisposeBest()
        {
            DisposeModel(BestModel);
            BestModel = null;
        }

        public void Loop()
        {
            // AutoML's habit: the component's defaults are the first trial, trained to the full budget in one run, so the
            // result is never worse than the defaults on the same split.
            RunJob(NewDefaultTrial(), schedule.TopRung);
            while (!_stop && !OutOfTime)
            {
                var promotion = schedule.NextPromotion(_trials
                    .Where(t => !t.Result.IsDefault && t.Result.Status == RnnTrialStatus.Completed)
                    .Select(t => (t.Result.Id, (IReadOnlyDictionary<int, double>)t.RungMetrics, t.HighestRung)));
                if (promotion is { } p) RunJob(_trials[p.Id], p.Rung);
                else if (_trials.Count < _settings.MaxTrials) RunJob(NewTrial(), 0);
                else break;
            }
            foreach (var t in _trials.Where(t => !t.Result.IsDefault && t.Result.Status == RnnTrialStatus.Completed))
                t.Result.StoppedEarly = t.HighestRung < schedule.TopRung;
            SaveHistory();
        }

        private bool OutOfTime => clock.Elapsed >= _settings.MaxExperimentTime;

        private Trial NewDefaultTrial()
        {
            var point = new double[space.Count];
            var options = new Dictionary<string, string>();
            bool exact = true;
            for (int d = 0; d < space.Count; d++)
            {
                var (name, parameter) = space.Parameters[d];
                var value = experiment.BaseValue(name);
                options[name] = value switch { null => "", string text => text, _ => parameter.Format(value) };
                try
                {
                    point[d] = value is null ? 0.5 : parameter.ToUnit(value);
                }
                catch (Exception e) when (e is ArgumentException or InvalidCastException or FormatException)
                {
                    // A default outside a choice has no place in the unit cube; the TPE does not learn from this trial.
                    point[d] = 0.5;
                    exact = false;
                }
            }
            return Add(new Dictionary<string, object>(), point, options, "default", exact, isDefault: true);
        }

        private Trial NewTrial()
        {
            int started = _trials.Count(t => !t.Result.IsDefault);
            string source;
            double[] point;
            if (started < _settings.InitialRandomTrials)
            {
                point = _halton.Next();
                source = "halton";
            }
            else
            {
                point = _tpe.Propose(Observations());
                source = "tpe";
            }
            var values = space.Decode(point);
            return Add(values, point, space.Format(values), source, exact: true, isDefault: false);
        }

        private Trial Add(IReadOnlyDictionary<string, object> values, double[] point, Dictionary<string, string> options, string source,
            bool exact, bool isDefault)
        {
            var result = new RnnTrialResult { Id = _trials.Count, IsDefault = isDefault, Options = options, Point = point, Source = source };
            var trial = new Trial
            {
                Result = result, Values = values, PointIsExact = exact,
                Checkpoints = isDefault ? null : folds.Select(_ => new TrainingCheckpoint()).ToArray(),
            };
            _trials.Add(trial);
            history.Trials.Add(result);
            return trial;
        }

        /// <summary>
        /// BOHB's rule: the TPE learns from the highest rung with enough scored trials (losses comparable there),
        /// falling back to rung 0; failed trials count as the worst points.
        /// </summary>
        private List<(double[] Point, double Loss)> Observations()
        {
            int needed = Math.Max(4, _settings.InitialRandomTrials / 2);
            for (int k = schedule.TopRung; k >= 0; k--)
            {
                var scored = _trials.Where(t => t.PointIsExact && t.RungMetrics.ContainsKey(k))
                    .Select(t => (t.Result.Point, -t.RungMetrics[k])).ToList();
                if (scored.Count >= needed || k == 0)
                {
                    if (k == 0)
                        scored.AddRange(_trials.Where(t => t.Result.Status == RnnTrialStatus.Failed).Select(t => (t.Result.Point, double.PositiveInfinity)));
                    return scored;
                }
            }
            return new();
        }

        private void RunJob(Trial trial, int rung)
        {
            var result = trial.Result;
            int epochs = schedule.RungEpochs[rung];
            var remaining = _settings.MaxExperimentTime - clock.Elapsed;
            if (remaining <= TimeSpan.Zero) { _stop = true; return; }
            var trialHost = host.Register($"Trial{result.Id}");
            var cancel = (ICancelable)trialHost;
            var watch = Stopwatch.StartNew();
            ITransformer? kept = null;
            try
            {
                // Timer accepts at most 2^32 - 2 ms (about 49 days); a longer budget needs no timer for one trial run.
                var due = remaining.TotalMilliseconds < uint.MaxValue - 1 ? remaining : Timeout.InfiniteTimeSpan;
                using var timer = new Timer(_ => cancel.CancelExecution(), null, due, Timeout.InfiniteTimeSpan);
                using var registration = token.Register(cancel.CancelExecution);
                double sum = 0;
                for (int f = 0; f < folds.Length; f++)
                {
                    var options = OptionsFor(trial.Values, epochs);
                    var model = experiment.Fit(trialHost, options, trial.Values, folds[f].Train, trial.Checkpoints?[f]);
                    try
                    {
                        sum += experiment.Evaluate(trialHost, model, folds[f].Test, metric);
                    }
                    catch
                    {
                        DisposeModel(model);
                        throw;
                    }
                    if (folds.Length == 1) kept = model;
                    else DisposeModel(model);
                }
                double score = sum / folds.Length;
                double seconds = watch.Elapsed.TotalSeconds;
                result.Rungs.Add(new RnnRungResult(rung, epochs, score, seconds));
                trial.RungMetrics[rung] = score;
                trial.HighestRung = rung;
                result.EpochsRun = epochs;
                result.Seconds += seconds;
                result.Status = RnnTrialStatus.Completed;
                if (double.IsNaN(result.Metric) || score > result.Metric)
                    (result.Metric, result.BestEpochs) = (score, epochs);
                if (kept is not null && IsBetter(score, epochs, result.Id))
                {
                    DisposeModel(BestModel);
                    BestModel = kept;
                    kept = null;
                    _best = (result.Id, epochs, score);
                }
                string line = string.Create(CultureInfo.InvariantCulture,
                    $"Trial {result.Id} ({result.Source}, rung {rung}, {epochs} epochs): {metric} {score:F4} in {seconds:F1} s; ");
                ch.Info(line + string.Join(", ", result.Options.Select(o => $"{o.Key}={o.Value}")));
            }
            catch (OperationCanceledException)
            {
                result.Seconds += watch.Elapsed.TotalSeconds;
                if (result.Rungs.Count == 0) result.Status = RnnTrialStatus.Cancelled;
                result.Interrupted = true;
                ch.Info($"Trial {result.Id}: cancelled ({(token.IsCancellationRequested ? "cancellation requested" : IsCanceled(host) ? "MLContext cancelled" : "time budget reached")}).");
                _stop = true;
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                result.Seconds += watch.Elapsed.TotalSeconds;
                if (result.Rungs.Count == 0) result.Status = RnnTrialStatus.Failed;
                // libtorch messages carry a native stack trace after the first line; the history keeps the first line.
                result.Error = e.Message.Split('\n', 2)[0].Trim();
                ch.Warning($"Trial {result.Id} failed: {e}");
                if (IsCanceled(host) || token.IsCancellationRequested) _stop = true;
            }
            finally
            {
                DisposeModel(kept);
            }
            progress?.Report(result.Snapshot());
            SaveHistory();
        }

        /// <summary>Same order as the leaderboard: higher metric, then fewer epochs, then lower id.</summary>
        private bool IsBetter(double score, int epochs, int id)
        {
            if (_best.Id < 0 || score > _best.Metric) return true;
            if (score < _best.Metric) return false;
            return epochs < _best.Epochs || (epochs == _best.Epochs && id < _best.Id);
        }

        private void SaveHistory()
        {
            history.Seconds = clock.Elapsed.TotalSeconds;
            if (_settings.HistoryFile is not null) history.Save(_settings.HistoryFile);
        }
    }
}
