// A production application: it never trains. It loads a model zip saved by another program (examples/DigitsRows
// writes digits-rnn.zip) with mlContext.Model.Load alone — no registration call, no training code, no libtorch: the
// recurrent component scores through ONNX Runtime in-process (Microsoft.ML.Rnn.OnnxRuntime, RnnScoringEngine.Auto) — then
//   1. scores single rows with a PredictionEngine (the request/response path of a web service), and
//   2. scores a whole CSV file in batches with Transform (the batch path; rows go through the network in batches).
// Usage: dotnet run -c Release --project examples/ProductionApp [-- <model.zip> [<digits.csv>] [--rows N]
//            [--scores batch.tsv] [--single-scores single.tsv]]
// Defaults: digits-rnn.zip in the current folder (where `dotnet run --project examples/DigitsRows` saves it) and the
// digits file copied next to this app. --scores / --single-scores write the scores in round-trip form (row, key,
// probabilities) so that another process's predictions can be compared exactly.
// Exit codes: 0 scored; 1 bad arguments; 2 model file missing; 3 model file unreadable (corrupt, truncated, not an
// ML.NET model zip); 4 the model does not score digit rows; 5 data file missing or unreadable; 6 the model needs
// libtorch (its zip has no ONNX graph, or a part has no ONNX form), which this application does not ship.
using System.Diagnostics;
using Examples.Shared;
using Microsoft.ML;
using Microsoft.ML.Data;

string? Option(string name) => Array.IndexOf(args, name) is var i and >= 0 && i + 1 < args.Length ? args[i + 1] : null;
var positional = args.Where((a, i) => !a.StartsWith("--") && (i == 0 || !args[i - 1].StartsWith("--"))).ToArray();
string modelPath = positional.Length > 0 ? positional[0] : "digits-rnn.zip";
string dataPath = positional.Length > 1 ? positional[1] : Path.Combine(AppContext.BaseDirectory, "Data", "digits.csv");
if (!int.TryParse(Option("--rows") ?? "3", out int singleRows) || singleRows < 0)
    return Fail(1, $"--rows must be a non-negative integer, got '{Option("--rows")}'.");

if (!File.Exists(modelPath))
{
    return Fail(2, $"model file '{Path.GetFullPath(modelPath)}' not found. Train and save one first with " +
                   "`dotnet run --project examples/DigitsRows -c Release` (it writes digits-rnn.zip in the current folder), " +
                   "or pass the path of a model zip as the first argument.");
}
if (!File.Exists(dataPath))
    return Fail(5, $"data file '{Path.GetFullPath(dataPath)}' not found.");

var ml = new MLContext(seed: 1);
ITransformer model;
DataViewSchema modelInput;
try
{
    model = ml.Model.Load(modelPath, out modelInput);
}
catch (Exception e) when (NativeLibraryMissing(e) is { } missing)
{
    return Fail(6, $"cannot score model '{Path.GetFullPath(modelPath)}' in this application: {FirstLine(missing.Message)}");
}
catch (Exception e) when (e is not OutOfMemoryException)
{
    return Fail(3, $"cannot load model '{Path.GetFullPath(modelPath)}': it is corrupt, truncated or not an ML.NET model zip " +
                   $"({e.GetType().Name}: {FirstLine(e.Message)}).");
}

IDataView data;
try
{
    data = ml.Data.LoadFromTextFile<DigitRow>(dataPath, separatorChar: ',', hasHeader: true);
    data.Preview(maxRows: 1); // the text loader is lazy: read a row now so a bad file is reported here
}
catch (Exception e) when (e is not OutOfMemoryException)
{
    return Fail(5, $"cannot read data file '{Path.GetFullPath(dataPath)}': {FirstLine(e.Message)}");
}

