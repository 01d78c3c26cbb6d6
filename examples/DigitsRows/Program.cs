// Handwritten digits (UCI, 8x8 pixels): an image read row by row is a sequence of 8 steps of 8 pixels. The recurrent
// classifier is compared in the same run, on the same 80/20 split, with ML.NET's SdcaMaximumEntropy and LightGbm on
// the flat 64 pixels. Prints one table and saves the recurrent model as digits-rnn.zip.
// Usage: dotnet run -c Release --project examples/DigitsRows
using System.Diagnostics;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Rnn;

var ml = new MLContext(seed: 1);
var raw = ml.Data.LoadFromTextFile<DigitRow>(Path.Combine(AppContext.BaseDirectory, "Data", "digits.csv"), separatorChar: ',', hasHeader: true);
var split = ml.Data.TrainTestSplit(raw, testFraction: 0.2, seed: 1);
var prepare = ml.Transforms.Conversion.MapValueToKey("Label", "Digit").Append(ml.Transforms.NormalizeMinMax("Features"));

var results = new List<(string Model, MulticlassClassificationMetrics Metrics, TimeSpan Training)>();

var rnnOptions = new RnnSequenceClassifier.Options
{
    FeaturesPerStep = 8, HiddenSize = 64, Bidirectional = true, MaxEpochs = 60, BatchSize = 32, LearningRate = 0.003f,
    EarlyStoppingPatience = 10, Seed = 1,
    Progress = new ConsoleProgress(),
};
var rnn = Train("BiLSTM (8 steps x 8)", prepare.Append(ml.Transforms.Rnn.SequenceClassifier(rnnOptions)));
Train("SdcaMaximumEntropy (64)", prepare.Append(ml.MulticlassClassification.Trainers.SdcaMaximumEntropy()));
Train("LightGbm (64)", prepare.Append(ml.MulticlassClassification.Trainers.LightGbm()));

ml.Model.Save(rnn, raw.Schema, "digits-rnn.zip");

Console.WriteLine();
Console.WriteLine($"{"model",-26} {"macro acc",10} {"micro acc",10} {"log-loss",10} {"train s",9}");
foreach (var (model, m, training) in results)
    Console.WriteLine($"{model,-26} {m.MacroAccuracy,10:F4} {m.MicroAccuracy,10:F4} {m.LogLoss,10:F4} {training.TotalSeconds,9:F1}");
Console.WriteLine($"(test rows: {ml.Data.CreateEnumerable<DigitRow>(split.TestSet, false).Count()}; recurrent model saved to digits-rnn.zip)");

ITransformer Train(string name, IEstimator<ITransformer> pipeline)
{
    Console.WriteLine($"training {name} ...");
    var clock = Stopwatch.StartNew();
    var model = pipeline.Fit(split.TrainSet);
    clock.Stop();
    var metrics = ml.MulticlassClassification.Evaluate(model.Transform(split.TestSet));
    results.Add((name, metrics, clock.Elapsed));
    return model;
}

internal sealed class DigitRow
{
    [LoadColumn(0, 63), VectorType(64)] public float[] Features = Array.Empty<float>();
    [LoadColumn(64)] public float Digit { get; set; }
}

internal sealed class ConsoleProgress : IProgress<Microsoft.ML.Rnn.Core.Training.EpochProgress>
{
    public void Report(Microsoft.ML.Rnn.Core.Training.EpochProgress p)
        => Console.WriteLine($"  epoch {p.Epoch + 1,2}/{p.MaxEpochs}: loss {p.TrainLoss:F4}, validation accuracy {p.ValidationMetric:F4}{(p.IsBest ? " *" : "")}");
}
