// An AutoML-style experiment over the recurrent sequence classifier on handwritten digits (UCI, 8x8 pixels read as 8
// steps of 8). The experiment sees 80 % of the rows (it holds out 20 % of those to score trials); the other 20 % is a
// final test set it never sees. Prints each trial run, the leaderboard, and the test accuracy of the default options
// and of the best trial; saves the best pipeline as digits-experiment.zip and the history as digits-experiment.json.
// Usage: dotnet run -c Release --project examples/Experiment [-- seconds [maxTrials]]   (defaults: 120 s, 40 trials)
using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Rnn;
using Microsoft.ML.Rnn.Experiments;

double seconds = args.Length > 0 ? double.Parse(args[0], CultureInfo.InvariantCulture) : 120;
int maxTrials = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 40;

// One intra-op thread: the networks are small, and libtorch's spinning worker threads collapse on a shared machine.
TorchSharp.torch.set_num_threads(1);
var ml = new MLContext(seed: 1);
var raw = ml.Data.LoadFromTextFile<DigitRow>(Path.Combine(AppContext.BaseDirectory, "Data", "digits.csv"), separatorChar: ',', hasHeader: true);
var split = ml.Data.TrainTestSplit(raw, testFraction: 0.2, seed: 1);
var prepare = ml.Transforms.Conversion.MapValueToKey("Label", "Digit").Append(ml.Transforms.NormalizeMinMax("Features")).Fit(split.TrainSet);
var train = ml.Data.Cache(prepare.Transform(split.TrainSet));

// The base options: what the data needs (8 values per step) and the epoch budget of the last rung; the first trial
// trains exactly these.
var options = new RnnSequenceClassifier.Options { FeaturesPerStep = 8, MaxEpochs = 9, EarlyStoppingPatience = 3 };
var experiment = ml.Transforms.Rnn.CreateSequenceClassificationExperiment(options, new RnnExperimentSettings
{
    MaxExperimentTime = TimeSpan.FromSeconds(seconds),
    MaxTrials = maxTrials,
    Seed = 1,
    HistoryFile = "digits-experiment.json",
});
// Narrow one dimension and widen another; the rest keeps the defaults (RnnSearchSpace.CreateDefault()).
experiment.SearchSpace.HiddenSize = SearchParameter.Int(16, 96, logScale: true);
experiment.SearchSpace.LearningRate = SearchParameter.Float(1e-3, 5e-2, logScale: true);

Console.WriteLine($"search space: {experiment.SearchSpace}");
var result = experiment.Execute(train, new ConsoleProgress());

Console.WriteLine();
Console.WriteLine(result.History.FormatLeaderboard(top: 15));

var test = prepare.Transform(split.TestSet);
var defaults = ml.Transforms.Rnn.SequenceClassifier(new RnnSequenceClassifier.Options
{
    FeaturesPerStep = 8, MaxEpochs = 9, EarlyStoppingPatience = 3, Seed = 1,
}).Fit(ml.Data.TrainTestSplit(train, 0.2, seed: 1).TrainSet);
var defaultMetrics = ml.MulticlassClassification.Evaluate(defaults.Transform(test));
var bestMetrics = ml.MulticlassClassification.Evaluate(result.Model.Transform(test));
Console.WriteLine($"test set ({split.TestSet.GetRowCount() ?? ml.Data.CreateEnumerable<DigitRow>(split.TestSet, false).Count()} rows never seen by the experiment):");
Console.WriteLine($"  default options  macro accuracy {defaultMetrics.MacroAccuracy:F4}");
Console.WriteLine($"  best (trial {result.BestTrial.Id,2})  macro accuracy {bestMetrics.MacroAccuracy:F4}");

// The saved pipeline starts from the raw columns: preparation + the best recurrent model.
var pipeline = new TransformerChain<ITransformer>(prepare, result.Model);
ml.Model.Save(pipeline, raw.Schema, "digits-experiment.zip");
var reloaded = RnnExperimentHistory.Load("digits-experiment.json");
Console.WriteLine($"saved digits-experiment.zip; digits-experiment.json holds {reloaded.Trials.Count} trials (best: trial {reloaded.Best?.Id}).");
defaults.Dispose();
((IDisposable)result.Model).Dispose();

internal sealed class DigitRow
{
    [LoadColumn(0, 63), VectorType(64)] public float[] Features = Array.Empty<float>();
    [LoadColumn(64)] public float Digit { get; set; }
}

/// <summary>One line per trial run, written as it ends.</summary>
internal sealed class ConsoleProgress : IProgress<RnnTrialResult>
{
    public void Report(RnnTrialResult trial)
    {
        var run = trial.Rungs.LastOrDefault();
        string outcome = trial.Status switch
        {
            RnnTrialStatus.Completed when trial.Interrupted => $"continuation cancelled by the budget (kept {trial.Metric:F4} after {trial.BestEpochs} epochs)",
            RnnTrialStatus.Completed when run is not null => $"{run.Metric:F4} after {run.Epochs,2} epochs ({run.Seconds:F1} s)",
            _ => trial.Status.ToString().ToLowerInvariant() + (trial.Error is null ? "" : ": " + trial.Error),
        };
        Console.WriteLine($"trial {trial.Id,2} {trial.Source,-7} {outcome}  {string.Join(" ", trial.Options.Select(o => $"{o.Key}={o.Value}"))}");
    }
}
