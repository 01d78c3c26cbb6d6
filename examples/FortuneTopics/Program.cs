// Which fortune file (computers, politics, science, law, food, sports, medicine, education) does a text come from?
// Compares, in the same run and on the fixed test file, ML.NET's FeaturizeText n-grams + SDCA, BiGruEncoder features +
// SDCA, and both concatenated + SDCA. Prints one table, saves the concatenated pipeline as fortune-topics-rnn.zip and the
// encoder's learning curves as fortune-topics-curves.png (the README's encoder with its defaults:
// fortune-topics-text-defaults-curves.png).
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

// The vocabulary: training words seen at least twice; the others (and unseen test words) share the missing-key row, so
// the encoder meets "unknown word" in training as it will in test. Measured: MapValueToKey(maximumNumberOfKeys: 8000)
// keeps the FIRST 8000 words and the training file is sorted by topic (17,655 words), so unknown tokens appeared only
// in the late topics' texts and the encoder learnt "unknown word => politics/science/sports": 0.25 test accuracy.
var words = ml.Transforms.Text.NormalizeText("Normalized", "Text").Append(ml.Transforms.Text.TokenizeIntoWords("Words", "Normalized"));
var vocabulary = ml.Data.LoadFromEnumerable(ml.Data.CreateEnumerable<TokenRow>(words.Fit(train).Transform(train), reuseRowObject: false)
    .SelectMany(r => r.Words).GroupBy(w => w).Where(g => g.Count() >= 2).Select(g => new VocabularyWord { Words = g.Key })
    .OrderBy(w => w.Words, StringComparer.Ordinal));
var prepare = ml.Transforms.Conversion.MapValueToKey("Label", "Topic")
    .Append(words)
    .Append(ml.Transforms.Conversion.MapValueToKey("Tokens", "Words", keyData: vocabulary));
