// Truecasing and punctuation restoration as sequence tagging: from lower-cased words, predict each word's case
// (L, C, U, M) and the punctuation after it (O, COMMA, PERIOD, QUESTION, EXCLAIM). A bidirectional LstmTagger (tuned, and
// with the package's defaults) is compared in the same run with the most-frequent-tag-per-word baseline on the fixed
// test file. Prints one table and
// saves the punctuation tagger as truecase-punct-rnn.zip; writes the learning curves (truecase-punct-curves.png, and the
// defaults on token text: truecase-punct-text-defaults-curves.png) and
// one confusion matrix per task (truecase-punct-<task>-confusion.png).
// Usage: dotnet run -c Release --project examples/TruecasePunct
using System.Diagnostics;
using Examples.Shared;
using Microsoft.ML;
using Microsoft.ML.Rnn;

var ml = new MLContext(seed: 1);
var train = Conll.Read(Path.Combine(AppContext.BaseDirectory, "Data", "truecase-punct-train.conll"));
var test = Conll.Read(Path.Combine(AppContext.BaseDirectory, "Data", "truecase-punct-test.conll"));
Console.WriteLine($"{train.Count} training and {test.Count} test sentences");

var curves = new List<TrainingProgress>();
var textCurves = new List<TrainingProgress>();
var rows = new List<(string Task, string Model, TaggingMetrics Metrics, string[] Tags, double Seconds)>();
foreach (var (task, pick, tags) in new (string, Func<Sentence, string[]>, string[])[]
{
    ("punct", s => s.Punct, ["PERIOD", "COMMA", "QUESTION"]),
    ("case", s => s.Case, ["C", "U"]),
})
{
    var trainView = ml.Data.LoadFromEnumerable(train.Select(s => new TagRow { Tokens = s.Tokens, Tags = pick(s) }));
    var testView = ml.Data.LoadFromEnumerable(test.Select(s => new TagRow { Tokens = s.Tokens, Tags = pick(s) }));
    var progress = new TrainingProgress($"{task} tagger", "val token acc");
    var pipeline = ml.Transforms.Conversion.MapValueToKey("Features", "Tokens")
        .Append(ml.Transforms.Conversion.MapValueToKey("Label", "Tags"))
        .Append(ml.Transforms.Rnn.LstmTagger(new LstmTagger.Options
        {
            // Punctuation: 85% of tokens are O, so an unweighted loss almost never predicts COMMA or QUESTION (measured F1
            // 0.018 and 0.000, macro-F1 0.346); inverse-frequency tag weights give COMMA 0.31, QUESTION 0.30, macro-F1
            // 0.47 for PERIOD 0.763 -> 0.705. Case: the same weights cost C F1 (0.73 -> 0.49), so that task keeps none.
            // Also measured for punctuation: no weights but ValidationMetric = MacroF1 (early stopping on it) gives macro-F1
            // 0.443 (COMMA 0.257, QUESTION 0.178, PERIOD 0.726); weights and MacroF1 together 0.456.
            TagWeighting = task == "punct" ? ClassWeighting.InverseFrequency : ClassWeighting.None,
            ValidationMetric = TaggerValidationMetric.TokenAccuracy,
            EmbeddingSize = 64, HiddenSize = 96, Bidirectional = true, MaxEpochs = 12, BatchSize = 32, LearningRate = 0.005f,
            EarlyStoppingPatience = 3, Seed = 1, Progress = progress,
        }));
    var clock = Stopwatch.StartNew();
    var model = pipeline.Fit(trainView);
    double seconds = clock.Elapsed.TotalSeconds;
    progress.Done();
    curves.Add(progress);
    var (confusionTags, confusion) = ConfusionMatrixPlot.FromTaggerOutput(model.Transform(testView));
    ConfusionMatrixPlot.Save($"truecase-punct-{task}-confusion.png", $"BiLSTM {task} tagger on the test sentences", confusionTags, confusion);
    rows.Add((task, "BiLSTM tagger", TaggingEvaluator.Evaluate(model.Transform(testView)), tags, seconds));
    if (task == "punct") ml.Model.Save(model, trainView.Schema, "truecase-punct-rnn.zip");

    // What a user gets who sets only the columns, the sizes, bidirectionality and an epoch cap.
    clock.Restart();
    var defaults = ml.Transforms.Conversion.MapValueToKey("Features", "Tokens")
        .Append(ml.Transforms.Conversion.MapValueToKey("Label", "Tags"))
        .Append(ml.Transforms.Rnn.LstmTagger(new LstmTagger.Options { EmbeddingSize = 64, HiddenSize = 128, Bidirectional = true, MaxEpochs = 15 }))
        .Fit(trainView);
    rows.Add((task, "BiLSTM tagger, defaults", TaggingEvaluator.Evaluate(defaults.Transform(testView)), tags, clock.Elapsed.TotalSeconds));

    // The same reading the tokens as text: the tagger's own vocabulary and character features (its curves are drawn too).
    clock.Restart();
    var textProgress = new TrainingProgress($"{task} text defaults", "val macro-F1");
    var fromText = ml.Transforms.Conversion.MapValueToKey("Label", "Tags")
        .Append(ml.Transforms.Rnn.LstmTagger(new LstmTagger.Options
        {
            FeatureColumnName = "Tokens", EmbeddingSize = 64, HiddenSize = 128, Bidirectional = true, MaxEpochs = 15, Progress = textProgress,
        }))
        .Fit(trainView);
    textProgress.Done();
    textCurves.Add(textProgress);
    rows.Add((task, "BiLSTM tagger, defaults, text", TaggingEvaluator.Evaluate(fromText.Transform(testView)), tags, clock.Elapsed.TotalSeconds));

    clock.Restart();
    var baseline = MostFrequentTag(train, pick);
    seconds = clock.Elapsed.TotalSeconds;
    var guesses = test.Select(s => (IReadOnlyList<string?>)s.Tokens.Select(baseline).ToArray());
    rows.Add((task, "most frequent tag per word", TaggingEvaluator.Evaluate(test.Select(s => (IReadOnlyList<string?>)pick(s)), guesses), tags, seconds));
}

