// Which fortune file (computers, politics, science, law, food, sports, medicine, education) does a text come from?
// Compares, in the same run, ML.NET's trainers at their defaults on FeaturizeText n-grams (SDCA, LightGbm) with the
// README's recurrent pipelines: the SequenceClassifier reading the words as text (with its word bag, and without),
// BiGruEncoder features next to the n-grams, and the classifier's cross-fitted scores next to them (stacking). The topics are unevenly frequent: the README's classifier weights them with
// scikit-learn's "balanced" class weights (ClassWeighting), and so does each ML.NET trainer in a row named "balanced"
// (example weights).
// Prints one table (macro and micro accuracy, fit time); saves the encoder pipeline as fortune-topics-rnn.zip.
// Usage: dotnet run -c Release --project examples/FortuneTopics [-- --split K] [-- --only name,name] [-- --seed S]
//   --split K: train on a split of the training file (80%, seed K) and evaluate on the rest (20%) instead of the test
//              file: what options are chosen on; the test file is for the final figures only.
//   --seed S:  the MLContext's seed (default 1, the README's), from which each component draws its own: how much a
//              figure moves with the seed alone.
using System.Diagnostics;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Rnn;

int? split = args.SkipWhile(a => a != "--split").Skip(1).Select(int.Parse).Cast<int?>().FirstOrDefault();
var only = args.SkipWhile(a => a != "--only").Skip(1).FirstOrDefault()?.Split(',').ToHashSet();

int seed = args.SkipWhile(a => a != "--seed").Skip(1).Select(int.Parse).DefaultIfEmpty(1).First();
var ml = new MLContext(seed);
IDataView Load(string file) => ml.Data.LoadFromTextFile<Fortune>(Path.Combine(AppContext.BaseDirectory, "Data", file),
    separatorChar: '\t', hasHeader: true, allowQuoting: false); // texts contain quotes
var (train, test) = (Load("fortune-topics-train.tsv"), Load("fortune-topics-test.tsv"));
if (split is int k)
{
    var parts = ml.Data.TrainTestSplit(train, testFraction: 0.2, seed: k);
    (train, test) = (ml.Data.Cache(parts.TrainSet), ml.Data.Cache(parts.TestSet));
}
var weighted = Balanced(train); // for the pipelines named "balanced"

// The training rows with Weight = n / (T · count of the row's topic): n rows, T topics.
IDataView Balanced(IDataView data)
{
    var rows = ml.Data.CreateEnumerable<Fortune>(data, reuseRowObject: false).ToList();
    var counts = rows.CountBy(r => r.Topic).ToDictionary();
    return ml.Data.LoadFromEnumerable(rows.Select(r => new WeightedFortune
    {
        Topic = r.Topic, Text = r.Text, Weight = (float)rows.Count / (counts.Count * counts[r.Topic]),
    }).ToList());
}

var label = ml.Transforms.Conversion.MapValueToKey("Label", "Topic");
var ngrams = label.Append(ml.Transforms.Text.FeaturizeText("Features", "Text")).AppendCacheCheckpoint(ml);
var ngramPipelines = new Dictionary<string, IEstimator<ITransformer>>
{
    ["n-grams + SDCA"] = ngrams.Append(ml.MulticlassClassification.Trainers.SdcaMaximumEntropy()),
    ["n-grams + LightGbm"] = ngrams.Append(ml.MulticlassClassification.Trainers.LightGbm()),
    // Tuned as the classifier's ClassWeighting is: each row weighted n / (T · count of its topic), scikit-learn's
    // "balanced", which trades micro accuracy for macro accuracy.
    ["n-grams + SDCA balanced"] = ngrams.Append(ml.MulticlassClassification.Trainers.SdcaMaximumEntropy(exampleWeightColumnName: "Weight")),
    ["n-grams + LightGbm balanced"] = ngrams.Append(ml.MulticlassClassification.Trainers.LightGbm(exampleWeightColumnName: "Weight")),
};
// The encoder's words: normalized text split into words (read with their characters).
var words = label.Append(ml.Transforms.Text.NormalizeText("Normalized", "Text")).Append(ml.Transforms.Text.TokenizeIntoWords("Words", "Normalized"));
IEstimator<ITransformer> NextToNGrams(IEstimator<ITransformer> encoder) => words.Append(encoder)
    .Append(ml.Transforms.NormalizeLpNorm("Encoding"))                 // unit length, as FeaturizeText's n-gram vector
    .Append(ml.Transforms.Text.FeaturizeText("NGrams", "Text"))
    .Append(ml.Transforms.Concatenate("Features", "Encoding", "NGrams"))
    .AppendCacheCheckpoint(ml)
    .Append(ml.MulticlassClassification.Trainers.SdcaMaximumEntropy());
