// How well the components learn with their defaults, as a user writes the pipeline (columns, input shape, hidden size
// and an epoch cap; every other option left alone), measured ONLY on splits of the training data: the test files are
// never read here, so defaults chosen with this program are not tuned on them (issue: "models that learn well with
// the defaults"). Each run prints one line per task; compare runs that differ in one option.
// Usage: dotnet run -c Release --project studies/DefaultsStudy -- [--tasks digits,case,punct,case-text,punct-text,joint-text,topics,topics-text,topics-oof,topics-classifier] [--set Option=Value ...] [--more-text] [--train-fraction F] [--analysis]
//   case-text, punct-text, topics-text: the components reading the tokens as text (their own vocabulary and character
//   features) instead of keys from MapValueToKey; joint-text: one tagger on the pair of tags (case|punctuation)
//   --more-text: the taggers also train on the cased, punctuated texts of fortune-topics-train.tsv, turned into tagging
//   rows (other fortune files; rows whose words occur in the tagging training file left out): how much more data buys
//   --train-fraction F: the taggers train on the first F (0 to 1) of the split's training rows: a learning curve
//   --analysis: recall of capitals by position, C-F1 at probability thresholds, the punctuation tagger's sentence ends
//   inside rows, C-F1 with the word after a predicted sentence end capitalised (case-text with punct-text), and the
//   fused kernels each run chose
//   topics (the README's encoder pipeline, minutes) runs only when named; topics-classifier is the README's text classifier
//   --set applies to every component's options, e.g. --set LearningRateSchedule=Constant --set EarlyStoppingPatience=3
using System.Diagnostics;
using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Rnn;

var settings = args.Select((a, i) => (a, i)).Where(p => p.a == "--set" && p.i + 1 < args.Length).Select(p => args[p.i + 1]).ToArray();
bool analysis = args.Contains("--analysis");
// The tagging training file's 80/20 split, read once for every tagging task and analysis.
var taggingSplit = TaggingSplit();
var (trainTaggingRows, heldTaggingRows) = (taggingSplit[0], taggingSplit[1]);
var moreTaggingRows = args.Contains("--more-text") ? TaggingRowsFromTopicTexts([.. trainTaggingRows, .. heldTaggingRows]) : [];
double trainFraction = Array.IndexOf(args, "--train-fraction") is var f and >= 0 && f + 1 < args.Length ? double.Parse(args[f + 1], CultureInfo.InvariantCulture) : 1;
if (!(trainFraction > 0 && trainFraction <= 1))
    throw new ArgumentOutOfRangeException(nameof(args), $"--train-fraction: expected a fraction in (0, 1], got {trainFraction.ToString(CultureInfo.InvariantCulture)}.");
string tasksArgument = Array.IndexOf(args, "--tasks") is var t and >= 0 && t + 1 < args.Length ? args[t + 1] : "digits,case,punct";
var tasks = tasksArgument.Split(',');
Console.WriteLine($"defaults study: {(settings.Length == 0 ? "package defaults" : string.Join(", ", settings))}");

if (tasks.Contains("digits")) Digits();
var taggerPredictions = new Dictionary<string, string[][]>();
foreach (var task in new[] { "case", "punct", "case-text", "punct-text", "joint-text" }.Where(tasks.Contains)) taggerPredictions[task] = Tagging(task);
if (analysis && taggerPredictions.TryGetValue("case-text", out var casePredicted) && taggerPredictions.TryGetValue("punct-text", out var punctPredicted))
    CapitalsAfterPredictedEnds(casePredicted, punctPredicted);
if (tasks.Contains("topics")) Topics(text: false);
if (tasks.Contains("topics-text")) Topics(text: true);
if (tasks.Contains("topics-oof")) TopicsOutOfFold();
if (tasks.Contains("topics-classifier")) TopicsClassifier();
if (analysis)
    foreach (var verdict in Microsoft.ML.Rnn.Core.FusedKernelChecks.Verdicts)
        Console.WriteLine($"kernel {verdict.Shape}, {(verdict.Training ? "training" : "scoring")}: {verdict.Chosen}");

