using System.Diagnostics;
using System.Text.RegularExpressions;
using Microsoft.ML.Rnn.Experiments;
using Xunit;

namespace Microsoft.ML.Rnn.Tests.Experiments;

/// <summary>
/// The classification experiment end to end on digits: the defaults are a floor on the same split, successive halving
/// stops trials and continues (not refits) promoted ones, the model saves and reloads, the history round-trips, the
/// budget and cancellation are honoured, a seed reproduces the run.
/// </summary>
public sealed class SequenceClassificationExperimentTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("rnn-experiment-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    /// <summary>A synchronous progress sink (Progress&lt;T&gt; posts to the thread pool).</summary>
    private sealed class Collect(Action<RnnTrialResult>? onReport = null) : IProgress<RnnTrialResult>
    {
        public List<RnnTrialResult> Reports { get; } = new();

        public void Report(RnnTrialResult value)
        {
            Reports.Add(value);
            onReport?.Invoke(value);
        }
    }

    private static SequenceClassificationExperiment Experiment(MLContext ml, RnnExperimentSettings settings)
    {
        var experiment = ml.Transforms.Rnn.CreateSequenceClassificationExperiment(ExperimentData.DigitOptions(), settings);
        experiment.SearchSpace.HiddenSize = SearchParameter.Int(8, 32, logScale: true);
        experiment.SearchSpace.NumberOfLayers = null;
        return experiment;
    }

    [Fact]
    public void BestIsAtLeastTheDefaults_StoppedTrialsRanFewerEpochs_ModelAndHistoryRoundTrip()
    {
        var ml = new MLContext(1);
        var log = new List<string>();
        ml.Log += (_, e) => log.Add(e.Message);
        var data = ExperimentData.Digits(ml, 500);
        string historyPath = Path.Combine(_directory, "history.json");
        var progress = new Collect();
        var result = Experiment(ml, new RnnExperimentSettings { MaxTrials = 8, Seed = 2, InitialRandomTrials = 4, HistoryFile = historyPath })
            .Execute(data, progress);

        // The same split and the same seed, trained outside the experiment with the base options.
        var split = ml.Data.TrainTestSplit(data, 0.2, seed: 2);
        var options = ExperimentData.DigitOptions();
        options.Seed = 2;
        using var plain = ml.Transforms.Rnn.SequenceClassifier(options).Fit(split.TrainSet);
        double defaults = ml.MulticlassClassification.Evaluate(plain.Transform(split.TestSet)).MacroAccuracy;
        var trials = result.History.Trials;
        Assert.True(trials[0].IsDefault);
        Assert.Equal(defaults, trials[0].Metric, 9);
        Assert.True(result.BestTrial.Metric >= defaults, $"best {result.BestTrial.Metric} < defaults {defaults}");
        Assert.Equal(result.BestTrial.Metric, ml.MulticlassClassification.Evaluate(result.Model.Transform(split.TestSet)).MacroAccuracy, 9);

        // Successive halving: rungs of 1 and 4 epochs; trials left at rung 0 ran 1 epoch. Epochs logged per trial run show
        // that a promoted trial trained only the missing 3 epochs (resumed), not 4 again (refit).
        Assert.Equal(new[] { 1, 4 }, result.History.RungEpochs);
        var epochsPerRun = new List<(int Trial, int Epochs)>();
        int epochs = 0;
        foreach (var line in log)
        {
            if (Regex.IsMatch(line, @"RnnSequenceClassifier: epoch \d+/\d+:")) epochs++;
            var run = Regex.Match(line, @"\] Trial (\d+) \(");
            if (run.Success)
            {
                epochsPerRun.Add((int.Parse(run.Groups[1].Value), epochs));
                epochs = 0;
            }
        }
        var stopped = trials.Where(t => t.StoppedEarly).ToList();
        var promoted = trials.Where(t => !t.IsDefault && !t.StoppedEarly).ToList();
        Assert.NotEmpty(stopped);
        Assert.NotEmpty(promoted);
        foreach (var t in trials)
            Assert.Equal(t.EpochsRun, epochsPerRun.Where(r => r.Trial == t.Id).Sum(r => r.Epochs));
        Assert.All(stopped, t => Assert.Equal(1, t.EpochsRun));
        Assert.All(promoted, t => Assert.Equal(new[] { 1, 4 }, t.Rungs.Select(r => r.Epochs)));
        Assert.All(promoted, t => Assert.Equal(new[] { 1, 3 }, epochsPerRun.Where(r => r.Trial == t.Id).Select(r => r.Epochs)));
        Assert.Equal(trials.Sum(t => t.Rungs.Count), progress.Reports.Count);

        // The best pipeline saves and reloads like any ML.NET model.
        string modelPath = Path.Combine(_directory, "best.zip");
        ml.Model.Save(result.Model, data.Schema, modelPath);
        var loaded = ml.Model.Load(modelPath, out _);
        Assert.Equal(result.BestTrial.Metric, ml.MulticlassClassification.Evaluate(loaded.Transform(split.TestSet)).MacroAccuracy, 9);
        (loaded as IDisposable)?.Dispose();

        // The history file holds every trial and reloads to the same leaderboard.
        var reloaded = RnnExperimentHistory.Load(historyPath);
        Assert.Equal(result.History.FormatLeaderboard(), reloaded.FormatLeaderboard());
        Assert.Equal(trials.Select(t => (t.Id, t.Metric, t.EpochsRun, t.StoppedEarly, t.Source)),
            reloaded.Trials.Select(t => (t.Id, t.Metric, t.EpochsRun, t.StoppedEarly, t.Source)));
        Assert.Equal(trials.Select(t => string.Join(";", t.Options)), reloaded.Trials.Select(t => string.Join(";", t.Options)));
        Assert.Equal(trials.SelectMany(t => t.Rungs), reloaded.Trials.SelectMany(t => t.Rungs));
        Assert.Equal(result.BestTrial.Id, reloaded.Best!.Id);
        ((IDisposable)result.Model).Dispose();
    }

    [Fact]
    public void SameSeedGivesTheSameTrials()
    {
        RnnExperimentHistory Run()
        {
            var ml = new MLContext(5);
            var result = Experiment(ml, new RnnExperimentSettings { MaxTrials = 5, Seed = 7, InitialRandomTrials = 2 })
                .Execute(ExperimentData.Digits(ml, 240));
            ((IDisposable)result.Model).Dispose();
            return result.History;
        }

        var first = Run();
        var second = Run();
        Assert.Equal(first.Trials.Select(t => string.Join(";", t.Options) + t.Source), second.Trials.Select(t => string.Join(";", t.Options) + t.Source));
        Assert.Equal(first.Trials.SelectMany(t => t.Rungs.Select(r => (r.Rung, r.Epochs, r.Metric))),
            second.Trials.SelectMany(t => t.Rungs.Select(r => (r.Rung, r.Epochs, r.Metric))));
        Assert.Contains(first.Trials, t => t.Source == "tpe");
    }

    [Fact]
    public void TimeBudgetIsRespected()
    {
        var ml = new MLContext(1);
        var data = ExperimentData.Digits(ml, 300);
        var budget = TimeSpan.FromSeconds(2.5);
        var watch = Stopwatch.StartNew();
        var result = Experiment(ml, new RnnExperimentSettings { MaxTrials = 1000, MaxExperimentTime = budget, Seed = 1 }).Execute(data);
        watch.Stop();
        ((IDisposable)result.Model).Dispose();
        Assert.True(watch.Elapsed < budget + TimeSpan.FromSeconds(2.5), $"took {watch.Elapsed.TotalSeconds:F1} s for a {budget.TotalSeconds} s budget");
        Assert.True(result.History.Trials.Count > 1);
        Assert.True(result.History.Trials.Count < 1000);
    }

    [Fact]
    public void TooSmallABudgetThrows()
    {
        var ml = new MLContext(1);
        var data = ExperimentData.Digits(ml, 300);
        // 200 epochs take seconds, so the 1 ms budget ends the first trial even when the budget's timer fires late
        // (with 4 epochs a trial once finished in 47 ms, before a delayed timer on a busy machine).
        var experiment = ml.Transforms.Rnn.CreateSequenceClassificationExperiment(ExperimentData.DigitOptions(maxEpochs: 200),
            new RnnExperimentSettings { MaxExperimentTime = TimeSpan.FromMilliseconds(1) });
        var e = Assert.Throws<TimeoutException>(() => experiment.Execute(data));
        Assert.Equal("SequenceClassification experiment: no trial finished within MaxExperimentTime (0.0 s); raise it or lower MaxEpochs.", e.Message);
    }

    [Fact]
    public void CancellationEndsTheExperimentWithTheBestSoFar()
    {
        var ml = new MLContext(1);
        var data = ExperimentData.Digits(ml, 240);
        using var source = new CancellationTokenSource();
        var progress = new Collect(r => { if (r.Id == 2) source.Cancel(); });
        var result = Experiment(ml, new RnnExperimentSettings { MaxTrials = 50, Seed = 3 }).Execute(data, progress, source.Token);
        ((IDisposable)result.Model).Dispose();
        Assert.Equal(4, result.History.Trials.Count);
        Assert.Equal(RnnTrialStatus.Cancelled, result.History.Trials[3].Status);
        Assert.True(result.BestTrial.Id <= 2);
    }

    [Fact]
    public void MLContextCancelExecutionEndsTheExperiment()
    {
        var ml = new MLContext(1);
        var data = ExperimentData.Digits(ml, 240);
        var progress = new Collect(r => { if (r.Id == 1) ml.CancelExecution(); });
        var result = Experiment(ml, new RnnExperimentSettings { MaxTrials = 50, Seed = 3 }).Execute(data, progress);
        ((IDisposable)result.Model).Dispose();
        Assert.Equal(3, result.History.Trials.Count);
        Assert.Equal(RnnTrialStatus.Cancelled, result.History.Trials[2].Status);
    }

    [Fact]
    public void CrossValidationRefitsTheBestOnAllTheData()
    {
        var ml = new MLContext(1);
        var data = ExperimentData.Digits(ml, 240);
        var result = Experiment(ml, new RnnExperimentSettings { MaxTrials = 3, Seed = 3, CrossValidationFolds = 2 }).Execute(data);
        var model = Assert.IsType<RnnSequenceClassifierTransformer>(result.Model);
        Assert.Equal(10, model.ClassCount);
        Assert.All(result.History.Trials, t => Assert.InRange(t.Metric, 0, 1));
        model.Dispose();
    }

    private sealed class BinaryRow
    {
        [Microsoft.ML.Data.VectorType(64)] public float[] Features { get; set; } = Array.Empty<float>();
        public bool Label { get; set; }
    }

    private sealed class DigitFeatures
    {
        public float[] Features { get; set; } = Array.Empty<float>();
        public float Digit { get; set; }
    }

    [Fact]
    public void BooleanLabelIsScoredWithBinaryMetrics()
    {
        var ml = new MLContext(1);
        var rows = ml.Data.CreateEnumerable<DigitFeatures>(ExperimentData.Digits(ml, 240), reuseRowObject: false)
            .Select(r => new BinaryRow { Features = r.Features, Label = r.Digit < 5 }).ToList();
        var data = ml.Data.LoadFromEnumerable(rows);
        var options = ExperimentData.DigitOptions(3);
        var result = ml.Transforms.Rnn.CreateSequenceClassificationExperiment(options, new RnnExperimentSettings { MaxTrials = 3, Seed = 4 })
            .Execute(data);
        Assert.Equal(RnnExperimentMetric.AreaUnderRocCurve, result.History.Metric);
        var test = ml.Data.TrainTestSplit(data, 0.2, seed: 4).TestSet;
        Assert.Equal(result.BestTrial.Metric, ml.BinaryClassification.Evaluate(result.Model.Transform(test)).AreaUnderRocCurve, 9);
        Assert.True(result.BestTrial.Metric >= result.History.Trials[0].Metric);
        ((IDisposable)result.Model).Dispose();
    }

    [Fact]
    public void AGivenValidationSetScoresTheTrials()
    {
        var ml = new MLContext(1);
        var data = ExperimentData.Digits(ml, 300);
        var train = ml.Data.TakeRows(data, 200);
        var validation = ml.Data.SkipRows(data, 200);
        var result = Experiment(ml, new RnnExperimentSettings { MaxTrials = 3, Seed = 2, MaxExperimentTime = TimeSpan.FromDays(400) })
            .Execute(train, validation);
        double scored = ml.MulticlassClassification.Evaluate(result.Model.Transform(validation)).MacroAccuracy;
        Assert.Equal(result.BestTrial.Metric, scored, 9);
        ((IDisposable)result.Model).Dispose();
    }

    [Fact]
    public void UnknownSearchParameterAndWrongMetricAreRejected()
    {
        var ml = new MLContext(1);
        var data = ExperimentData.Digits(ml, 40);
        var experiment = Experiment(ml, new RnnExperimentSettings());
        experiment.SearchSpace.With("HiddenSise", SearchParameter.Int(1, 2));
        var e = Assert.Throws<ArgumentException>(() => experiment.Execute(data));
        Assert.StartsWith("SequenceClassification experiment: the search space names 'HiddenSise', which is neither an option of RnnSequenceClassifier.Options nor a parameter of this experiment.", e.Message);

        var wrong = Experiment(ml, new RnnExperimentSettings { Metric = RnnExperimentMetric.AreaUnderRocCurve });
        e = Assert.Throws<ArgumentException>(() => wrong.Execute(data));
        Assert.StartsWith("SequenceClassificationExperiment: metric AreaUnderRocCurve does not apply to a key label; use MacroAccuracy or MicroAccuracy.", e.Message);
    }

    [Fact]
    public void CellKindsAreSearchable()
    {
        var ml = new MLContext(1);
        var data = ExperimentData.Digits(ml, 160);
        var options = ExperimentData.DigitOptions(2);
        options.Cell = RnnCellKind.Lstm();
        var experiment = ml.Transforms.Rnn.CreateSequenceClassificationExperiment(options, new RnnExperimentSettings { MaxTrials = 4, Seed = 1, InitialRandomTrials = 4 });
        experiment.SearchSpace.Cell = SearchParameter.Choice(RnnCellKind.Lstm(), RnnCellKind.LayerNormLstm(), RnnCellKind.Gru(GruResetGate.BeforeRecurrentMatmul));
        var result = experiment.Execute(data);
        var tried = result.History.Trials.Select(t => t.Options["Cell"]).ToHashSet();
        Assert.Contains("lstm", tried);
        Assert.True(tried.Count >= 2, $"cells tried: {string.Join(", ", tried)}");
        Assert.All(tried, cell => Assert.Contains(cell, new[] { "lstm", "layer_norm_lstm", "gru(reset_gate=BeforeRecurrentMatmul)" }));
        (result.Model as IDisposable)?.Dispose();
    }
}
