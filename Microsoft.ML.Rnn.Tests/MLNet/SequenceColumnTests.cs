using Microsoft.ML.Data;
using Microsoft.ML.Rnn.Features;
using TorchSharp;
using Xunit;

namespace Microsoft.ML.Rnn.Tests.MLNet;

/// <summary>Binding, reading and batching of sequence columns (SequenceColumn, SequenceColumnReader, SequenceRows).</summary>
public sealed class SequenceColumnTests
{
    private readonly MLContext _ml = new(seed: 1);

    private sealed class FloatRow
    {
        public float[] Steps = Array.Empty<float>();
    }

    private sealed class KnownSizeRow
    {
        [VectorType(6)] public float[] Steps = Array.Empty<float>();
    }

    private sealed class SparseRow
    {
        [VectorType(6)] public VBuffer<float> Steps;
    }

    private sealed class KeyRow
    {
        public uint[] Tokens = Array.Empty<uint>();
    }

    private sealed class TextRow
    {
        public string Tokens = "";
    }

    private sealed class ScalarRow
    {
        public float Tokens = 1f;
    }

    private sealed class DoubleRow
    {
        [VectorType(3)] public double[] Tokens = new double[3];
    }

    private IDataView Floats(params float[][] rows) => _ml.Data.LoadFromEnumerable(rows.Select(r => new FloatRow { Steps = r }));

    private IDataView Keys(uint keyCount, params uint[][] rows)
    {
        var definition = SchemaDefinition.Create(typeof(KeyRow));
        definition["Tokens"].ColumnType = new VectorDataViewType(new KeyDataViewType(typeof(uint), keyCount));
        return _ml.Data.LoadFromEnumerable(rows.Select(r => new KeyRow { Tokens = r }), definition);
    }

    [Fact]
    public void KnownSizeSinglesAreReadAsStepsOfFeatures()
    {
        var data = _ml.Data.LoadFromEnumerable(new[] { new KnownSizeRow { Steps = new[] { 1f, 2f, 3f, 4f, 5f, 6f } } });
        var rows = SequenceRows.ReadAll(data, "Steps", featuresPerStep: 3);

        Assert.Equal(SequenceItemKind.Singles, rows.Column.Kind);
        Assert.Equal(2, rows.Column.FixedSteps);
        Assert.Equal(new[] { 2 }, rows.Lengths);
        Assert.Equal(new[] { 1f, 2f, 3f, 4f, 5f, 6f }, rows.Singles(0));
    }

    [Fact]
    public void SparseSinglesAreDensified()
    {
        var data = _ml.Data.LoadFromEnumerable(new[]
        {
            new SparseRow { Steps = new VBuffer<float>(6, 2, new[] { 7f, -1f }, new[] { 1, 4 }) },
        });
        var rows = SequenceRows.ReadAll(data, "Steps", featuresPerStep: 2);
        Assert.Equal(new[] { 3 }, rows.Lengths);
        Assert.Equal(new[] { 0f, 7f, 0f, 0f, -1f, 0f }, rows.Singles(0));
    }

    [Fact]
    public void VariableSinglesBatchIsPaddedWithZerosAndCarriesLengths()
    {
        var rows = SequenceRows.ReadAll(Floats(new[] { 1f, 2f }, new[] { 3f, 4f, 5f, 6f, 7f, 8f }, Array.Empty<float>()), "Steps", 2);
        Assert.Null(rows.Column.FixedSteps);
        Assert.Equal(new[] { 1, 3, 0 }, rows.Lengths);

        using var scope = torch.NewDisposeScope();
        var made = rows.MakeBatch(new[] { 2, 0, 1 });
        var (batch, lengths) = (made.Data, made.LengthsOrFull());
        Assert.Equal(new long[] { 3, 3, 2 }, batch.shape);
        Assert.Equal(torch.ScalarType.Float32, batch.dtype);
        Assert.Equal(new[]
        {
            0f, 0f, 0f, 0f, 0f, 0f,
            1f, 2f, 0f, 0f, 0f, 0f,
            3f, 4f, 5f, 6f, 7f, 8f,
        }, batch.data<float>().ToArray());
        Assert.Equal(torch.ScalarType.Int64, lengths.dtype);
        Assert.Equal(DeviceType.CPU, lengths.device_type);
        Assert.Equal(new long[] { 0, 1, 3 }, lengths.data<long>().ToArray());
    }

    [Fact]
    public void BatchOfEmptySequencesKeepsOneStep()
    {
        var rows = SequenceRows.ReadAll(Floats(Array.Empty<float>()), "Steps", 2);
        using var scope = torch.NewDisposeScope();
        var made = rows.MakeBatch(new[] { 0 });
        var (batch, lengths) = (made.Data, made.LengthsOrFull());
        Assert.Equal(new long[] { 1, 1, 2 }, batch.shape);
        Assert.Equal(new long[] { 0 }, lengths.data<long>().ToArray());
    }

    [Fact]
    public void LengthNotAMultipleOfFeaturesPerStepNamesColumnAndLengths()
    {
        var error = Assert.Throws<InvalidOperationException>(() => SequenceRows.ReadAll(Floats(new[] { 1f, 2f, 3f }, new[] { 1f, 2f, 3f, 4f }), "Steps", 3));
        Assert.Equal("Feature column 'Steps', row 1: the vector length 4 is not a multiple of the features per step (3).", error.Message);
    }

