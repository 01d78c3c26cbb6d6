// A production application that needs neither libtorch nor ML.NET: it scores the recurrent digits classifier that
// examples/DigitsRows trained and converted with ML.NET's ConvertToOnnx (digits-rnn.onnx), with ONNX Runtime alone:
//   1. single rows, one session call each (the request/response path), and
//   2. the whole CSV file in one call (rows of one length batch: every digit is 8 steps of 8 pixels).
// Usage: dotnet run -c Release --project examples/OnnxProductionApp [-- <model.onnx> [<digits.csv>] [--rows N] [--scores batch.tsv]]
// --scores writes "row TAB predicted key TAB probabilities" per row, the format of examples/ProductionApp, for comparison.
// Exit codes: 0 scored; 1 bad arguments; 2 model file missing; 3 model unreadable or not the digits model; 5 data file
// missing or unreadable.
using System.Diagnostics;
using System.Globalization;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

string? Option(string name) => Array.IndexOf(args, name) is var i and >= 0 && i + 1 < args.Length ? args[i + 1] : null;
var positional = args.Where((a, i) => !a.StartsWith("--") && (i == 0 || !args[i - 1].StartsWith("--"))).ToArray();
string modelPath = positional.Length > 0 ? positional[0] : "digits-rnn.onnx";
string dataPath = positional.Length > 1 ? positional[1] : Path.Combine(AppContext.BaseDirectory, "Data", "digits.csv");
if (!int.TryParse(Option("--rows") ?? "3", out int singleRows) || singleRows < 0)
    return Fail(1, $"--rows must be a non-negative integer, got '{Option("--rows")}'.");
if (!File.Exists(modelPath))
{
    return Fail(2, $"model file '{Path.GetFullPath(modelPath)}' not found. Make one with " +
                   "`dotnet run --project examples/DigitsRows -c Release` (it writes digits-rnn.onnx in the current folder).");
}

float[][] pixels;
float[] digits;
try
{
    var rows = File.ReadLines(dataPath).Skip(1).Where(line => line.Length > 0)
        .Select(line => line.Split(',').Select(v => float.Parse(v, CultureInfo.InvariantCulture)).ToArray()).ToArray();
    if (rows.Any(r => r.Length != 65))
        throw new FormatException("every row must hold 64 pixel values and the digit");
    pixels = rows.Select(r => r[..64]).ToArray();
    digits = rows.Select(r => r[64]).ToArray();
}
catch (Exception e) when (e is IOException or FormatException or UnauthorizedAccessException)
{
    return Fail(5, $"cannot read data file '{Path.GetFullPath(dataPath)}': {e.Message}");
}

InferenceSession session;
try
{
    session = new InferenceSession(modelPath);
    foreach (string name in new[] { "Features", "Digit" })
    {
        if (!session.InputMetadata.ContainsKey(name))
            throw new InvalidDataException($"it has no input '{name}'");
    }
    foreach (string name in new[] { "Score.output", "PredictedLabel.output", "PredictedDigit.output" })
    {
        if (!session.OutputMetadata.ContainsKey(name))
            throw new InvalidDataException($"it has no output '{name}'");
    }
}
catch (Exception e) when (e is OnnxRuntimeException or InvalidDataException)
{
    return Fail(3, $"cannot use model '{Path.GetFullPath(modelPath)}': {e.Message.Split('\n')[0]}");
}
using (session)
{
    // ML.NET's converter makes every column of the data it converted with a graph input; the digit is only read by the
    // label mapping, so any value does.
    (float[] Scores, uint Key, float Digit)[] Score(int first, int count)
    {
        var features = new DenseTensor<float>(pixels[first..(first + count)].SelectMany(p => p).ToArray(), [count, 64]);
        var digit = new DenseTensor<float>(new float[count], [count, 1]);
        using var results = session.Run(
            [NamedOnnxValue.CreateFromTensor("Features", features), NamedOnnxValue.CreateFromTensor("Digit", digit)],
            ["Score.output", "PredictedLabel.output", "PredictedDigit.output"]);
        var scores = results.First(r => r.Name == "Score.output").AsTensor<float>().ToArray();
        var keys = results.First(r => r.Name == "PredictedLabel.output").AsTensor<uint>().ToArray();
        var predicted = results.First(r => r.Name == "PredictedDigit.output").AsTensor<float>().ToArray();
        int classes = scores.Length / count;
        return Enumerable.Range(0, count).Select(i => (scores[(i * classes)..((i + 1) * classes)], keys[i], predicted[i])).ToArray();
    }

    Console.WriteLine($"loaded {Path.GetFileName(modelPath)} with ONNX Runtime (inputs: {string.Join(", ", session.InputMetadata.Keys)})");
    for (int row = 0; row < Math.Min(singleRows, pixels.Length); row++)
    {
        var (scores, _, digit) = Score(row, 1)[0];
        Console.WriteLine($"row {row}: predicted {digit} with probability {scores.Max():F4} (label in file: {digits[row]})");
    }

    var clock = Stopwatch.StartNew();
    var all = Score(0, pixels.Length);
    double seconds = clock.Elapsed.TotalSeconds;
    int correct = all.Where((r, i) => r.Digit == digits[i]).Count();
    Console.WriteLine($"scored {all.Length} rows in one call in {seconds:F2} s ({all.Length / seconds:F0} rows/s); " +
                      $"accuracy against the file's digit column {(double)correct / all.Length:F4}");
    if (Option("--scores") is { } scoresPath)
    {
        File.WriteAllLines(scoresPath, all.Select((r, i) => string.Create(CultureInfo.InvariantCulture, $"{i}\t{r.Key}\t")
            + string.Join(' ', r.Scores.Select(s => s.ToString("R", CultureInfo.InvariantCulture)))));
        Console.WriteLine($"scores written to {Path.GetFullPath(scoresPath)}");
    }
}
return 0;

static int Fail(int code, string message)
{
    Console.Error.WriteLine($"OnnxProductionApp: {message}");
    return code;
}