// The README's text classification as written (raw words as text, a hidden size and an epoch cap).
void TopicsClassifier()
{
    var ml = new MLContext(seed: 1);
    var (inner, _) = TopicsSplit(ml);
    var options = Apply(new RnnSequenceClassifier.Options { HiddenSize = 32, MaxEpochs = 5 });
    var epochs = Count(options);
    var pipeline = ml.Transforms.Conversion.MapValueToKey("Label", "Topic").Append(ml.Transforms.Text.TokenizeIntoWords("Features", "Text"))
        .Append(ml.Transforms.Rnn.SequenceClassifier(options));
    FitAndReport("topics-classifier", ml, pipeline, inner, epochs);
}

// Fits a classification pipeline on the split's training rows and reports its accuracy on the held-out rows.
static void FitAndReport(string task, MLContext ml, IEstimator<ITransformer> pipeline, DataOperationsCatalog.TrainTestData split, EpochCounter epochs)
{
    var clock = Stopwatch.StartNew();
    var model = pipeline.Fit(split.TrainSet);
    double seconds = clock.Elapsed.TotalSeconds;
    var metrics = ml.MulticlassClassification.Evaluate(model.Transform(split.TestSet));
    Report(task, $"micro acc {metrics.MicroAccuracy:F4}  macro acc {metrics.MacroAccuracy:F4}", epochs.Count, seconds);
}

// Stacking without the leak, by hand: class probabilities of a recurrent classifier (the encoder's network and
// head), out of fold for the rows SDCA trains on, from the model fitted on all of them for the held-out rows.
void TopicsOutOfFold()
{
    var ml = new MLContext(seed: 1);
    var (inner, tokens) = TopicsSplit(ml);
    var words = tokens.Append(ml.Transforms.Text.FeaturizeText("NGrams", "Text")).Fit(inner.TrainSet);
    var train = ml.Data.Cache(words.Transform(inner.TrainSet));
    var held = words.Transform(inner.TestSet);
    int folds = settings.FirstOrDefault(x => x.StartsWith("Folds="))?.Split('=')[1] is { } f ? int.Parse(f) : 5;
    RnnSequenceClassifier.Options Options()
    {
        var o = new RnnSequenceClassifier.Options { FeatureColumnName = "Tokens", HiddenSize = 32, MaxEpochs = 4, Cell = RnnCellKind.Gru() };
        foreach (var setting in settings.Where(x => !x.StartsWith("Folds="))) ApplyOne(o, setting);
        return o;
    }
    // The label as its key number (not a key): rows copied through CreateEnumerable/LoadFromEnumerable keep it.
    IDataView Probabilities(ITransformer model, IDataView data)
    {
        var scored = model.Transform(data);
        return ml.Transforms.CopyColumns("Encoding", "Score").Append(ml.Transforms.Conversion.ConvertType("LabelNumber", "Label", DataKind.UInt32))
            .Fit(scored).Transform(scored);
    }
    var clock = Stopwatch.StartNew();
    var parts = new List<IDataView>();
    foreach (var fold in ml.Data.CrossValidationSplit(train, numberOfFolds: folds, seed: 1))
    {
        var model = ml.Transforms.Rnn.SequenceClassifier(Options()).Fit(fold.TrainSet);
        parts.Add(ml.Data.Cache(Probabilities(model, fold.TestSet)));
    }
    var final = ml.Transforms.Rnn.SequenceClassifier(Options()).Fit(train);
    var outOfFold = Concat(ml, parts);

    var sdca = ml.Transforms.Conversion.MapValueToKey("Target", "LabelNumber").Append(ml.Transforms.Concatenate("Features", "Encoding", "NGrams"))
        .Append(ml.MulticlassClassification.Trainers.SdcaMaximumEntropy(labelColumnName: "Target"));
    var stacked = sdca.Fit(outOfFold);
    var heldRows = Concat(ml, [Probabilities(final, held)]);
    var metrics = ml.MulticlassClassification.Evaluate(stacked.Transform(heldRows), labelColumnName: "Target");
    var leaky = sdca.Fit(Concat(ml, [Probabilities(final, train)]));
    var leakyMetrics = ml.MulticlassClassification.Evaluate(leaky.Transform(heldRows), labelColumnName: "Target");
    var alone = ml.MulticlassClassification.Evaluate(final.Transform(held));
    Report("topics", $"OOF probabilities+n-grams macro acc {metrics.MacroAccuracy:F4}  in-fold {leakyMetrics.MacroAccuracy:F4}  classifier alone {alone.MacroAccuracy:F4}", folds, clock.Elapsed.TotalSeconds);
}