    [Fact]
    public void KnownSizeNotAMultipleFailsAtBinding()
    {
        var data = _ml.Data.LoadFromEnumerable(new[] { new KnownSizeRow { Steps = new float[6] } });
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => SequenceColumn.Bind(data.Schema, "Steps", 4));
        Assert.StartsWith("The size 6 of feature column 'Steps' is not a multiple of the features per step (4).", error.Message);
    }

    [Fact]
    public void KeysAreConvertedFromOneBasedToZeroBased()
    {
        var rows = SequenceRows.ReadAll(Keys(5, new uint[] { 1, 5, 3 }, new uint[] { 2 }), "Tokens", 1);
        Assert.Equal(SequenceItemKind.Keys, rows.Column.Kind);
        Assert.Equal(5UL, rows.Column.KeyCount);
        Assert.Equal(new[] { 0, 4, 2 }, rows.Keys(0));
        Assert.Equal(new[] { 1 }, rows.Keys(1));

        using var scope = torch.NewDisposeScope();
        var made = rows.MakeBatch(new[] { 1, 0 });
        var (batch, lengths) = (made.Data, made.LengthsOrFull());
        Assert.Equal(new long[] { 2, 3 }, batch.shape);
        Assert.Equal(torch.ScalarType.Int64, batch.dtype);
        Assert.Equal(new long[] { 1, 0, 0, 0, 4, 2 }, batch.data<long>().ToArray());
        Assert.Equal(new long[] { 1, 3 }, lengths.data<long>().ToArray());
    }

    [Fact]
    public void MissingKeyThrowsByDefault()
    {
        var error = Assert.Throws<InvalidOperationException>(() => SequenceRows.ReadAll(Keys(5, new uint[] { 2, 0 }), "Tokens", 1));
        Assert.StartsWith("Feature column 'Tokens', row 0, step 1: missing key (0, a value not in the key dictionary).", error.Message);
    }

    [Fact]
    public void MissingKeyCanMapToTheUnknownIndex()
    {
        var rows = SequenceRows.ReadAll(Keys(5, new uint[] { 2, 0, 5 }), "Tokens", 1, MissingKeyHandling.MapToUnknownIndex);
        Assert.Equal(new[] { 1, 5, 4 }, rows.Keys(0));
    }

    [Fact]
    public void KeysFromValueToKeyMappingKeepTheirVocabulary()
    {
        var text = _ml.Data.LoadFromEnumerable(new[] { new TextRow { Tokens = "b a b c" } });
        var pipeline = _ml.Transforms.Text.TokenizeIntoWords("Words", "Tokens").Append(_ml.Transforms.Conversion.MapValueToKey("Ids", "Words"));
        var data = pipeline.Fit(text).Transform(text);

        var rows = SequenceRows.ReadAll(data, "Ids", 1);
        Assert.Equal(new[] { 0, 1, 0, 2 }, rows.Keys(0));
        var vocabulary = KeyValueAnnotation.FromColumn(data.Schema["Ids"]);
        Assert.NotNull(vocabulary);
        Assert.Equal(new[] { "b", "a", "c" }, vocabulary.ToStrings());
        Assert.Equal(3, vocabulary.Count);
    }

    [Fact]
    public void KeyColumnRequiresOneFeaturePerStep()
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => SequenceColumn.Bind(Keys(5, new uint[] { 1 }).Schema, "Tokens", 2));
        Assert.StartsWith("Features per step must be 1 for key feature column 'Tokens' (each key is one step), got 2.", error.Message);
    }

    [Fact]
    public void WrongTypesGiveMLNetSchemaMismatch()
    {
        var cases = new (IDataView Data, string Got)[]
        {
            (_ml.Data.LoadFromEnumerable(new[] { new TextRow() }), "String"),
            (_ml.Data.LoadFromEnumerable(new[] { new ScalarRow() }), "Single"),
            (_ml.Data.LoadFromEnumerable(new[] { new DoubleRow() }), "Vector<Double, 3>"),
        };
        foreach (var (data, got) in cases)
        {
            var error = Assert.Throws<ArgumentOutOfRangeException>(() => SequenceColumn.Bind(data.Schema, "Tokens", 1));
            Assert.StartsWith($"Schema mismatch for feature column 'Tokens': expected known-size or variable vector of Single, key or text, got {got}", error.Message);

            var shapeError = Assert.Throws<ArgumentOutOfRangeException>(() => SequenceColumn.CheckShape(SchemaShape.Create(data.Schema), "Tokens"));
            Assert.StartsWith("Schema mismatch for feature column 'Tokens': expected known-size or variable vector of Single, key or text, got ", shapeError.Message);
        }
    }

    [Fact]
    public void MissingColumnGivesMLNetMessage()
    {
        var data = Floats(new[] { 1f });
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => SequenceColumn.Bind(data.Schema, "Tokens", 1));
        Assert.StartsWith("Could not find feature column 'Tokens'", error.Message);
        var shapeError = Assert.Throws<ArgumentOutOfRangeException>(() => SequenceColumn.CheckShape(SchemaShape.Create(data.Schema), "Tokens", "label"));
        Assert.StartsWith("Could not find label column 'Tokens'", shapeError.Message);
    }

    [Fact]
    public void ShapeCheckAcceptsSingleAndKeyVectors()
    {
        Assert.False(SequenceColumn.CheckShape(SchemaShape.Create(Floats(new[] { 1f }).Schema), "Steps").IsKey);
        Assert.True(SequenceColumn.CheckShape(SchemaShape.Create(Keys(3, new uint[] { 1 }).Schema), "Tokens").IsKey);
    }
}
