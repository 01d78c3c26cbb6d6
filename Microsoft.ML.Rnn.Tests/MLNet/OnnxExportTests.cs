using Microsoft.ML.Data;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Xunit;

namespace Microsoft.ML.Rnn.Tests.MLNet;

/// <summary>
/// ML.NET's own <c>ConvertToOnnx</c> on the components, scored by ONNX Runtime (through <c>ApplyOnnxModel</c> row by
/// row, whose columns drop the graph outputs' ".output", and through a raw <see cref="InferenceSession"/> in batches of
/// rows of one length) against the component's
/// TorchSharp scores, for every cell kind ONNX has, one and two directions, stacked layers, every pooling, key and
/// Single inputs and ragged lengths (0 to 9 steps).
/// </summary>
public sealed class OnnxExportTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("rnn-onnx-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    // Float32 through two different runtimes (libtorch's fused kernels, ONNX Runtime's own): sums in different orders
    // over at most a few hundred terms; scores are probabilities or O(1) features.
    private const float Tolerance = 2e-5f;

    internal sealed class TokenRow
    {
        public uint[] Tokens { get; set; } = [];
        public float[] Steps { get; set; } = [];
        public uint Class { get; set; }
        public bool Flag { get; set; }
        public uint[] Tags { get; set; } = [];
        public float Sum { get; set; }
        [VectorType(2)] public float[] Pair { get; set; } = [];
    }

    /// <summary>
    /// Rows of 0 to 9 tokens out of 12 (key 0, the missing key, included), 2 Single features per step, labels; with
    /// <paramref name="empty"/> false, rows of no steps are left out (ApplyOnnxModel 5.0.1 ends the process on an empty
    /// vector: ONNX Runtime terminates on the empty buffer it is given; a raw session scores such rows).
    /// </summary>
    internal static IDataView Rows(MLContext ml, int count, int seed, bool empty = true)
    {
        var random = new Random(seed);
        var rows = Enumerable.Range(0, count).Select(_ =>
        {
            int length = random.Next(0, 10);
            var tokens = Enumerable.Range(0, length).Select(_ => (uint)random.Next(0, 13)).ToArray();
            return new TokenRow
            {
                Tokens = tokens,
                Steps = Enumerable.Range(0, 2 * length).Select(_ => (float)random.NextDouble() * 2 - 1).ToArray(),
                Class = (uint)(length == 0 ? 1 : tokens[0] % 3 + 1),
                Flag = tokens.Length > 4,
                Tags = tokens.Select(t => t % 2 + 1).ToArray(),
                Sum = tokens.Sum(t => (float)t) / 10,
                Pair = [length / 10f, tokens.Count(t => t == 0)],
            };
        }).Where(r => empty || r.Tokens.Length > 0).ToArray();
        var schema = SchemaDefinition.Create(typeof(TokenRow));
        schema[nameof(TokenRow.Tokens)].ColumnType = new VectorDataViewType(new KeyDataViewType(typeof(uint), 12));
        schema[nameof(TokenRow.Class)].ColumnType = new KeyDataViewType(typeof(uint), 3);
        schema[nameof(TokenRow.Tags)].ColumnType = new VectorDataViewType(new KeyDataViewType(typeof(uint), 2));
        return ml.Data.LoadFromEnumerable(rows, schema);
    }

    /// <summary>The classifier of a <see cref="ClassifierCases"/> configuration, on <see cref="Rows"/>'s tokens or steps.</summary>
    internal static RnnSequenceClassifier.Options ClassifierOptions(string configuration)
    {
        var words = configuration.Split(' ');
        bool steps = words.Contains("steps");
        return new RnnSequenceClassifier.Options
        {
            FeatureColumnName = steps ? nameof(TokenRow.Steps) : nameof(TokenRow.Tokens), FeaturesPerStep = steps ? 2 : 1,
            LabelColumnName = nameof(TokenRow.Class), EmbeddingSize = 5, HiddenSize = 6, MaxEpochs = 2, Seed = 3,
            Cell = words[0] switch
            {
                "lstm" => RnnCellKind.Lstm(),
                "lstm-peepholes" => RnnCellKind.Lstm(new Microsoft.ML.Rnn.LstmCellOptions { UsePeepholes = true, ForgetBias = 1 }),
                // Bounds small enough that the trained cells do clip (their states reach about 0.1-0.5 on these rows).
                "lstm-clip" => RnnCellKind.Lstm(new Microsoft.ML.Rnn.LstmCellOptions { CellClip = 0.05 }),
                "lstm-proj" => RnnCellKind.Lstm(new Microsoft.ML.Rnn.LstmCellOptions { NumProj = 3, ProjClip = 0.05 }),
                "lstm-all" => RnnCellKind.Lstm(new Microsoft.ML.Rnn.LstmCellOptions { UsePeepholes = true, ForgetBias = 1, CellClip = 0.05, NumProj = 4 }),
                "cifg" => RnnCellKind.CoupledInputForgetLstm(),
                "layernorm" => RnnCellKind.LayerNormLstm(),
                "gru" => RnnCellKind.Gru(),
                "gru-tf" => RnnCellKind.Gru(GruResetGate.BeforeRecurrentMatmul),
                "rnn-relu" => RnnCellKind.SimpleRnn(SimpleRnnActivation.Relu),
                _ => RnnCellKind.SimpleRnn(),
            },
            Bidirectional = words.Contains("bidirectional"),
            NumberOfLayers = words.Contains("two-layers") ? 2 : 1,
            BidirectionalStacking = words.Contains("per-direction") ? BidirectionalStacking.PerDirection : BidirectionalStacking.LayerByLayer,
            Pooling = words.Contains("mean") ? SequencePooling.Mean : words.Contains("max") ? SequencePooling.Max : SequencePooling.LastState,
            EnsembleSize = words.Contains("ensemble") ? 3 : 1,
            Dropout = words.Contains("dropout") ? 0.3f : 0,
            MaxSequenceLength = words.Contains("max-steps") ? 4 : null,
        };
    }

    public static TheoryData<string> ClassifierCases => new()
    {
        "lstm", "lstm bidirectional", "gru bidirectional mean", "gru-tf max", "rnn-relu bidirectional", "rnn",
        "lstm two-layers bidirectional", "gru two-layers bidirectional per-direction", "lstm-peepholes bidirectional", "lstm steps",
        "gru bidirectional ensemble",
        // Cells and options ONNX has no operator for: a Scan over the cell's step.
        "cifg bidirectional", "layernorm two-layers", "lstm-clip bidirectional mean", "lstm-proj two-layers bidirectional per-direction",
        "lstm-all steps max", "layernorm bidirectional ensemble",
        // Dropout between layers wraps the lower layers' cells: the identity at inference.
        "gru two-layers bidirectional dropout", "cifg two-layers dropout",
        // Rows longer than MaxSequenceLength keep their first steps, in the graph as in the component.
        "gru bidirectional max-steps", "lstm steps max-steps",
    };

    /// <summary>Cells ONNX has an operator for, written as a Scan over their step instead (<see cref="Onnx.OnnxEncoderExport.AlwaysScan"/>).</summary>
    public static TheoryData<string> ScanOfOperatorCases => new()
    {
        "lstm bidirectional", "lstm-peepholes two-layers", "gru bidirectional", "gru-tf two-layers bidirectional per-direction", "rnn-relu", "rnn steps",
    };

    [Theory]
    [MemberData(nameof(ScanOfOperatorCases))]
    public void TheStepOfEveryCellWithAnOperatorScoresAsTheOperator(string configuration)
    {
        var ml = new MLContext(seed: 1);
        var data = Rows(ml, 60, seed: 2);
        var options = ClassifierOptions(configuration);
        using var model = ml.Transforms.Rnn.SequenceClassifier(options).Fit(data);
        var input = Only(ml, data, options.FeatureColumnName);
        string operatorPath = Convert(ml, model, input, "operator");
        string scanPath;
        Onnx.OnnxEncoderExport.AlwaysScan = true;
        try
        {
            scanPath = Convert(ml, model, input, "scan");
        }
        finally
        {
            Onnx.OnnxEncoderExport.AlwaysScan = false;
        }
        string op = configuration.StartsWith("lstm", StringComparison.Ordinal) ? "LSTM" : configuration.StartsWith("gru", StringComparison.Ordinal) ? "GRU" : "RNN";
        Assert.True(HasOperator(operatorPath, op) && !HasOperator(operatorPath, "Scan"), $"{configuration}: the {op} operator, no Scan");
        Assert.True(HasOperator(scanPath, "Scan") && !HasOperator(scanPath, op), $"{configuration}: a Scan, no {op} operator");
        var expected = Floats(model.Transform(input), "Score");
        AssertClose(expected, RunInBatches(scanPath, input, options.FeatureColumnName, "Score.output"));
        AssertClose(expected, RunInBatches(operatorPath, input, options.FeatureColumnName, "Score.output"));
    }

    /// <summary>
    /// True when the model file holds a node of operator <paramref name="op"/>: a NodeProto's op_type is field 4, written
    /// as the tag byte 0x22, the name's length and its bytes (nodes inside a Scan's body included).
    /// </summary>
    internal static bool HasOperator(string path, string op)
    {
        byte[] pattern = [0x22, (byte)op.Length, .. System.Text.Encoding.ASCII.GetBytes(op)];
        return File.ReadAllBytes(path).AsSpan().IndexOf(pattern) >= 0;
    }

    [Theory]
    [MemberData(nameof(ClassifierCases))]
    public void ClassifierScoresTheSameInOnnxRuntime(string configuration)
    {
        var ml = new MLContext(seed: 1);
        var data = Rows(ml, 60, seed: 2);
        var options = ClassifierOptions(configuration);
        using var model = ml.Transforms.Rnn.SequenceClassifier(options).Fit(data);
        var input = Only(ml, data, options.FeatureColumnName);
        string path = Convert(ml, model, input, configuration.Replace(' ', '-'));

        // Rows of no steps too: ONNX Runtime's GRU would end the process on them, so the exported GRU reads one zero step.
        AssertClose(Floats(model.Transform(input), "Score"), RunInBatches(path, input, options.FeatureColumnName, "Score.output"));
        var nonEmpty = Only(ml, Rows(ml, 60, seed: 2, empty: false), options.FeatureColumnName);
        var onnx = ml.Transforms.ApplyOnnxModel(path).Fit(nonEmpty).Transform(nonEmpty);
        AssertClose(Floats(model.Transform(nonEmpty), "Score"), Floats(onnx, "Score"));
        Assert.Equal(Keys(model.Transform(nonEmpty), "PredictedLabel"), Keys(onnx, "PredictedLabel"));
    }

    [Theory]
    [InlineData(nameof(TokenRow.Tokens), nameof(TokenRow.Sum), 1, RowScaling.None)]
    [InlineData(nameof(TokenRow.Steps), nameof(TokenRow.Pair), 2, RowScaling.None)]
    [InlineData(nameof(TokenRow.Steps), nameof(TokenRow.Sum), 1, RowScaling.MeanAbsolute)]
    [InlineData(nameof(TokenRow.Steps), nameof(TokenRow.Pair), 2, RowScaling.Standardize)]
    public void RegressorScoresTheSameInOnnxRuntime(string features, string label, int ensembleSize, RowScaling scaling)
    {
        var ml = new MLContext(seed: 1);
        var data = Rows(ml, 60, seed: 5);
        using var model = ml.Transforms.Rnn.SequenceRegressor(new SequenceRegressor.Options
        {
            FeatureColumnName = features, FeaturesPerStep = features == nameof(TokenRow.Steps) ? 2 : 1, LabelColumnName = label,
            EmbeddingSize = 4, HiddenSize = 5, MaxEpochs = 2, Seed = 1, EnsembleSize = ensembleSize, Bidirectional = ensembleSize == 2,
            Pooling = ensembleSize == 2 ? SequencePooling.Mean : SequencePooling.LastState,
            Scaling = scaling, TargetFeatureIndex = scaling == RowScaling.None ? 0 : 1,
        }).Fit(data);
        var all = Only(ml, data, features);
        string path = Convert(ml, model, all, $"regressor-{label}-{scaling}");
        // Rows of no steps too (raw session); ApplyOnnxModel on rows with steps.
        AssertClose(Floats(model.Transform(all), "Score"), RunInBatches(path, all, features, "Score.output"));
        var nonEmpty = Only(ml, Rows(ml, 60, seed: 5, empty: false), features);
        var onnx = ml.Transforms.ApplyOnnxModel(path).Fit(nonEmpty).Transform(nonEmpty);
        AssertClose(Floats(model.Transform(nonEmpty), "Score"), Floats(onnx, "Score"));
    }

    [Fact]
    public void BinaryClassifierEncoderAndTaggerScoreTheSameInOnnxRuntime()
    {
        var ml = new MLContext(seed: 1);
        var data = Rows(ml, 60, seed: 4);
        var all = Only(ml, data, nameof(TokenRow.Tokens));
        var tokens = Only(ml, Rows(ml, 60, seed: 4, empty: false), nameof(TokenRow.Tokens));

        using (var binary = ml.Transforms.Rnn.SequenceClassifier(new RnnSequenceClassifier.Options
               {
                   FeatureColumnName = nameof(TokenRow.Tokens), LabelColumnName = nameof(TokenRow.Flag), EmbeddingSize = 4, HiddenSize = 5, MaxEpochs = 2, Seed = 1,
                   LearningRate = 0.1f, EnsembleSize = 2, // a large step: two epochs already predict both labels
               }).Fit(data))
        {
            string binaryPath = Convert(ml, binary, all, "binary");
            var onnx = ml.Transforms.ApplyOnnxModel(binaryPath).Fit(tokens).Transform(tokens);
            var scored = binary.Transform(tokens);
            AssertClose(Floats(scored, "Score"), Floats(onnx, "Score"));
            AssertClose(Floats(scored, "Probability"), Floats(onnx, "Probability"));
            // The predicted label through ApplyOnnxModel (ML.NET 5.0.1 read every Boolean output as false here; 6.0.0
            // reads it right), on rows predicted both ways, and through a raw session for every row, empty ones included.
            var viaMLNet = onnx.GetColumn<bool[]>("PredictedLabel").Select(v => v[0]).ToArray();
            Assert.Equal(Read<bool>(scored, "PredictedLabel"), viaMLNet);
            Assert.Contains(true, viaMLNet);
            Assert.Contains(false, viaMLNet);
            using var session = new InferenceSession(binaryPath);
            var predicted = ColumnValues.Read(all, nameof(TokenRow.Tokens)).Cast<object[]>().Select(row =>
            {
                var value = NamedOnnxValue.CreateFromTensor(nameof(TokenRow.Tokens), new DenseTensor<uint>(row.Select(v => (uint)(ulong)v).ToArray(), [1, row.Length]));
                using var result = session.Run([value], ["PredictedLabel.output"]);
                return result.First().AsTensor<bool>().Single();
            });
            Assert.Equal(Read<bool>(binary.Transform(all), "PredictedLabel"), predicted);
        }

        using (var encoder = ml.Transforms.Rnn.BiGruEncoder(new BiGruEncoder.Options
               {
                   FeatureColumnName = nameof(TokenRow.Tokens), LabelColumnName = nameof(TokenRow.Class), EmbeddingSize = 4, HiddenSize = 5,
                   MaxEpochs = 1, Seed = 1, Pooling = SequencePooling.Mean,
               }).Fit(data))
        {
            string path = Convert(ml, encoder, all, "encoder");
            var onnx = ml.Transforms.ApplyOnnxModel(path).Fit(tokens).Transform(tokens);
            AssertClose(Floats(encoder.Transform(tokens), "Encoding"), Floats(onnx, "Encoding"));
            AssertClose(Floats(encoder.Transform(all), "Encoding"), RunInBatches(path, all, nameof(TokenRow.Tokens), "Encoding.output"));
        }

        using (var tagger = ml.Transforms.Rnn.LstmTagger(new LstmTagger.Options
               {
                   FeatureColumnName = nameof(TokenRow.Tokens), LabelColumnName = nameof(TokenRow.Tags), EmbeddingSize = 4, HiddenSize = 5,
                   Bidirectional = true, MaxEpochs = 1, Seed = 1,
               }).Fit(data))
        {
            var onnx = ml.Transforms.ApplyOnnxModel(Convert(ml, tagger, tokens, "tagger")).Fit(tokens).Transform(tokens);
            var scored = tagger.Transform(tokens);
            AssertClose(Floats(scored, "Score"), Floats(onnx, "Score"));
            Assert.Equal(Keys(scored, "PredictedLabel"), Keys(onnx, "PredictedLabel"));
        }
    }

    private sealed class Sentence
    {
        public string[] Words { get; set; } = [];
        public string[] Tags { get; set; } = [];
    }

    /// <summary>
    /// Token text with characters: the vocabulary lookup, unknown words and characters, empty tokens and tokens longer
    /// than 20 characters, through the whole character CNN, in a tagger with both directions.
    /// </summary>
    [Fact]
    public void TokenTextWithCharactersScoresTheSameInOnnxRuntime()
    {
        var ml = new MLContext(seed: 1);
        var sentences = ConllSentences.Read(ConllSentences.DataPath("truecase-punct-train.conll"), take: 80)
            .Select(s => new Sentence { Words = s.Tokens, Tags = s.Case }).ToList();
        var data = ml.Data.LoadFromEnumerable(sentences);
        var pipeline = ml.Transforms.Conversion.MapValueToKey("Label", nameof(Sentence.Tags))
            .Append(ml.Transforms.Rnn.LstmTagger(new LstmTagger.Options
            {
                FeatureColumnName = nameof(Sentence.Words), EmbeddingSize = 6, HiddenSize = 5, CharacterFeatures = 4, Bidirectional = true,
                MaxEpochs = 1, Seed = 2,
            }));
        var model = pipeline.Fit(data);
        var unseen = new[]
        {
            new Sentence { Words = ["the", "zyxwvutsrqponmlkjihgfedcbaqq", "", "naïve", "café", "42"], Tags = ["L", "L", "L", "L", "L", "L"] },
            new Sentence { Words = ["antidisestablishmentarianism"], Tags = ["L"] },
        };
        var input = Only(ml, ml.Data.LoadFromEnumerable(sentences.Take(30).Concat(unseen)), nameof(Sentence.Words));
        var tagger = model.LastTransformer;
        string path = Convert(ml, tagger, input, "tokens");
        var onnx = ml.Transforms.ApplyOnnxModel(path).Fit(input).Transform(input);
        var scored = tagger.Transform(input);
        AssertClose(Floats(scored, "Score"), Floats(onnx, "Score"));
        Assert.Equal(Keys(scored, "PredictedLabel"), Keys(onnx, "PredictedLabel"));
        ((IDisposable)tagger).Dispose();
    }

    /// <summary>The README's pipelines (smaller and shorter), ML.NET's transforms around the components included, convert whole.</summary>
    [Fact]
    public void TheReadmePipelinesConvertWhole()
    {
        var ml = new MLContext(seed: 1);
        var rows = ml.Data.CreateEnumerable<Docs.Fortune>(ml.Data.LoadFromTextFile<Docs.Fortune>(
            Path.Combine(AppContext.BaseDirectory, "Data", "fortune-topics-train.tsv"), hasHeader: true, allowQuoting: false), false).Where((_, i) => i % 8 == 0).ToList();   // the file is sorted by topic
        var data = ml.Data.Cache(ml.Data.LoadFromEnumerable(rows));
        // Without NormalizeText: ML.NET 5.0.1 has no ONNX form for it.
        var words = ml.Transforms.Conversion.MapValueToKey("Label", "Topic")
            .Append(ml.Transforms.Text.TokenizeIntoWords("Words", "Text"));

        var classifier = words.Append(ml.Transforms.CopyColumns("Features", "Words"))
            .Append(ml.Transforms.Rnn.SequenceClassifier(hiddenSize: 8, maxEpochs: 1)).Fit(data);
        var onnx = ml.Transforms.ApplyOnnxModel(Convert(ml, classifier, data, "readme-classifier")).Fit(data).Transform(data);
        AssertClose(Floats(classifier.Transform(data), "Score"), Floats(onnx, "Score"));

        var encoder = words.Append(ml.Transforms.Rnn.BiGruEncoder("Encoding", "Words", labelColumnName: null, hiddenSize: 8, maxEpochs: 1))
            .Append(ml.Transforms.NormalizeLpNorm("Encoding"))
            // FeaturizeText without its text normalizer, which ML.NET 5.0.1 cannot export.
            .Append(ml.Transforms.Text.FeaturizeText("NGrams", new Microsoft.ML.Transforms.Text.TextFeaturizingEstimator.Options
            {
                CaseMode = Microsoft.ML.Transforms.Text.TextNormalizingEstimator.CaseMode.None,
                KeepDiacritics = true, KeepPunctuations = true, KeepNumbers = true,
            }, "Text"))
            .Append(ml.Transforms.Concatenate("Features", "Encoding", "NGrams"))
            .AppendCacheCheckpoint(ml)
            .Append(ml.MulticlassClassification.Trainers.SdcaMaximumEntropy(maximumNumberOfIterations: 5)).Fit(data);
        onnx = ml.Transforms.ApplyOnnxModel(Convert(ml, encoder, data, "readme-encoder")).Fit(data).Transform(data);
        AssertClose(Floats(encoder.Transform(data), "Score"), Floats(onnx, "Score"));
    }

    [Fact]
    public void AModelLoadedFromAZipConvertsToo()
    {
        var ml = new MLContext(seed: 1);
        var data = Rows(ml, 40, seed: 5);
        var tokens = Only(ml, Rows(ml, 40, seed: 5, empty: false), nameof(TokenRow.Tokens));
        string zip = Path.Combine(_directory, "model.zip");
        using (var model = ml.Transforms.Rnn.SequenceClassifier(nameof(TokenRow.Class), nameof(TokenRow.Tokens), hiddenSize: 4, maxEpochs: 1).Fit(data))
            ml.Model.Save(model, data.Schema, zip);
        var loaded = ml.Model.Load(zip, out _);
        try
        {
            var onnx = ml.Transforms.ApplyOnnxModel(Convert(ml, loaded, tokens, "loaded")).Fit(tokens).Transform(tokens);
            AssertClose(Floats(loaded.Transform(tokens), "Score"), Floats(onnx, "Score"));
        }
        finally
        {
            (loaded as IDisposable)?.Dispose();
        }
    }

    /// <summary>
    /// <paramref name="data"/> with only <paramref name="column"/>: the exported graph's inputs are the columns at the root
    /// of the pipeline ML.NET's converter walks back to, which a cache is.
    /// </summary>
    internal static IDataView Only(MLContext ml, IDataView data, string column)
        => ml.Data.Cache(ml.Transforms.SelectColumns(column).Fit(data).Transform(data));

    private string Convert(MLContext ml, ITransformer model, IDataView input, string name) => Convert(ml, model, input, _directory, name);

    /// <summary>Converts <paramref name="model"/> with ML.NET's <c>ConvertToOnnx</c> into <paramref name="directory"/>; returns the file.</summary>
    internal static string Convert(MLContext ml, ITransformer model, IDataView input, string directory, string name)
    {
        string path = Path.Combine(directory, name + ".onnx");
        using (var stream = File.Create(path))
            ml.Model.ConvertToOnnx(model, input, stream);
        return path;
    }

    /// <summary>
    /// Scores the rows through a raw ONNX Runtime session, rows of one length in one batch (rows of no steps too); returns
    /// each row's output in row order.
    /// </summary>
    internal static List<float[]> RunInBatches(string path, IDataView input, string column, string output)
    {
        using var session = new InferenceSession(path);
        var rows = ColumnValues.Read(input, column).Cast<object[]>().ToList();
        bool singles = input.Schema[column].Type.GetItemType() == NumberDataViewType.Single;
        var results = new float[rows.Count][];
        foreach (var group in rows.Select((values, index) => (values, index)).GroupBy(r => r.values.Length))
        {
            var members = group.ToList();
            int n = members.Count, width = group.Key;
            NamedOnnxValue value = singles
                ? NamedOnnxValue.CreateFromTensor(column, new DenseTensor<float>(members.SelectMany(m => m.values.Cast<float>()).ToArray(), [n, width]))
                : NamedOnnxValue.CreateFromTensor(column, new DenseTensor<uint>(members.SelectMany(m => m.values.Select(v => (uint)(ulong)v)).ToArray(), [n, width]));
            using var outputs = session.Run([value], [output]);
            var tensor = outputs.First().AsTensor<float>();
            int size = (int)(tensor.Length / n);
            var flat = tensor.ToArray();
            for (int i = 0; i < n; i++)
                results[members[i].index] = flat.AsSpan(i * size, size).ToArray();
        }
        return results.ToList();
    }

    internal static List<float[]> Floats(IDataView data, string column)
    {
        var type = data.Schema[column].Type;
        return type is VectorDataViewType
            ? Read<VBuffer<float>>(data, column).Select(v => v.DenseValues().ToArray()).ToList()
            : Read<float>(data, column).Select(v => new[] { v }).ToList();
    }

    internal static List<uint[]> Keys(IDataView data, string column)
        => data.Schema[column].Type is VectorDataViewType
            ? Read<VBuffer<uint>>(data, column).Select(v => v.DenseValues().ToArray()).ToList()
            : Read<uint>(data, column).Select(v => new[] { v }).ToList();

    private static List<T> Read<T>(IDataView data, string column)
    {
        var values = new List<T>();
        using var cursor = data.GetRowCursor([data.Schema[column]]);
        var getter = cursor.GetGetter<T>(data.Schema[column]);
        T value = default!;
        while (cursor.MoveNext())
        {
            getter(ref value);
            values.Add(value is VBuffer<float> f ? (T)(object)CopyOf(f) : value is VBuffer<uint> k ? (T)(object)CopyOf(k) : value);
        }
        return values;
    }

    private static VBuffer<TItem> CopyOf<TItem>(VBuffer<TItem> buffer)
    {
        VBuffer<TItem> copy = default;
        buffer.CopyTo(ref copy);
        return copy;
    }

    /// <summary>Every row within <see cref="Tolerance"/>.</summary>
    internal static void AssertClose(List<float[]> expected, IReadOnlyList<float[]> actual)
    {
        Assert.Equal(expected.Count, actual.Count);
        for (int i = 0; i < expected.Count; i++)
            Assert.Equal(expected[i], actual[i], Tolerances.Within(Tolerance));
    }
}