// The topics training file split 80/20 (the test file is never read) and the README's token pipeline.
static (DataOperationsCatalog.TrainTestData Inner, IEstimator<ITransformer> Words) TopicsSplit(MLContext ml)
{
    var rows = ml.Data.LoadFromTextFile<Fortune>(Path.Combine(AppContext.BaseDirectory, "Data", "fortune-topics-train.tsv"),
        separatorChar: '\t', hasHeader: true, allowQuoting: false);
    var words = ml.Transforms.Conversion.MapValueToKey("Label", "Topic")
        .Append(ml.Transforms.Text.NormalizeText("Normalized", "Text"))
        .Append(ml.Transforms.Text.TokenizeIntoWords("Words", "Normalized"))
        .Append(ml.Transforms.Conversion.MapValueToKey("Tokens", "Words"));
    return (ml.Data.TrainTestSplit(rows, testFraction: 0.2, seed: 1), words);
}

static IDataView Concat(MLContext ml, IReadOnlyList<IDataView> parts)
{
    var rows = new List<OofRow>();
    foreach (var part in parts)
        rows.AddRange(ml.Data.CreateEnumerable<OofRow>(part, reuseRowObject: false));
    var schema = SchemaDefinition.Create(typeof(OofRow));
    int classes = rows[0].Encoding.Length, ngrams = rows[0].NGrams.Length;
    schema["Encoding"].ColumnType = new VectorDataViewType(NumberDataViewType.Single, classes);
    schema["NGrams"].ColumnType = new VectorDataViewType(NumberDataViewType.Single, ngrams);
    return ml.Data.LoadFromEnumerable(rows, schema);
}

// text: the encoder reads the words as text (its own vocabulary and character features) instead of keys.
void Topics(bool text)
{
    var ml = new MLContext(seed: 1);
    var (inner, words) = TopicsSplit(ml);
    var sdca = ml.MulticlassClassification.Trainers.SdcaMaximumEntropy();   // at its defaults, as a user writes it
    var clock = Stopwatch.StartNew();
    var ngramsOnly = words.Append(ml.Transforms.Text.FeaturizeText("Features", "Text")).AppendCacheCheckpoint(ml).Append(sdca).Fit(inner.TrainSet);
    double ngramsSeconds = clock.Elapsed.TotalSeconds;
    var ngramsMetrics = ml.MulticlassClassification.Evaluate(ngramsOnly.Transform(inner.TestSet));
    var options = Apply(new BiGruEncoder.Options { FeatureColumnName = text ? "Words" : "Tokens", OutputColumnName = "Encoding", HiddenSize = 32, MaxEpochs = 4 });
    var epochs = Count(options);
    clock.Restart();
    var both = words.Append(ml.Transforms.Rnn.BiGruEncoder(options))
        .Append(ml.Transforms.Text.FeaturizeText("NGrams", "Text"))
        .Append(ml.Transforms.Concatenate("Features", "Encoding", "NGrams"))
        .AppendCacheCheckpoint(ml).Append(sdca).Fit(inner.TrainSet);
    double seconds = clock.Elapsed.TotalSeconds;
    var metrics = ml.MulticlassClassification.Evaluate(both.Transform(inner.TestSet));
    Report(text ? "topics-text" : "topics", $"encoder+n-grams macro acc {metrics.MacroAccuracy:F4}  n-grams alone {ngramsMetrics.MacroAccuracy:F4} ({ngramsSeconds:F0} s)", epochs.Count, seconds);
}

