using Microsoft.ML.Data;
using Microsoft.ML.Rnn.Experiments;
using Microsoft.ML.Rnn.Tests.MLNet;
using Xunit;

namespace Microsoft.ML.Rnn.Tests.Experiments;

/// <summary>The regression experiment on a real series: time-ordered validation windows, minus the RMSE for a horizon, R² for a Single label.</summary>
public sealed class SequenceRegressionExperimentTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("rnn-regression-experiment-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void SearchesAForecasterOnTimeOrderedValidationWindows()
    {
        var ml = new MLContext(1);
        var series = SeriesWindows.FillMissing(SeriesWindowsTests.Column("elec-equip-monthly.csv", 1));
        var windows = SeriesWindows.Create([series], 0, pastSteps: 24, horizon: 3);
        var (trainPart, _) = SeriesWindows.SplitByTime(windows, series.Length);             // the test part stays unseen
        int cut = trainPart.Length * 4 / 5;                                                   // validation: the training part's last windows
        var train = SeriesWindows.ToDataView(ml, trainPart[..cut]);
        var validation = SeriesWindows.ToDataView(ml, trainPart[cut..]);
        var experiment = ml.Transforms.Rnn.CreateSequenceRegressionExperiment(
            new SequenceRegressor.Options
            {
                FeatureColumnName = "Past", LabelColumnName = "Next", Scaling = RowScaling.MeanAbsolute, HiddenSize = 8, MaxEpochs = 4,
                EnsembleSize = 1, EarlyStoppingPatience = null,
            },
            new RnnExperimentSettings { MaxTrials = 3, Seed = 1, InitialRandomTrials = 2 });
        experiment.SearchSpace.HiddenSize = SearchParameter.Int(4, 12);
        experiment.SearchSpace.NumberOfLayers = null;
        var result = experiment.Execute(train, validation);

        Assert.Equal(3, result.History.Trials.Count);
        Assert.All(result.History.Trials, t => Assert.True(t.Metric < 0, $"minus the RMSE, got {t.Metric}"));
        Assert.True(result.BestTrial.Metric >= result.History.Trials[0].Metric);
        string path = Path.Combine(_directory, "forecaster.zip");
        ml.Model.Save(result.Model, train.Schema, path);
        var loaded = ml.Model.Load(path, out _);
        var scored = loaded.Transform(validation);
        var predicted = scored.GetColumn<VBuffer<float>>("Score").Select(v => v.DenseValues().ToArray()).ToArray();
        Assert.Equal(result.BestTrial.Metric, -ForecastMetrics.Evaluate(predicted, trainPart[cut..].Select(w => w.Next).ToArray()).RootMeanSquaredError, 4);
        RnnExperiment.DisposeModel(loaded);
        RnnExperiment.DisposeModel(result.Model);

        // R² needs a Single label; a horizon says which metrics apply.
        var wrong = Assert.Throws<ArgumentException>(() => experiment.ResolveMetric(train.Schema, RnnExperimentMetric.RSquared));
        Assert.StartsWith("SequenceRegressionExperiment: metric RSquared does not apply to a vector label; use NegativeRootMeanSquaredError.", wrong.Message);
        var single = SeriesWindows.ToDataView(ml, SeriesWindows.Create([series], 0, 24, 1), scalarNext: true);
        Assert.Equal(RnnExperimentMetric.RSquared, experiment.ResolveMetric(single.Schema, RnnExperimentMetric.Auto));
    }
}
