// Which fortune file (computers, politics, science, law, food, sports, medicine, education) does a text come from?
// Compares, in the same run and on the fixed test file, ML.NET's FeaturizeText n-grams + SDCA, BiGruEncoder features +
// SDCA, and both concatenated + SDCA. Prints one table, saves the concatenated pipeline as fortune-topics-rnn.zip and the
// encoder's learning curves as fortune-topics-curves.png.
// Usage: dotnet run -c Release --project examples/FortuneTopics
using System.Diagnostics;
using Examples.Shared;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Rnn;

var ml = new MLContext(seed: 1);
IDataView Load(string file) => ml.Data.LoadFromTextFile<Fortune>(Path.Combine(AppContext.BaseDirectory, "Data", file),
    separatorChar: '\t', hasHeader: true, allowQuoting: false); // texts contain quotes
var train = Load("fortune-topics-train.tsv");
var test = Load("fortune-topics-test.tsv");

var prepare = ml.Transforms.Conversion.MapValueToKey("Label", "Topic")
    .Append(ml.Transforms.Text.NormalizeText("Normalized", "Text"))
    .Append(ml.Transforms.Text.TokenizeIntoWords("Words", "Normalized"))
    .Append(ml.Transforms.Conversion.MapValueToKey("Tokens", "Words", maximumNumberOfKeys: 8000));
var encoderProgress = new TrainingProgress("BiGRU encoder", "val acc");
var encoder = ml.Transforms.Rnn.BiGruEncoder(new BiGruEncoder.Options
{
    FeatureColumnName = "Tokens", EmbeddingSize = 32, HiddenSize = 32, Pooling = Microsoft.ML.Rnn.Networks.SequencePooling.Max,
    MaxEpochs = 4, BatchSize = 32, LearningRate = 0.005f, EarlyStoppingPatience = 2, Seed = 1,
    Progress = encoderProgress,
});
var ngrams = ml.Transforms.Text.FeaturizeText("TextFeatures", "Text");
// SDCA makes many passes over its input: cache the features so the encoder runs once, not once per pass; scale them
// (measured: n-grams + SDCA 0.60 micro accuracy scaled, 0.49 unscaled) and bound the passes.
var sdca = ml.Transforms.NormalizeMinMax("Features").AppendCacheCheckpoint(ml).Append(ml.MulticlassClassification.Trainers.SdcaMaximumEntropy(maximumNumberOfIterations: 30));

var results = new List<(string Model, MulticlassClassificationMetrics Metrics, double Seconds)>();
Run("FeaturizeText n-grams + SDCA", prepare.Append(ngrams).Append(ml.Transforms.CopyColumns("Features", "TextFeatures")).Append(sdca));
Run("BiGruEncoder + SDCA", prepare.Append(encoder).Append(ml.Transforms.CopyColumns("Features", "Encoding")).Append(sdca));
var both = Run("BiGruEncoder + n-grams + SDCA",
    prepare.Append(encoder).Append(ngrams).Append(ml.Transforms.Concatenate("Features", "Encoding", "TextFeatures")).Append(sdca));
ml.Model.Save(both, train.Schema, "fortune-topics-rnn.zip");
LearningCurves.Save("fortune-topics-curves.png", "BiGRU encoder on the fortune topics (supervised on the topic), last fit", encoderProgress);

Console.WriteLine();
Console.WriteLine($"{"model",-32} {"micro acc",10} {"macro acc",10} {"train s",8}");
foreach (var (model, m, seconds) in results)
    Console.WriteLine($"{model,-32} {m.MicroAccuracy,10:F4} {m.MacroAccuracy,10:F4} {seconds,8:F1}");
Console.WriteLine("(chance: 0.125; concatenated pipeline saved to fortune-topics-rnn.zip)");

ITransformer Run(string name, IEstimator<ITransformer> pipeline)
{
    Console.WriteLine($"training {name} ...");
    Console.Out.Flush();
    var clock = Stopwatch.StartNew();
    var model = pipeline.Fit(train);
    double seconds = clock.Elapsed.TotalSeconds;
    encoderProgress.Done();
    results.Add((name, ml.MulticlassClassification.Evaluate(model.Transform(test)), seconds));
    return model;
}

internal sealed class Fortune
{
    [LoadColumn(0)] public string Topic { get; set; } = "";
    [LoadColumn(1)] public string Text { get; set; } = "";
}