void Digits()
{
    var ml = new MLContext(seed: 1);
    var raw = ml.Data.LoadFromTextFile<DigitRow>(Path.Combine(AppContext.BaseDirectory, "Data", "digits.csv"), separatorChar: ',', hasHeader: true);
    // The examples' test rows are a seeded 20% of the file: tune on a split of the other 80% only.
    var training = ml.Data.TrainTestSplit(raw, testFraction: 0.2, seed: 1).TrainSet;   // examples/DigitsRows' split
    var inner = ml.Data.TrainTestSplit(training, testFraction: 0.25, seed: 2);
    var options = Apply(new RnnSequenceClassifier.Options { FeaturesPerStep = 8, HiddenSize = 64, MaxEpochs = 30 });
    var epochs = Count(options);
    var pipeline = ml.Transforms.Conversion.MapValueToKey("Label", "Digit").Append(ml.Transforms.NormalizeMinMax("Features"))
        .Append(ml.Transforms.Rnn.SequenceClassifier(options));
    FitAndReport("digits", ml, pipeline, inner, epochs);
}

string[][] Tagging(string task)
{
    var ml = new MLContext(seed: 1);
    var held = heldTaggingRows;
    (string[] Tokens, string[] Case, string[] Punct)[] train = [.. trainTaggingRows[..(int)Math.Round(trainTaggingRows.Length * trainFraction)], .. moreTaggingRows];
    bool text = task.EndsWith("-text", StringComparison.Ordinal);
    bool joint = task.StartsWith("joint", StringComparison.Ordinal);
    // joint: one tagger on the pair of tags ("C|PERIOD"), its case and punctuation evaluated apart.
    Func<(string[] Tokens, string[] Case, string[] Punct), string[]> pick = joint ? s => s.Case.Zip(s.Punct, (c, p) => c + "|" + p).ToArray()
        : task.StartsWith("case", StringComparison.Ordinal) ? s => s.Case : s => s.Punct;
    IDataView View(IEnumerable<(string[] Tokens, string[] Case, string[] Punct)> rows)
        => ml.Data.LoadFromEnumerable(rows.Select(s => new TagRow { Tokens = s.Tokens, Tags = pick(s) }));
    var options = Apply(new LstmTagger.Options { EmbeddingSize = 64, HiddenSize = 128, Bidirectional = true, MaxEpochs = 15 });
    var epochs = Count(options);
    if (text) options.FeatureColumnName = "Tokens";
    var pipeline = (text ? (IEstimator<ITransformer>)ml.Transforms.CopyColumns("Features", "Tokens") : ml.Transforms.Conversion.MapValueToKey("Features", "Tokens"))
        .Append(ml.Transforms.Conversion.MapValueToKey("Label", "Tags"))
        .Append(ml.Transforms.Rnn.LstmTagger(options));
    var clock = Stopwatch.StartNew();
    var model = pipeline.Fit(View(train));
    double seconds = clock.Elapsed.TotalSeconds;
    var scored = model.Transform(View(held));
    VBuffer<ReadOnlyMemory<char>> names = default;
    scored.Schema["PredictedLabel"].GetKeyValues(ref names);
    var tagNames = names.DenseValues().Select(n => n.ToString()).ToArray();

    // F1 of the tags shown, from predicted tag names per token (a joint tag's case before '|', punctuation after).
    string[] shown = task.StartsWith("case", StringComparison.Ordinal) ? ["C", "U"] : task.StartsWith("punct", StringComparison.Ordinal)
        ? ["PERIOD", "COMMA", "QUESTION"] : ["C", "PERIOD", "COMMA", "QUESTION"];
    string Scores(string[][] predicted)
    {
        TaggingMetrics Evaluate(Func<(string[] Tokens, string[] Case, string[] Punct), string[]> gold, Func<string, string> part)
            => TaggingEvaluator.Evaluate(held.Select(s => (IReadOnlyList<string?>)gold(s)), predicted.Select(p => (IReadOnlyList<string?>)p.Select(part).ToArray()));
        var byCase = joint ? Evaluate(s => s.Case, t => t.Split('|')[0]) : null;
        var byPunct = joint ? Evaluate(s => s.Punct, t => t.Split('|')[1]) : null;
        var plain = joint ? null : Evaluate(pick, t => t);
        return string.Join("  ", shown.Select(tag => (plain ?? (tag is "C" or "U" ? byCase : byPunct))!.PerTag.TryGetValue(tag, out var m) ? $"{tag}-F1 {m.F1:F4}" : $"{tag}-F1 0"));
    }
    var predictedTags = scored.GetColumn<VBuffer<uint>>("PredictedLabel").Select(v => v.DenseValues().Select(k => k == 0 ? "?" : tagNames[k - 1]).ToArray()).ToArray();
    Report(task, Scores(predictedTags), epochs.Count, seconds);

    // The most frequent tag of each word in the training part (the overall most frequent for unseen words).
    var pairs = train.SelectMany(s => s.Tokens.Zip(pick(s))).ToList();
    string overall = pairs.GroupBy(p => p.Second).OrderByDescending(g => g.Count()).First().Key;
    var byWord = pairs.GroupBy(p => p.First).ToDictionary(g => g.Key, g => g.GroupBy(p => p.Second).OrderByDescending(x => x.Count()).First().Key);
    Console.WriteLine($"{"",-7} most frequent tag per word: " + Scores(held.Select(s => s.Tokens.Select(w => byWord.TryGetValue(w, out var tag) ? tag : overall).ToArray()).ToArray()));

    // --analysis (case tasks): recall of capitals by where they are — first in the row, "i", after the gold sentence
    // punctuation, elsewhere (names, titles).
    if (!analysis) return predictedTags;
    if (task.StartsWith("punct", StringComparison.Ordinal))
    {
        // Sentence ends inside a row (not its last word), which the case of the next word depends on.
        int hit = 0, all = 0, predictedInside = 0;
        for (int r = 0; r < held.Length; r++)
            for (int i = 0; i < held[r].Tokens.Length - 1; i++)
            {
                bool gold = held[r].Punct[i] is "PERIOD" or "QUESTION" or "EXCLAIM", predicted = predictedTags[r][i] is "PERIOD" or "QUESTION" or "EXCLAIM";
                all += gold ? 1 : 0; predictedInside += predicted ? 1 : 0; hit += gold && predicted ? 1 : 0;
            }
        Console.WriteLine($"{"",-7} sentence ends inside rows: recall {hit} / {all}, precision {hit} / {predictedInside}");
        return predictedTags;
    }
    var groups = new SortedDictionary<string, (int Hit, int All)>();
    int falsePositives = 0;
    for (int r = 0; r < held.Length; r++)
    {
        var s = held[r];
        for (int i = 0; i < s.Tokens.Length; i++)
        {
            bool predictedC = predictedTags[r][i].Split('|')[0] == "C";
            if (s.Case[i] != "C") { if (predictedC) falsePositives++; continue; }
            string where = i == 0 ? "row start" : s.Tokens[i] == "i" ? "\"i\"" : s.Punct[i - 1] is "PERIOD" or "QUESTION" or "EXCLAIM" ? "sentence start" : "elsewhere";
            var (hit, all) = groups.GetValueOrDefault(where);
            groups[where] = (hit + (predictedC ? 1 : 0), all + 1);
        }
    }
    foreach (var (where, (hit, all)) in groups)
        Console.WriteLine($"{"",-7} C recall at {where,-15} {hit,5} / {all,-5} = {hit / (double)all:F3}");
    Console.WriteLine($"{"",-7} C predicted where the gold is not: {falsePositives}");
    // C-F1 if C were predicted wherever its probability reaches a threshold (chosen here on the held rows: a bound).
    int c = Array.IndexOf(tagNames, "C"), k = tagNames.Length;
    var scores = scored.GetColumn<VBuffer<float>>("Score").Select(v => v.DenseValues().ToArray()).ToArray();
    foreach (var threshold in new[] { 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9 })
        Console.WriteLine($"{"",-7} C at probability >= {threshold:F1}: C-F1 {CapitalF1(held, (r, i) => scores[r][i * k + c] >= threshold):F4}");
    return predictedTags;
}