// The README classifier's words: the raw text split into words.
var rawWords = label.Append(ml.Transforms.Text.TokenizeIntoWords("Features", "Text"));
var rnnPipelines = new Dictionary<string, IEstimator<ITransformer>>
{
    // The README's text classifier: balanced class weights, and (by default) a word bag next to the recurrent network.
    ["SequenceClassifier (README)"] = rawWords.Append(ml.Transforms.Rnn.SequenceClassifier(hiddenSize: 32, maxEpochs: 5,
        classWeighting: ClassWeighting.InverseFrequency)),
    ["SequenceClassifier unweighted"] = rawWords.Append(ml.Transforms.Rnn.SequenceClassifier(hiddenSize: 32, maxEpochs: 5)),
    // Without the word bag: the recurrent network alone (the README's classifier until the bag).
    ["SequenceClassifier without word bag, balanced"] = rawWords.Append(ml.Transforms.Rnn.SequenceClassifier(
        new RnnSequenceClassifier.Options { HiddenSize = 32, MaxEpochs = 5, ClassWeighting = ClassWeighting.InverseFrequency, WordBag = false })),
    ["SequenceClassifier without word bag"] = rawWords.Append(ml.Transforms.Rnn.SequenceClassifier(
        new RnnSequenceClassifier.Options { HiddenSize = 32, MaxEpochs = 5, WordBag = false })),
    // The encoder trained on the topic: SDCA then trains on encodings of the very rows the encoder learnt the topics
    // from, far more telling than those of new rows (the stacking leak).
    ["BiGruEncoder on the label + n-grams + SDCA"] = NextToNGrams(ml.Transforms.Rnn.BiGruEncoder("Encoding", "Words", hiddenSize: 32, maxEpochs: 4)),
    // The README's: the encoder trained without the label (next-step prediction), so its encodings of training rows
    // look like those of new rows.
    ["BiGruEncoder without label + n-grams + SDCA (README)"] = NextToNGrams(
        ml.Transforms.Rnn.BiGruEncoder("Encoding", "Words", labelColumnName: null, hiddenSize: 32, maxEpochs: 4)),
    // Stacking: the README classifier's class probabilities next to the n-grams. Cross-fitted, SDCA learns from the
    // scores that five models, each trained without a fifth of the rows, give the rows they did not see.
    ["SequenceClassifier cross-fitted scores + n-grams + SDCA"] = rawWords.Append(ml.Transforms.Rnn.SequenceClassifier(
            new RnnSequenceClassifier.Options { HiddenSize = 32, MaxEpochs = 5, ClassWeighting = ClassWeighting.InverseFrequency, CrossFitFolds = 5 }))
        .Append(ml.Transforms.Text.FeaturizeText("NGrams", "Text"))
        .Append(ml.Transforms.Concatenate("Features", "Score", "NGrams"))
        .AppendCacheCheckpoint(ml)
        .Append(ml.MulticlassClassification.Trainers.SdcaMaximumEntropy()),
};

var results = new List<(string Model, MulticlassClassificationMetrics Metrics, double Seconds)>();
foreach (var (name, pipeline) in ngramPipelines.Concat(rnnPipelines).Where(p => only is null || only.Contains(p.Key)))
{
    Console.WriteLine($"training {name} ...");
    var clock = Stopwatch.StartNew();
    var model = pipeline.Fit(name.EndsWith("balanced") ? weighted : train);
    double seconds = clock.Elapsed.TotalSeconds;
    results.Add((name, ml.MulticlassClassification.Evaluate(model.Transform(test)), seconds));
    if (split is null && name.EndsWith("(README)") && name.StartsWith("BiGruEncoder"))
        ml.Model.Save(model, train.Schema, "fortune-topics-rnn.zip");
    (model as IDisposable)?.Dispose();
}

Console.WriteLine();
Console.WriteLine(split is int s ? $"validation split {s} of the training file (80% / 20%)" : "the test file");
Console.WriteLine($"{"pipeline",-52} {"macro acc",10} {"micro acc",10} {"fit s",8}");
foreach (var (model, m, seconds) in results)
    Console.WriteLine($"{model,-52} {m.MacroAccuracy,10:F4} {m.MicroAccuracy,10:F4} {seconds,8:F1}");
Console.WriteLine("(chance: 0.125; macro accuracy: the mean of the 8 topics' recalls; the training file has 813 computers texts, 57 medicine)");

internal sealed class Fortune
{
    [LoadColumn(0)] public string Topic { get; set; } = "";
    [LoadColumn(1)] public string Text { get; set; } = "";
}

internal sealed class WeightedFortune
{
    public string Topic { get; set; } = "";
    public string Text { get; set; } = "";
    public float Weight { get; set; }
}
