// Handwritten digits (UCI, 8x8 pixels): an image read row by row is a sequence of 8 steps of 8 pixels. The recurrent
// classifier (tuned, and with the package's defaults) is compared in the same run, on the same 80/20 split, with ML.NET's
// SdcaMaximumEntropy and LightGbm on the flat 64 pixels (the defaults model's curves: digits-defaults-curves.png). Prints one table, saves the recurrent model as digits-rnn.zip (examples/ProductionApp loads it)
// and its learning curves as digits-rnn-curves.png, and converts it to ONNX as digits-rnn.onnx (examples/OnnxProductionApp
// scores it with ONNX Runtime alone, without ML.NET or libtorch).
// Usage: dotnet run -c Release --project examples/DigitsRows [-- --epochs N --rnn-only --model path.zip --onnx path.onnx --scores path.tsv]
//   --rnn-only skips the two baselines; --scores writes the recurrent model's scores of every row of Data/digits.csv
//   (used by the end-to-end tests to compare with examples/ProductionApp in another process).
using System.Diagnostics;
using Examples.Shared;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Rnn;

string? Argument(string name) => Array.IndexOf(args, name) is var i and >= 0 && i + 1 < args.Length ? args[i + 1] : null;
int epochs = int.Parse(Argument("--epochs") ?? "60");
string modelPath = Argument("--model") ?? "digits-rnn.zip";
string onnxPath = Argument("--onnx") ?? "digits-rnn.onnx";
string? scoresPath = Argument("--scores");
bool rnnOnly = args.Contains("--rnn-only");

var ml = new MLContext(seed: 1);
string dataPath = Path.Combine(AppContext.BaseDirectory, "Data", "digits.csv");
var raw = ml.Data.LoadFromTextFile<DigitRow>(dataPath, separatorChar: ',', hasHeader: true);
var split = ml.Data.TrainTestSplit(raw, testFraction: 0.2, seed: 1);
var prepare = ml.Transforms.Conversion.MapValueToKey("Label", "Digit").Append(ml.Transforms.NormalizeMinMax("Features"));

var results = new List<(string Model, MulticlassClassificationMetrics Metrics, TimeSpan Training)>();

var rnnOptions = new RnnSequenceClassifier.Options
{
    FeaturesPerStep = 8, HiddenSize = 64, Bidirectional = true, Cell = RnnCellKind.Lstm(), MaxEpochs = epochs, BatchSize = 32,
    LearningRate = 0.003f, EarlyStoppingPatience = 10, Seed = 1, EnsembleSize = 1,
    Progress = new TrainingProgress("BiLSTM", "val acc"),
};
var rnn = Train("BiLSTM (8 steps x 8)", prepare.Append(ml.Transforms.Rnn.SequenceClassifier(rnnOptions)));
var progress = (TrainingProgress)rnnOptions.Progress;
progress.Done();
Console.WriteLine($"learning curves written to {LearningCurves.Save("digits-rnn-curves.png", "BiLSTM on digits (8 steps x 8 pixels)", progress)}");
if (!rnnOnly)
{
    // What a user gets who sets only the columns, the input shape, a hidden size and an epoch cap.
    var defaultsProgress = new TrainingProgress("defaults", "val acc");
    Train("defaults: 5 BiGRUs (8 x 8)", prepare.Append(ml.Transforms.Rnn.SequenceClassifier(new RnnSequenceClassifier.Options
    {
        FeaturesPerStep = 8, HiddenSize = 64, MaxEpochs = 30, Progress = defaultsProgress,
    })));
    defaultsProgress.Done();
    Console.WriteLine($"learning curves written to {LearningCurves.Save("digits-defaults-curves.png", "SequenceClassifier with the package's defaults (an ensemble of 5 BiGRUs; the last one's curves) on digits", defaultsProgress)}");
    Train("SdcaMaximumEntropy (64)", prepare.Append(ml.MulticlassClassification.Trainers.SdcaMaximumEntropy()));
    Train("LightGbm (64)", prepare.Append(ml.MulticlassClassification.Trainers.LightGbm()));
}

ml.Model.Save(rnn, raw.Schema, modelPath);
// The same model as ONNX, with the predicted key mapped back to its digit so that an application needs nothing else.
var withDigit = new TransformerChain<ITransformer>(rnn, ml.Transforms.Conversion.MapKeyToValue("PredictedDigit", "PredictedLabel").Fit(rnn.Transform(raw)));
using (var onnx = File.Create(onnxPath))
    ml.Model.ConvertToOnnx(withDigit, raw, onnx);
if (scoresPath is not null)
    ScoreFile.Write(rnn.Transform(raw), scoresPath);

Console.WriteLine();
Console.WriteLine($"{"model",-26} {"macro acc",10} {"micro acc",10} {"log-loss",10} {"train s",9}");
foreach (var (model, m, training) in results)
    Console.WriteLine($"{model,-26} {m.MacroAccuracy,10:F4} {m.MicroAccuracy,10:F4} {m.LogLoss,10:F4} {training.TotalSeconds,9:F1}");
Console.WriteLine($"(test rows: {ml.Data.CreateEnumerable<DigitRow>(split.TestSet, false).Count()}; recurrent model saved to {modelPath}, as ONNX to {onnxPath})");

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