// --analysis with case-text and punct-text: C-F1 when the word after a predicted sentence end is capitalised too.
void CapitalsAfterPredictedEnds(string[][] casePredicted, string[][] punctPredicted)
{
    double f1 = CapitalF1(heldTaggingRows, (r, i) => casePredicted[r][i] == "C" || i > 0 && punctPredicted[r][i - 1] is "PERIOD" or "QUESTION" or "EXCLAIM");
    Console.WriteLine($"case-text with capitals after predicted sentence ends: C-F1 {f1:F4}");
}

// F1 of the tag C on the held rows when C is predicted at (row, token) where predictedC says so.
static double CapitalF1((string[] Tokens, string[] Case, string[] Punct)[] held, Func<int, int, bool> predictedC)
{
    int tp = 0, fp = 0, fn = 0;
    for (int r = 0; r < held.Length; r++)
        for (int i = 0; i < held[r].Tokens.Length; i++)
        {
            bool predicted = predictedC(r, i), gold = held[r].Case[i] == "C";
            tp += predicted && gold ? 1 : 0; fp += predicted && !gold ? 1 : 0; fn += !predicted && gold ? 1 : 0;
        }
    return 2.0 * tp / (2 * tp + fp + fn);
}

// The tagging training file split 80/20 by a seeded shuffle of its rows (the test file is never read).
static (string[] Tokens, string[] Case, string[] Punct)[][] TaggingSplit()
{
    var sentences = ReadConll(Path.Combine(AppContext.BaseDirectory, "Data", "truecase-punct-train.conll"));
    new Random(1).Shuffle(sentences);
    int cut = sentences.Length * 4 / 5;
    return [sentences[..cut], sentences[cut..]];
}

