using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using Microsoft.ML.Data;
using Microsoft.ML.Rnn.MLNet;
using Microsoft.ML.Runtime;

namespace Microsoft.ML.Rnn.Experiments;

/// <summary>
/// An AutoML-style experiment over one recurrent component: a <see cref="SearchSpace"/> of its options, a tuner
/// (the default options first, then Halton quasi-random points, then TPE proposals), asynchronous successive halving
/// over epochs (<see cref="SuccessiveHalvingSchedule"/>) that continues promising trials from where they stopped,
/// holdout or k-fold scoring with the task's ML.NET metric, a wall-clock budget, a trial limit and cancellation.
/// Create one from <c>mlContext.Transforms.Rnn.Create...Experiment</c>, adjust <see cref="SearchSpace"/> and
/// <see cref="Settings"/>, then call <see cref="Execute(IDataView, IProgress{RnnTrialResult}?, CancellationToken)"/>.
/// </summary>
public abstract class RnnExperiment
{
    private readonly IHostEnvironment _env;

    internal RnnExperiment(IHostEnvironment env, string task, RnnExperimentSettings? settings, RnnSearchSpace searchSpace)
    {
        ArgumentNullException.ThrowIfNull(env);
        _env = env;
        Task = task;
        Settings = settings ?? new RnnExperimentSettings();
        SearchSpace = searchSpace;
    }

    /// <summary>The experiment kind, e.g. "SequenceClassification".</summary>
    public string Task { get; }

    /// <summary>Budget, evaluation and scheduler settings (read when <see cref="Execute(IDataView, IProgress{RnnTrialResult}?, CancellationToken)"/> starts).</summary>
    public RnnExperimentSettings Settings { get; }

    /// <summary>The searched options and their ranges (read when <see cref="Execute(IDataView, IProgress{RnnTrialResult}?, CancellationToken)"/> starts).</summary>
    public RnnSearchSpace SearchSpace { get; }

    /// <summary>The component options every trial starts from; the default trial uses them unchanged.</summary>
    internal abstract RnnOptionsBase BaseOptions { get; }

    /// <summary>Checks the input schema and returns the metric to maximise for <paramref name="requested"/>.</summary>
    internal abstract RnnExperimentMetric ResolveMetric(DataViewSchema schema, RnnExperimentMetric requested);

    /// <summary>Values of parameters the task handles itself (not fields of <see cref="BaseOptions"/>), or null when the name is not one.</summary>
    internal virtual object? TaskBaseValue(string name) => null;

    /// <summary>
    /// Fits the task's pipeline with <paramref name="options"/> and the task-level <paramref name="values"/>, continuing
    /// the component's run recorded in <paramref name="checkpoint"/> when given.
    /// </summary>
    internal abstract ITransformer Fit(IHostEnvironment env, RnnOptionsBase options, IReadOnlyDictionary<string, object> values, IDataView train,
        TrainingCheckpoint? checkpoint);

    /// <summary>Scores <paramref name="model"/> on <paramref name="test"/> (higher is better).</summary>
    internal abstract double Evaluate(IHostEnvironment env, ITransformer model, IDataView test, RnnExperimentMetric metric);

    /// <summary>Runs the experiment on <paramref name="data"/> and returns the best pipeline and the history.</summary>
    /// <param name="data">All the labeled data; the experiment splits it (holdout or folds) with <see cref="RnnExperimentSettings.Seed"/>.</param>
    /// <param name="progress">Receives a snapshot of a trial after each of its runs (also written to the MLContext log).</param>
    /// <param name="cancellationToken">Ends the experiment within one mini-batch; the best trial so far is returned
    /// (<see cref="OperationCanceledException"/> when none finished). <c>mlContext.CancelExecution()</c> does the same.</param>
    /// <exception cref="TimeoutException">No trial finished within <see cref="RnnExperimentSettings.MaxExperimentTime"/>.</exception>
    public RnnExperimentResult Execute(IDataView data, IProgress<RnnTrialResult>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(data);
        return ExecuteCore(data, null, progress, cancellationToken);
    }

    /// <summary>Runs the experiment training on <paramref name="trainData"/> and scoring every trial on
    /// <paramref name="validationData"/> (no split, no folds; <see cref="RnnExperimentSettings.HoldoutFraction"/> and
    /// <see cref="RnnExperimentSettings.CrossValidationFolds"/> are ignored).</summary>
    /// <param name="trainData">Labeled training rows.</param>
    /// <param name="validationData">Labeled rows that score the trials (same schema).</param>
    /// <param name="progress">Receives a snapshot of a trial after each of its runs.</param>
    /// <param name="cancellationToken">Ends the experiment within one mini-batch; the best trial so far is returned.</param>
    public RnnExperimentResult Execute(IDataView trainData, IDataView validationData, IProgress<RnnTrialResult>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(trainData);
        ArgumentNullException.ThrowIfNull(validationData);
        return ExecuteCore(trainData, validationData, progress, cancellationToken);
    }

