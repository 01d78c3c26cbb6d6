using Microsoft.ML.Data;
using Microsoft.ML.Rnn.Experiments;
using Xunit;

namespace Microsoft.ML.Rnn.Tests.Experiments;

/// <summary>The tagging and encoder-features experiments on small real data: they run, score, save and reload.</summary>
public sealed class OtherExperimentTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("rnn-experiment-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private sealed class Fortune
    {
        [LoadColumn(0)] public string Topic { get; set; } = "";
        [LoadColumn(1)] public string Text { get; set; } = "";
    }

    [Fact]
    public void EncoderFeaturesExperimentSearchesTheTrainerToo()
    {
        var ml = new MLContext(1);
        var raw = ml.Data.LoadFromTextFile<Fortune>(Path.Combine(AppContext.BaseDirectory, "Data", "fortune-topics-train.tsv"),
            separatorChar: '\t', hasHeader: true, allowQuoting: false);
        raw = ml.Data.TakeRows(ml.Data.ShuffleRows(raw, seed: 2), 200);
        var data = ml.Data.Cache(ml.Transforms.Text.NormalizeText("Normalized", "Text")
            .Append(ml.Transforms.Text.TokenizeIntoWords("Words", "Normalized"))
            .Append(ml.Transforms.Conversion.MapValueToKey("Tokens", "Words", maximumNumberOfKeys: 2000))
            .Append(ml.Transforms.Conversion.MapValueToKey("Label", "Topic"))
            .Fit(raw).Transform(raw));
        var experiment = ml.Transforms.Rnn.CreateEncoderFeaturesExperiment(
            new BiGruEncoder.Options { FeatureColumnName = "Tokens", EmbeddingSize = 16, HiddenSize = 8, MaxEpochs = 3, EarlyStoppingPatience = null },
            new RnnExperimentSettings { MaxTrials = 4, Seed = 1, InitialRandomTrials = 3 });
        experiment.SearchSpace.HiddenSize = SearchParameter.Int(4, 12);
        experiment.SearchSpace.EmbeddingSize = SearchParameter.Int(8, 16);
        experiment.SearchSpace.NumberOfLayers = null;
        var result = experiment.Execute(data);

        var trials = result.History.Trials;
        Assert.Equal(4, trials.Count);
        Assert.Equal("SdcaMaximumEntropy", trials[0].Options["Trainer"]);
        Assert.Equal("auto", trials[0].Options["L2Regularization"]);
        Assert.Contains("EmbeddingSize", trials[1].Options.Keys);
        Assert.All(trials, t => Assert.InRange(t.Metric, 0, 1));
        Assert.True(result.BestTrial.Metric >= trials[0].Metric);

        string path = Path.Combine(_directory, "encoder.zip");
        ml.Model.Save(result.Model, data.Schema, path);
        var loaded = ml.Model.Load(path, out _);
        double reloaded = ml.MulticlassClassification.Evaluate(loaded.Transform(ml.Data.TrainTestSplit(data, 0.2, seed: 1).TestSet)).MacroAccuracy;
        Assert.Equal(result.BestTrial.Metric, reloaded, 6);
        RnnExperiment.DisposeModel(loaded);
        RnnExperiment.DisposeModel(result.Model);
    }

    [Fact]
    public void TaggingExperimentScoresWithTheTaggingEvaluator()
    {
        var ml = new MLContext(1);
        var sentences = ConllSentences.Read(ConllSentences.DataPath("truecase-punct-train.conll"), take: 120);
        var raw = ml.Data.LoadFromEnumerable(sentences);
        var data = ml.Transforms.Conversion.MapValueToKey("Features", "Tokens")
            .Append(ml.Transforms.Conversion.MapValueToKey("Label", "Punct"))
            .Fit(raw).Transform(raw);
        var experiment = ml.Transforms.Rnn.CreateTaggingExperiment(
            new LstmTagger.Options { EmbeddingSize = 16, HiddenSize = 8, MaxEpochs = 3, Bidirectional = true, EarlyStoppingPatience = null },
            settings: new RnnExperimentSettings { MaxTrials = 4, Seed = 1, InitialRandomTrials = 3, Metric = RnnExperimentMetric.TokenAccuracy });
        experiment.SearchSpace.HiddenSize = SearchParameter.Int(4, 12);
        experiment.SearchSpace.NumberOfLayers = null;
        var result = experiment.Execute(data);

        Assert.Equal(RnnExperimentMetric.TokenAccuracy, result.History.Metric);
        Assert.Contains("UseCrf", result.History.Trials[1].Options.Keys);
        var split = ml.Data.TrainTestSplit(data, 0.2, seed: 1);
        var metrics = TaggingEvaluator.Evaluate(result.Model.Transform(split.TestSet));
        Assert.Equal(result.BestTrial.Metric, metrics.TokenAccuracy, 9);
        Assert.True(result.BestTrial.Metric >= result.History.Trials[0].Metric);
        Assert.IsType<LstmTaggerTransformer>(result.Model);
        RnnExperiment.DisposeModel(result.Model);

        var spanMetric = ml.Transforms.Rnn.CreateTaggingExperiment(settings: new RnnExperimentSettings { Metric = RnnExperimentMetric.SpanF1 });
        var e = Assert.Throws<ArgumentException>(() => spanMetric.Execute(data));
        Assert.StartsWith("SequenceTaggingExperiment: SpanF1 needs a tag scheme (Bio or Bioes).", e.Message);
    }
}
