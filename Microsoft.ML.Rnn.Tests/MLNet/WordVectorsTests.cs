using Microsoft.ML.Data;
using Microsoft.ML.Rnn.Features;
using Xunit;

namespace Microsoft.ML.Rnn.Tests.MLNet;

/// <summary>
/// WordVectorsFile through the components: the embedding rows of the file's words start as the file's vectors (exact
/// spelling first, then lower-cased), other rows start random, the model no longer needs the file once trained, and a
/// file that does not fit the options fails with a message naming the option. Fixture: TestData/word-vectors.txt
/// (hand-written GloVe-style file, four values per word).
/// </summary>
public sealed class WordVectorsTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("rnn-vectors-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private static string VectorsPath => Path.Combine(AppContext.BaseDirectory, "Data", "word-vectors.txt");

    /// <summary>The fixture's vectors as the components must read them (written out by hand, not parsed from the file).</summary>
    private static readonly Dictionary<string, float[]> Expected = new()
    {
        ["good"] = new[] { 0.5f, 1.25f, -0.75f, 2f },
        ["bad"] = new[] { -1.5f, 0.5f, 1f, -2f },       // the exact "bad" line, not the earlier "Bad"
        ["great"] = new[] { 0.25f, -1f, 1.5f, 0.75f },  // only "Great" is in the file: matched lower-cased
        ["the"] = new[] { 0.0625f, -0.0625f, 0.125f, -0.125f },
    };

    private static readonly string[] NotInFile = { "film", "was", "plot", "a", "dull", "long" };

    private sealed class TextRow
    {
        public string Text = "";
        public bool Label;
    }

    private static TextRow[] Sentiment(int count, int seed)
    {
        string[] filler = { "the", "film", "was", "plot", "a", "bad", "dull", "long" };
        var random = new Random(seed);
        return Enumerable.Range(0, count).Select(i =>
        {
            var words = Enumerable.Range(0, random.Next(2, 7)).Select(_ => filler[random.Next(filler.Length)]).ToList();
            if (i % 2 == 0) words.Insert(random.Next(words.Count + 1), i % 4 == 0 ? "good" : "great");
            return new TextRow { Text = string.Join(' ', words), Label = i % 2 == 0 };
        }).ToArray();
    }

    private static IDataView Tokens(MLContext ml, TextRow[] rows)
    {
        var text = ml.Data.LoadFromEnumerable(rows);
        return ml.Transforms.Text.TokenizeIntoWords("Features", "Text").Append(ml.Transforms.Conversion.MapValueToKey("Features"))
            .Fit(text).Transform(text);
    }

    /// <summary>Token of each embedding row (row i is key i + 1; the last row is the missing-key row).</summary>
    private static string[] Vocabulary(IDataView data) =>
        ((object[])ColumnValues.ReadAnnotation(data.Schema["Features"], AnnotationUtils.Kinds.KeyValues)).Cast<string>().ToArray();

    private static float[][] EmbeddingRows(BiGruEncoderTransformer encoder)
    {
        var weight = encoder.Encoder.named_parameters().Single(p => p.name == "embedding.weight").parameter;
        var values = weight.detach().cpu().data<float>().ToArray();
        int e = (int)weight.shape[1];
        return Enumerable.Range(0, (int)weight.shape[0]).Select(r => values[(r * e)..((r + 1) * e)]).ToArray();
    }

    private static BiGruEncoder.Options Options(string file, int seed, bool freeze, float learningRate) => new()
    {
        WordVectorsFile = file, EmbeddingSize = 4, FreezeWordVectors = freeze, HiddenSize = 6, MaxEpochs = 3, BatchSize = 8,
        LearningRate = learningRate, Seed = seed,
    };

    [Fact]
    public void FileVectorsInitialiseKnownWordsAndOtherRowsStartRandom()
    {
        var ml = new MLContext(seed: 1);
        var data = Tokens(ml, Sentiment(40, seed: 2));
        var vocabulary = Vocabulary(data);
        Assert.Equal(10, vocabulary.Length);

        // Frozen: the file's rows survive training exactly.
        using var frozen = ml.Transforms.Rnn.BiGruEncoder(Options(VectorsPath, seed: 1, freeze: true, learningRate: 0.05f)).Fit(data);
        var rows = EmbeddingRows(frozen);
        Assert.Equal(11, rows.Length); // 10 tokens + the missing-key row
        foreach (var (word, vector) in Expected)
            Assert.Equal(vector, rows[Array.IndexOf(vocabulary, word)]);

        // The frozen rows are the embedding the ONNX graph reads too: ONNX Runtime scores as libtorch does.
        frozen.ScoringEngine = RnnScoringEngine.TorchSharp;
        var encodings = OnnxExportTests.Floats(frozen.Transform(data), "Encoding");
        frozen.ScoringEngine = RnnScoringEngine.OnnxRuntime;
        OnnxExportTests.AssertClose(encodings, OnnxExportTests.Floats(frozen.Transform(data), "Encoding"));

        // Words absent from the file start from the seeded random rows: small, distinct, and another seed draws others.
        using var otherSeed = ml.Transforms.Rnn.BiGruEncoder(Options(VectorsPath, seed: 2, freeze: true, learningRate: 0.05f)).Fit(data);
        var otherRows = EmbeddingRows(otherSeed);
        foreach (var word in NotInFile)
        {
            int row = Array.IndexOf(vocabulary, word);
            Assert.All(rows[row], v => Assert.InRange(Math.Abs(v), 1e-6f, 0.6f));
            Assert.NotEqual(rows[row], otherRows[row]);
        }
        foreach (var (word, vector) in Expected)
            Assert.Equal(vector, otherRows[Array.IndexOf(vocabulary, word)]);
        Assert.Equal(NotInFile.Length + 1, rows.Select(r => string.Join(",", r)).Except(Expected.Values.Select(v => string.Join(",", v))).Count());

        // Not frozen, with a tiny learning rate: the rows start at the file's vectors and move (they are trained).
        using var trained = ml.Transforms.Rnn.BiGruEncoder(Options(VectorsPath, seed: 1, freeze: false, learningRate: 1e-6f)).Fit(data);
        var trainedRows = EmbeddingRows(trained);
        foreach (var (word, vector) in Expected)
            Assert.Equal(vector, trainedRows[Array.IndexOf(vocabulary, word)], Tolerances.Within(1e-4f));
        Assert.NotEqual(Expected["good"], trainedRows[Array.IndexOf(vocabulary, "good")]);
    }

    [Fact]
    public void TrainedModelNoLongerNeedsTheFile()
    {
        var ml = new MLContext(seed: 1);
        var data = Tokens(ml, Sentiment(30, seed: 3));
        string copy = Path.Combine(_directory, "vectors.txt");
        File.Copy(VectorsPath, copy);
        using var encoder = ml.Transforms.Rnn.BiGruEncoder(Options(copy, seed: 1, freeze: false, learningRate: 0.01f)).Fit(data);
        string model = Path.Combine(_directory, "model.zip");
        ml.Model.Save(encoder, data.Schema, model);
        File.Delete(copy);

        var loaded = new MLContext(seed: 1).Model.Load(model, out _);
        var expected = ColumnValues.Read(encoder.Transform(data), "Encoding");
        var actual = ColumnValues.Read(loaded.Transform(data), "Encoding");
        Assert.Equal(expected.Count, actual.Count);
        for (int i = 0; i < expected.Count; i++)
            Assert.Equal(((object[])expected[i]).Cast<float>(), ((object[])actual[i]).Cast<float>(), Tolerances.Within(1e-6f));
        (loaded as IDisposable)?.Dispose();
    }

    [Fact]
    public void FileThatDoesNotFitTheOptionsIsRejectedNamingTheOption()
    {
        var ml = new MLContext(seed: 1);
        var data = Tokens(ml, Sentiment(10, seed: 4));

        var size = Options(VectorsPath, seed: 1, freeze: false, learningRate: 0.01f);
        size.EmbeddingSize = 8;
        var e = Assert.Throws<ArgumentException>(() => ml.Transforms.Rnn.BiGruEncoder(size).Fit(data));
        Assert.Equal("EmbeddingSize", e.ParamName);
        Assert.StartsWith($"BiGruEncoder: WordVectorsFile '{VectorsPath}' holds vectors of 4 values but EmbeddingSize is 8; set EmbeddingSize to 4.", e.Message);

        // The classifier reads the file the same way: a ragged file names the option and the line.
        string ragged = Path.Combine(_directory, "ragged.txt");
        File.WriteAllLines(ragged, new[] { "300 4", "good 1 2 3 4", "bad 1 2 3" });
        var format = Assert.Throws<FormatException>(() => ml.Transforms.Rnn.SequenceClassifier(new RnnSequenceClassifier.Options
        {
            WordVectorsFile = ragged, EmbeddingSize = 4, HiddenSize = 4, MaxEpochs = 1,
        }).Fit(data));
        Assert.Equal($"RnnSequenceClassifier: WordVectorsFile '{ragged}' line 3 has 3 values, expected 4.", format.Message);

        // Single steps have no embedding to initialise.
        var steps = ml.Data.LoadFromEnumerable(new[] { new { Features = new float[] { 1, 2 }, Label = true }, new { Features = new float[] { 3 }, Label = false } });
        var singles = Assert.Throws<ArgumentException>(() => ml.Transforms.Rnn.SequenceClassifier(new RnnSequenceClassifier.Options
        {
            WordVectorsFile = VectorsPath, EmbeddingSize = 4, MaxEpochs = 1,
        }).Fit(steps));
        Assert.Equal("WordVectorsFile", singles.ParamName);
        Assert.StartsWith("RnnSequenceClassifier: WordVectorsFile initialises token embeddings, but feature column 'Features' holds Single steps", singles.Message);
    }

    [Fact]
    public void ReadDimensionReadsOnlyTheFirstVectorOrHeader()
    {
        string path = Path.Combine(_directory, "dims.txt");
        File.WriteAllLines(path, new[] { "", "2 7", "a 1 2 3 4 5 6 7" });
        Assert.Equal(7, WordVectorFile.ReadDimension(path));
        File.WriteAllLines(path, new[] { "a 1 2 3", "b not even numbers here" });
        Assert.Equal(3, WordVectorFile.ReadDimension(path));
        File.WriteAllLines(path, new[] { "lonely" });
        Assert.Throws<FormatException>(() => WordVectorFile.ReadDimension(path));
    }

    [Fact]
    public void LoadFindsTheHeaderWhereReadDimensionDoes()
    {
        // A header after blank lines: ReadDimension says 7, so Load must read the same file as 7-value vectors.
        string path = Path.Combine(_directory, "blank-then-header.txt");
        File.WriteAllLines(path, new[] { "", "2 7", "a 1 2 3 4 5 6 7" });
        Assert.Equal(7, WordVectorFile.ReadDimension(path));
        using var matrix = WordVectorFile.Load(path, ["a"], 1, seed: 1, out int found);
        Assert.Equal(1, found);
        Assert.Equal([1f, 2, 3, 4, 5, 6, 7], matrix[0].data<float>().ToArray());
    }
}
