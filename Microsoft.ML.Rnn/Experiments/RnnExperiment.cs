using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using Microsoft.ML.Data;
using Microsoft.ML.Rnn.Training;
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
public abstract partial class RnnExperiment
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

    /// <summary>
    /// <paramref name="requested"/> when it is one of <paramref name="allowed"/>, the first of them for Auto; any other
    /// fails naming the label (<paramref name="label"/>, e.g. "a key label") and the metrics that apply.
    /// </summary>
    private protected RnnExperimentMetric ChooseMetric(RnnExperimentMetric requested, string label, params RnnExperimentMetric[] allowed)
    {
        if (requested == RnnExperimentMetric.Auto) return allowed[0];
        if (!allowed.Contains(requested))
            throw new ArgumentException($"{GetType().Name}: metric {requested} does not apply to {label}; use {string.Join(" or ", allowed)}.",
                nameof(RnnExperimentSettings.Metric));
        return requested;
    }

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
}