    private RnnExperimentResult ExecuteCore(IDataView data, IDataView? validationData, IProgress<RnnTrialResult>? progress,
        CancellationToken cancellationToken)
    {
        var settings = Settings;
        settings.Validate();
        var clock = Stopwatch.StartNew();
        var host = _env.Register("RnnExperiment");
        using var ch = host.Start(Task + "Experiment");

        var metric = ResolveMetric(data.Schema, settings.Metric);
        var space = PrepareSpace(data.Schema);
        int maxEpochs = settings.MaxEpochs ?? BaseOptions.MaxEpochs;
        var schedule = new SuccessiveHalvingSchedule(Math.Min(settings.MinEpochs, maxEpochs), maxEpochs, settings.ReductionFactor);
        var history = new RnnExperimentHistory
        {
            Task = Task, Metric = metric, Seed = settings.Seed, RungEpochs = schedule.RungEpochs.ToArray(),
            SearchSpace = space.Parameters.Select(p => $"{p.Key} {p.Value}").ToList(),
        };
        ch.Info($"{Task} experiment: {metric}, rungs of {string.Join("/", schedule.RungEpochs)} epochs (η = {schedule.ReductionFactor}), " +
                $"at most {settings.MaxTrials} trials in {settings.MaxExperimentTime.TotalSeconds:F0} s; search space: {space}.");

        var operations = new DataOperationsCatalog(host);
        var cached = operations.Cache(data);
        var folds = validationData is not null
            ? new[] { (cached, operations.Cache(validationData)) }
            : settings.CrossValidationFolds >= 2
            ? operations.CrossValidationSplit(cached, settings.CrossValidationFolds, seed: settings.Seed).Select(f => (f.TrainSet, f.TestSet)).ToArray()
            : new[] { Split(operations.TrainTestSplit(cached, settings.HoldoutFraction, seed: settings.Seed)) };

        var run = new Run(this, host, ch, space, schedule, metric, folds, history, progress, clock, cancellationToken);
        try
        {
            run.Loop();
        }
        catch
        {
            run.DisposeBest();
            throw;
        }
        history.Seconds = clock.Elapsed.TotalSeconds;
        var best = history.Best;
        if (best is null)
        {
            if (cancellationToken.IsCancellationRequested || IsCanceled(_env))
                throw new OperationCanceledException($"{Task} experiment: cancelled before any trial finished.");
            var failure = history.Trials.FirstOrDefault(t => t.Status == RnnTrialStatus.Failed);
            if (failure is not null)
                throw new InvalidOperationException($"{Task} experiment: no trial finished; trial {failure.Id} failed with: {failure.Error}");
            throw new TimeoutException($"{Task} experiment: no trial finished within MaxExperimentTime ({settings.MaxExperimentTime.TotalSeconds:F1} s); raise it or lower MaxEpochs.");
        }

        ITransformer model;
        if (folds.Length == 1)
        {
            model = run.BestModel!;
        }
        else
        {
            // With folds every trial's models were per fold; the chosen configuration is refitted on all the data.
            ch.Info($"{Task} experiment: refitting trial {best.Id} on all the data for {best.BestEpochs} epochs.");
            model = Fit(host, run.OptionsFor(run.ValuesOf(best.Id), best.BestEpochs), run.ValuesOf(best.Id), cached, checkpoint: null);
        }
        if (settings.HistoryFile is not null) history.Save(settings.HistoryFile);
        ch.Info($"{Task} experiment: best is trial {best.Id} with {metric} {best.Metric:F4} after {best.BestEpochs} epochs; " +
                $"{history.Trials.Count} trials in {history.Seconds:F1} s.");
        return new RnnExperimentResult(model, best.Snapshot(), history);
    }

    private static (IDataView, IDataView) Split(DataOperationsCatalog.TrainTestData split) => (split.TrainSet, split.TestSet);

    /// <summary>A snapshot of <see cref="SearchSpace"/> without dimensions that cannot matter for this data (embedding size for Single input).</summary>
    private RnnSearchSpace PrepareSpace(DataViewSchema schema)
    {
        var space = SearchSpace.Clone();
        if (space.Count > 25)
            throw new ArgumentException($"{Task} experiment: the search space has {space.Count} dimensions; at most 25 are supported.", nameof(SearchSpace));
        var features = schema.GetColumnOrNull(BaseOptions.FeatureColumnName);
        if (features is { } column && column.Type.GetItemType() is not KeyDataViewType)
            space.Remove(nameof(RnnOptionsBase.EmbeddingSize));
        foreach (var name in space.Names)
        {
            if (TaskBaseValue(name) is null && OptionField(name) is null)
                throw new ArgumentException($"{Task} experiment: the search space names '{name}', which is neither an option of " +
                                            $"{BaseOptions.GetType().DeclaringType?.Name}.Options nor a parameter of this experiment.", nameof(SearchSpace));
        }
        return space;
    }

    private FieldInfo? OptionField(string name)
    {
        var field = BaseOptions.GetType().GetField(name, BindingFlags.Public | BindingFlags.Instance);
        return field is not null && !field.IsInitOnly ? field : null;
    }

    /// <summary>The value a parameter has in the base options (what the default trial uses).</summary>
    private object? BaseValue(string name) => TaskBaseValue(name) ?? OptionField(name)?.GetValue(BaseOptions);

    /// <summary>A trial's component options: the base options with the option-field values applied.</summary>
    private RnnOptionsBase ApplyOptions(IReadOnlyDictionary<string, object> values, int epochs, int seed)
    {
        var options = BaseOptions.Clone();
        foreach (var (name, value) in values)
        {
            if (OptionField(name) is not { } field) continue;
            var type = Nullable.GetUnderlyingType(field.FieldType) ?? field.FieldType;
            object converted = type.IsEnum ? Enum.ToObject(type, value) : Convert.ChangeType(value, type, CultureInfo.InvariantCulture);
            field.SetValue(options, converted);
        }
        options.MaxEpochs = epochs;
        options.Seed ??= seed;
        options.Progress = null;
        return options;
    }

    private static bool IsCanceled(IHostEnvironment env) => env is ICancelable { IsCanceled: true };

    /// <summary>Disposes the native parts of a fitted pipeline (components and nested chains).</summary>
    internal static void DisposeModel(ITransformer? model)
    {
        if (model is IEnumerable<ITransformer> chain)
            foreach (var part in chain) DisposeModel(part);
        (model as IDisposable)?.Dispose();
    }

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