// The topic file's texts as tagging rows, made as the tagging files were: words of letters, digits, ' and - lower-cased
// with their case (L, C, U, M), the punctuation after a word (, ; : COMMA, . PERIOD, ? QUESTION, ! EXCLAIM), other
// characters dropped; rows of 3 to 118 words (the training file's range) that neither contain nor lie inside a row of 5
// words or more of the tagging training file (its rows: taggingRows).
static (string[] Tokens, string[] Case, string[] Punct)[] TaggingRowsFromTopicTexts((string[] Tokens, string[] Case, string[] Punct)[] taggingRows)
{
    var known = taggingRows.Where(s => s.Tokens.Length >= 5).Select(s => string.Join(' ', s.Tokens)).ToArray();
    var rows = new List<(string[], string[], string[])>();
    foreach (var line in File.ReadLines(Path.Combine(AppContext.BaseDirectory, "Data", "fortune-topics-train.tsv")).Skip(1))
    {
        var words = new List<(string Word, string Case, string Punct)>();
        foreach (System.Text.RegularExpressions.Match m in System.Text.RegularExpressions.Regex.Matches(line[(line.IndexOf('\t') + 1)..], @"[A-Za-z0-9'-]+|[.,;:?!]"))
        {
            string punct = m.Value switch { "," or ";" or ":" => "COMMA", "." => "PERIOD", "?" => "QUESTION", "!" => "EXCLAIM", _ => "" };
            if (punct.Length > 0) { if (words.Count > 0 && words[^1].Punct == "O") words[^1] = words[^1] with { Punct = punct }; continue; }
            string w = m.Value.Trim('\'', '-');
            if (w.Length == 0) continue;
            string wordCase = w == w.ToLowerInvariant() ? "L" : w.Length > 1 && w == w.ToUpperInvariant() ? "U"
                : char.IsUpper(w[0]) && w[1..] == w[1..].ToLowerInvariant() ? "C" : "M";
            words.Add((w.ToLowerInvariant(), wordCase, "O"));
        }
        string joined = string.Join(' ', words.Select(x => x.Word));
        if (words.Count < 3 || words.Count > 118 || known.Any(k => k.Contains(joined, StringComparison.Ordinal) || joined.Contains(k, StringComparison.Ordinal))) continue;
        rows.Add((words.Select(x => x.Word).ToArray(), words.Select(x => x.Case).ToArray(), words.Select(x => x.Punct).ToArray()));
    }
    return rows.ToArray();
}