// The model must turn these rows into multiclass scores; checking the output schema before scoring gives one clear
// message instead of an exception deep inside the first prediction.
float[] digitOfKey;
try
{
    var output = model.GetOutputSchema(data.Schema);
    if (output.GetColumnOrNull("Score") is not { Type: VectorDataViewType { ItemType: NumberDataViewType } }
        || output.GetColumnOrNull("PredictedLabel") is not { Type: KeyDataViewType } predicted)
        throw new InvalidOperationException("it has no multiclass Score and PredictedLabel output columns");
    VBuffer<float> keyValues = default;
    predicted.GetKeyValues(ref keyValues); // ML.NET keys are 1-based: key k is digitOfKey[k - 1]
    digitOfKey = keyValues.DenseValues().ToArray();
}
catch (Exception e) when (e is not OutOfMemoryException)
{
    return Fail(4, $"model '{modelPath}' (input columns: {string.Join(", ", modelInput.Select(c => c.Name))}) does not " +
                   $"score digit rows (64 pixel values and a Digit column): {FirstLine(e.Message)}");
}
Console.WriteLine($"loaded {Path.GetFileName(modelPath)}: classes {string.Join(" ", digitOfKey)}");

// 1. Single rows, one request at a time. A PredictionEngine is not thread-safe: one per thread (or a pool).
var engine = ml.Model.CreatePredictionEngine<DigitRow, DigitPrediction>(model);
var firstRows = ml.Data.CreateEnumerable<DigitRow>(data, reuseRowObject: false).Take(singleRows).ToList();
var singleLines = new List<string>();
for (int row = 0; row < firstRows.Count; row++)
{
    var prediction = engine.Predict(firstRows[row]);
    float digit = digitOfKey[prediction.PredictedLabel - 1];
    Console.WriteLine($"row {row}: predicted {digit} with probability {prediction.Score.Max():F4} (label in file: {firstRows[row].Digit})");
    singleLines.Add(ScoreFile.Line(row, prediction.PredictedLabel, prediction.Score));
}
if (Option("--single-scores") is { } singlePath)
    File.WriteAllLines(singlePath, singleLines);

// 2. The whole file in batches: Transform is lazy, the cursor pulls rows through the network batch by batch.
var clock = Stopwatch.StartNew();
var scored = model.Transform(data);
long rows = 0, correct = 0;
using (var cursor = scored.GetRowCursor([scored.Schema["PredictedLabel"], scored.Schema["Digit"]]))
{
    var getPredicted = cursor.GetGetter<uint>(scored.Schema["PredictedLabel"]);
    var getDigit = cursor.GetGetter<float>(scored.Schema["Digit"]);
    uint key = 0;
    float label = 0;
    while (cursor.MoveNext())
    {
        getPredicted(ref key);
        getDigit(ref label);
        rows++;
        if (key > 0 && digitOfKey[key - 1] == label) correct++;
    }
}
Console.WriteLine($"scored {rows} rows in batches in {clock.Elapsed.TotalSeconds:F2} s ({rows / clock.Elapsed.TotalSeconds:F0} rows/s); " +
                  $"accuracy against the file's Digit column {(double)correct / Math.Max(rows, 1):F4}");
if (Option("--scores") is { } scoresPath)
{
    ScoreFile.Write(scored, scoresPath);
    Console.WriteLine($"scores written to {Path.GetFullPath(scoresPath)}");
}
return 0;

static int Fail(int code, string message)
{
    Console.Error.WriteLine($"ProductionApp: {message}");
    return code;
}

static string FirstLine(string text) => text.Split('\n')[0].Trim();

// A model whose component needs libtorch (no ONNX graph in the zip, or a part without an ONNX form), which this
// application does not ship: ML.NET's loader wraps the component's DllNotFoundException.
static DllNotFoundException? NativeLibraryMissing(Exception e)
{
    for (Exception? inner = e; inner is not null; inner = inner.InnerException)
        if (inner is DllNotFoundException missing) return missing;
    return null;
}

/// <summary>One row of the digits file: 64 pixel values (8 rows of 8) and the digit, as the model was trained on.</summary>
internal sealed class DigitRow
{
    [LoadColumn(0, 63), VectorType(64)] public float[] Features { get; set; } = [];
    [LoadColumn(64)] public float Digit { get; set; }
}

/// <summary>The classifier's outputs: the predicted class key (1-based) and the class probabilities.</summary>
internal sealed class DigitPrediction
{
    public uint PredictedLabel { get; set; }
    public float[] Score { get; set; } = [];
}