Console.WriteLine();
Console.WriteLine($"{"task",-6} {"model",-30} {"token acc",9} {"macro-F1",9}  {"F1 of main tags",-40} {"train s",8}");
foreach (var (task, model, m, tags, seconds) in rows)
{
    string f1 = string.Join(" ", tags.Select(t => $"{t} {(m.PerTag.TryGetValue(t, out var x) ? x.F1 : 0):F3}"));
    Console.WriteLine($"{task,-6} {model,-30} {m.TokenAccuracy,9:F4} {m.MacroF1,9:F4}  {f1,-40} {seconds,8:F1}");
}
LearningCurves.Save("truecase-punct-curves.png", "BiLSTM taggers: punctuation and case", curves.ToArray());
LearningCurves.Save("truecase-punct-text-defaults-curves.png", "LstmTagger defaults on token text (characters, own vocabulary)", textCurves.ToArray());
Console.WriteLine("(punctuation tagger saved to truecase-punct-rnn.zip; learning curves in truecase-punct-curves.png, " +
                  "confusion matrices in truecase-punct-punct-confusion.png and truecase-punct-case-confusion.png)");

static Func<string, string> MostFrequentTag(IEnumerable<Sentence> train, Func<Sentence, string[]> pick)
{
    var pairs = train.SelectMany(s => s.Tokens.Zip(pick(s))).ToList();
    string overall = pairs.GroupBy(p => p.Second).OrderByDescending(g => g.Count()).First().Key;
    var byWord = pairs.GroupBy(p => p.First).ToDictionary(g => g.Key, g => g.GroupBy(p => p.Second).OrderByDescending(t => t.Count()).First().Key);
    return word => byWord.TryGetValue(word, out var tag) ? tag : overall;
}

internal sealed class TagRow
{
    public string[] Tokens { get; set; } = [];
    public string[] Tags { get; set; } = [];
}

internal sealed record Sentence(string[] Tokens, string[] Case, string[] Punct);

internal static class Conll
{
    /// <summary>A comment line, then <c>token TAB case TAB punct</c> per line, a blank line between sentences.</summary>
    public static List<Sentence> Read(string path)
    {
        var sentences = new List<Sentence>();
        var lines = new List<string[]>();
        foreach (var line in File.ReadLines(path).Skip(1).Append(""))
        {
            if (line.Length > 0) { lines.Add(line.Split('\t')); continue; }
            if (lines.Count == 0) continue;
            sentences.Add(new Sentence(lines.Select(l => l[0]).ToArray(), lines.Select(l => l[1]).ToArray(), lines.Select(l => l[2]).ToArray()));
            lines.Clear();
        }
        return sentences;
    }
}