T Apply<T>(T options) where T : RnnOptionsBase
{
    foreach (var setting in settings) ApplyOne(options, setting);
    return options;
}

static void ApplyOne<T>(T options, string setting) where T : RnnOptionsBase
{
    var (name, value) = (setting[..setting.IndexOf('=')], setting[(setting.IndexOf('=') + 1)..]);
    var field = typeof(T).GetField(name) ?? throw new ArgumentException($"--set {setting}: no option named '{name}'");
    var type = Nullable.GetUnderlyingType(field.FieldType) ?? field.FieldType;
    object? parsed = value == "null" ? null
        : type == typeof(RnnCellKind) ? RnnCellKind.FromType(Enum.Parse<RnnCellType>(value))   // --set Cell=Lstm|Gru|SimpleRnn
        : type.IsEnum ? Enum.Parse(type, value) : Convert.ChangeType(value, type, CultureInfo.InvariantCulture);
    field.SetValue(options, parsed);
}

static EpochCounter Count(RnnOptionsBase options)
{
    var counter = new EpochCounter();
    options.Progress = counter;
    return counter;
}

static void Report(string task, string metrics, int epochs, double seconds)
    => Console.WriteLine($"{task,-7} {metrics,-58} epochs {epochs,3}  fit {seconds,6:F1} s");

static (string[] Tokens, string[] Case, string[] Punct)[] ReadConll(string path)
{
    var sentences = new List<(string[], string[], string[])>();
    var lines = new List<string[]>();
    foreach (var line in File.ReadLines(path).Skip(1).Append(""))
    {
        if (line.Length > 0) { lines.Add(line.Split('\t')); continue; }
        if (lines.Count == 0) continue;
        sentences.Add((lines.Select(l => l[0]).ToArray(), lines.Select(l => l[1]).ToArray(), lines.Select(l => l[2]).ToArray()));
        lines.Clear();
    }
    return sentences.ToArray();
}

internal sealed class EpochCounter : IProgress<EpochProgress>
{
    public int Count { get; private set; }

    public void Report(EpochProgress value) => Count++;
}

internal sealed class DigitRow
{
    [LoadColumn(0, 63), VectorType(64)] public float[] Features = [];
    [LoadColumn(64)] public float Digit { get; set; }
}

internal sealed class Fortune
{
    [LoadColumn(0)] public string Topic { get; set; } = "";
    [LoadColumn(1)] public string Text { get; set; } = "";
}

internal sealed class OofRow
{
    public float[] Encoding { get; set; } = [];
    public float[] NGrams { get; set; } = [];
    public uint LabelNumber { get; set; }
}

internal sealed class TagRow
{
    public string[] Tokens { get; set; } = [];
    public string[] Tags { get; set; } = [];
}
