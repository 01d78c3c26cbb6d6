using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Rnn;
using Microsoft.ML.Rnn.Core;
using static TorchSharp.torch;

namespace HmLstm;

/// <summary>
/// The HM-LSTM as a cell of one's own inside an ML.NET component: registered by name, trained by BiGruEncoder's
/// next-step objective on the fortune texts as characters, saved in a model zip, and scored from the zip by another
/// process that registers the same name; the boundary detectors of the loaded cells are read through the scan unroller.
/// </summary>
internal static class ComponentRun
{
    public const string CellName = "hm-lstm";
    private const int Layers = 3, HiddenPerLayer = 32, SampleRows = 5;

    /// <summary>What every process that trains or loads these models runs first.</summary>
    public static void RegisterCell() => RnnCellKind.Register(CellName, (input, hidden, options) =>
    {
        int layers = int.Parse(options.TryGetValue("layers", out var text) ? text : "3", CultureInfo.InvariantCulture);
        if (hidden % layers != 0)
            throw new ArgumentException($"{CellName}: the hidden size {hidden} must be a multiple of the {layers} layers (each layer gets hidden / layers units).");
        return new HmLstmCell(input, hidden / layers, layers);
    });

    /// <summary>Trains, reports the validation next-step loss next to the unigram entropy, saves the zip and the sample encodings.</summary>
    public static void Train(int epochs, int rows, string modelPath, string encodingsPath)
    {
        var ml = new MLContext(seed: 1);
        var (train, test) = (Load(ml, "fortune-topics-train.tsv", rows), Load(ml, "fortune-topics-test.tsv", SampleRows));
        var options = new BiGruEncoder.Options
        {
            Objective = EncoderObjective.NextStepPrediction, Bidirectional = false, MaxSequenceLength = 64,
            Cell = RnnCellKind.Custom(CellName, new Dictionary<string, string> { ["layers"] = Layers.ToString(CultureInfo.InvariantCulture) }),
            EmbeddingSize = 32, HiddenSize = Layers * HiddenPerLayer, MaxEpochs = epochs, EarlyStoppingPatience = null, Seed = 7,
        };
        var validation = new List<double>();
        options.Progress = new Progress(p =>
        {
            Console.WriteLine($"epoch {p.Epoch + 1}/{p.MaxEpochs}: training loss {p.TrainLoss:F4}, validation next-step loss {p.ValidationMetric:F4} nats");
            if (p.ValidationMetric is double v) validation.Add(v);
        });
        var pipeline = ml.Transforms.Conversion.MapValueToKey("Features", "Chars").Append(ml.Transforms.Rnn.BiGruEncoder(options));
        var model = pipeline.Fit(train);
        Console.WriteLine($"best validation next-step loss {validation.Min():F4} nats; unigram entropy {UnigramNats(ml, train):F4} nats");
        ml.Model.Save(model, train.Schema, modelPath);
        Console.WriteLine($"model written to {Path.GetFullPath(modelPath)}");
        WriteEncodings(ml, model, test, encodingsPath);
        Boundaries(ml, model, test);
        Onnx(ml, model, test, Path.ChangeExtension(modelPath, ".onnx"));
        (model as IDisposable)?.Dispose();
    }

    /// <summary>
    /// The cell describes its step in ONNX (<see cref="IOnnxStepCell"/>), so the model converts and the zip scores through
    /// ONNX Runtime: the sample encodings through both engines, and the pipeline converted by ML.NET's converter.
    /// </summary>
    private static void Onnx(MLContext ml, ITransformer model, IDataView data, string onnxPath)
    {
        var encoder = ((IEnumerable<ITransformer>)model).OfType<BiGruEncoderTransformer>().Single();
        float[][] Encodings(RnnScoringEngine engine)
        {
            encoder.ScoringEngine = engine;
            return ml.Data.CreateEnumerable<EncodingRow>(model.Transform(data), reuseRowObject: false).Select(r => r.Encoding).ToArray();
        }
        var torchSharp = Encodings(RnnScoringEngine.TorchSharp);
        var onnxRuntime = Encodings(RnnScoringEngine.OnnxRuntime);
        encoder.ScoringEngine = RnnScoringEngine.Auto;
        double largest = torchSharp.Zip(onnxRuntime).Max(rows => rows.First.Zip(rows.Second).Max(v => Math.Abs(v.First - v.Second)));
        Console.WriteLine($"ONNX Runtime scores the sample encodings within {largest.ToString("E1", CultureInfo.InvariantCulture)} of TorchSharp");
        using (var stream = File.Create(onnxPath))
            ml.Model.ConvertToOnnx(model, data, stream);
        Console.WriteLine($"converted to ONNX: {Path.GetFullPath(onnxPath)}");
    }