var encoderProgress = new TrainingProgress("BiGRU encoder", "val acc");
var encoder = ml.Transforms.Rnn.BiGruEncoder(new BiGruEncoder.Options
{
    // Dropout 0.5 before the (dropped) head: the encoder is fitted on the very rows SDCA then trains on, so its training
    // encodings are cleaner than its test encodings; dropout narrows that gap (concatenation 0.49 -> 0.53 measured).
    FeatureColumnName = "Tokens", EmbeddingSize = 32, HiddenSize = 32, Pooling = SequencePooling.Max, Dropout = 0.5f,
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
// The encoder's own supervised head, i.e. the same network as a classifier: what its features carry on the test file.
Run("RnnSequenceClassifier (BiGRU)", prepare.Append(ml.Transforms.Rnn.SequenceClassifier(new RnnSequenceClassifier.Options
{
    FeatureColumnName = "Tokens", EmbeddingSize = 32, HiddenSize = 32, Bidirectional = true, CellType = RnnCellType.Gru,
    Pooling = SequencePooling.Max, Dropout = 0.5f, MaxEpochs = 4, BatchSize = 32, LearningRate = 0.005f,
    EarlyStoppingPatience = 2, Seed = 1,
})));
var both = Run("BiGruEncoder + n-grams + SDCA",
    prepare.Append(encoder).Append(ngrams).Append(ml.Transforms.Concatenate("Features", "Encoding", "TextFeatures")).Append(sdca));
ml.Model.Save(both, train.Schema, "fortune-topics-rnn.zip");
// The README's pipeline as a user writes it (the encoder's defaults; hidden size and an epoch cap set), and the same
// without the encoder: what the defaults give next to n-grams alone.
var readmeWords = ml.Transforms.Conversion.MapValueToKey("Label", "Topic").Append(words).Append(ml.Transforms.Conversion.MapValueToKey("Tokens", "Words"));
var readmeSdca = ml.MulticlassClassification.Trainers.SdcaMaximumEntropy(maximumNumberOfIterations: 20);
Run("README: n-grams + SDCA", readmeWords.Append(ml.Transforms.Text.FeaturizeText("Features", "Text")).AppendCacheCheckpoint(ml).Append(readmeSdca));
Run("README: encoder (keys) + n-grams", readmeWords.Append(ml.Transforms.Rnn.BiGruEncoder("Encoding", "Tokens", hiddenSize: 32, maxEpochs: 4))
    .Append(ml.Transforms.Text.FeaturizeText("NGrams", "Text")).Append(ml.Transforms.Concatenate("Features", "Encoding", "NGrams"))
    .AppendCacheCheckpoint(ml).Append(readmeSdca));
// The same reading the words as text: the encoder's own vocabulary (words seen twice or more) and character features.
// The options are the README call's (output and feature columns, hidden size, epoch cap), with a progress to draw.
var textWords = ml.Transforms.Conversion.MapValueToKey("Label", "Topic").Append(words);
var defaultsProgress = new TrainingProgress("BiGRU encoder, defaults", "val acc");
Run("README: encoder (text) + n-grams", textWords.Append(ml.Transforms.Rnn.BiGruEncoder(new BiGruEncoder.Options
    {
        OutputColumnName = "Encoding", FeatureColumnName = "Words", HiddenSize = 32, MaxEpochs = 4, Progress = defaultsProgress,
    }))
    .Append(ml.Transforms.Text.FeaturizeText("NGrams", "Text")).Append(ml.Transforms.Concatenate("Features", "Encoding", "NGrams"))
    .AppendCacheCheckpoint(ml).Append(readmeSdca));
defaultsProgress.Done();
Run("README: classifier (keys)", readmeWords.Append(ml.Transforms.CopyColumns("Features", "Tokens"))
    .Append(ml.Transforms.Rnn.SequenceClassifier(hiddenSize: 32, maxEpochs: 5)));
// The README's classifier: raw words as text (no NormalizeText, which ML.NET cannot convert to ONNX).
Run("README: classifier (text)", ml.Transforms.Conversion.MapValueToKey("Label", "Topic")
    .Append(ml.Transforms.Text.TokenizeIntoWords("Features", "Text"))
    .Append(ml.Transforms.Rnn.SequenceClassifier(hiddenSize: 32, maxEpochs: 5)));
LearningCurves.Save("fortune-topics-curves.png", "BiGRU encoder on the fortune topics (supervised on the topic), last fit", encoderProgress);
LearningCurves.Save("fortune-topics-text-defaults-curves.png", "BiGruEncoder defaults on the words as text (the README's pipeline)", defaultsProgress);

Console.WriteLine();
Console.WriteLine($"{"model",-32} {"micro acc",10} {"macro acc",10} {"train s",8}");
foreach (var (model, m, seconds) in results)
    Console.WriteLine($"{model,-32} {m.MicroAccuracy,10:F4} {m.MacroAccuracy,10:F4} {seconds,8:F1}");
Console.WriteLine("(chance: 0.125; concatenated pipeline saved to fortune-topics-rnn.zip)");
// Measured on this data (2-core machine, same seeds): SDCA reaches 0.68 micro accuracy on the TRAINING encodings but
// 0.44 on the test encodings, because the encoder was fitted on the same labelled rows; it leans on them and the
// concatenation stays below n-grams alone. Alternatives measured: encoder fitted on half of the training rows, SDCA on
// all: 0.536; self-supervised encoder (Objective = NextStepPrediction, no label leak) + n-grams: 0.577 but ~50 s to train.
Console.WriteLine("Why the concatenation trails n-grams alone: the encoder is fitted on the same labelled rows as SDCA, so its");
Console.WriteLine("training encodings are far more predictive than its test encodings (SDCA on encodings: ~0.68 train vs ~0.44 test);");
Console.WriteLine("on 2,505 short texts the recurrent features add less than they mislead. A self-supervised encoder");
Console.WriteLine("(Objective = NextStepPrediction) avoids the leak: 0.577 with n-grams, at ~50 s of training.");

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

internal sealed class TokenRow
{
    public string[] Words { get; set; } = [];
}

internal sealed class VocabularyWord
{
    public string Words { get; set; } = "";
}

internal sealed class Fortune
{
    [LoadColumn(0)] public string Topic { get; set; } = "";
    [LoadColumn(1)] public string Text { get; set; } = "";
}