    /// <summary>Another process: loads the zip (the cell registered by name first) and scores the same rows.</summary>
    public static void Score(string modelPath, string encodingsPath)
    {
        var ml = new MLContext(seed: 1);
        var model = ml.Model.Load(modelPath, out _);
        var test = Load(ml, "fortune-topics-test.tsv", SampleRows);
        WriteEncodings(ml, model, test, encodingsPath);
        Boundaries(ml, model, test);
        (model as IDisposable)?.Dispose();
    }

    /// <summary>Round-trip text of each sample row's encoding, one row per line.</summary>
    private static void WriteEncodings(MLContext ml, ITransformer model, IDataView data, string path)
    {
        var rows = ml.Data.CreateEnumerable<EncodingRow>(model.Transform(data), reuseRowObject: false)
            .Select(r => string.Join(' ', r.Encoding.Select(v => v.ToString("R", CultureInfo.InvariantCulture))));
        File.WriteAllLines(path, rows);
        Console.WriteLine($"encodings of {SampleRows} test texts written to {Path.GetFullPath(path)}");
    }

    /// <summary>How often each layer's boundary detector fires on the sample rows, read through the scan unroller.</summary>
    private static void Boundaries(MLContext ml, ITransformer model, IDataView data)
    {
        var encoder = ((IEnumerable<ITransformer>)model).OfType<BiGruEncoderTransformer>().Single().Encoder;
        var cell = (HmLstmCell)encoder.Cells.Forward[0];
        var output = model.Transform(data);
        var column = output.Schema["Features"];
        using var cursor = output.GetRowCursor([column]);
        var getKeys = cursor.GetGetter<VBuffer<uint>>(column);
        VBuffer<uint> keys = default;
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        encoder.eval();
        long vocabulary = encoder.VocabularySize;
        var rates = new double[cell.NumberOfLayers];
        int rows = 0;
        while (cursor.MoveNext())
        {
            getKeys(ref keys);
            // Keys are 1-based; a missing key (0) is the encoder's unknown row, its last.
            var ids = tensor(keys.DenseValues().Take(64).Select(k => k == 0 ? vocabulary - 1 : (long)k - 1).ToArray()).unsqueeze(0);
            var scan = ScanUnroller.Scan(cell, encoder.LayerInputs(ids));
            for (int l = 0; l < rates.Length; l++)
                rates[l] += scan.States[HmLstmCell.BoundaryStateIndex(l)].mean().item<float>();
            rows++;
        }
        for (int l = 0; l < rates.Length; l++) rates[l] /= rows;
        for (int l = 0; l < rates.Length; l++)
            Console.WriteLine($"layer {l + 1} boundary fires at {rates[l].ToString("P1", CultureInfo.InvariantCulture)} of steps");
    }

    /// <summary>The Text column of a fortune file as rows of characters (lower-cased), the first <paramref name="rows"/>.</summary>
    private static IDataView Load(MLContext ml, string file, int rows)
    {
        var texts = File.ReadLines(Path.Combine(AppContext.BaseDirectory, "data", file)).Skip(1)
            .Select(line => line.Split('\t')).Where(f => f.Length >= 2).Take(rows)
            .Select(f => new CharRow { Chars = f[1].ToLowerInvariant().Select(c => c.ToString()).ToArray() }).ToArray();
        return ml.Data.LoadFromEnumerable(texts);
    }

    /// <summary>Entropy (nats) of the training characters' frequencies: what a model without context reaches.</summary>
    private static double UnigramNats(MLContext ml, IDataView train)
    {
        var counts = ml.Data.CreateEnumerable<CharRow>(train, reuseRowObject: false).SelectMany(r => r.Chars.Take(64))
            .GroupBy(c => c).Select(g => (double)g.Count()).ToArray();
        double total = counts.Sum();
        return -counts.Sum(n => n / total * Math.Log(n / total));
    }

    private sealed class Progress(Action<EpochProgress> report) : IProgress<EpochProgress>
    {
        public void Report(EpochProgress value) => report(value);
    }

    private sealed class CharRow
    {
        public string[] Chars { get; set; } = [];
    }

    private sealed class EncodingRow
    {
        public float[] Encoding { get; set; } = [];
    }

}
