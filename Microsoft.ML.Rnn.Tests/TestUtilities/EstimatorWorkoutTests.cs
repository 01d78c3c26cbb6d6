using Microsoft.ML.Data;
using Xunit;
using Xunit.Sdk;

namespace Microsoft.ML.Rnn.Tests;

/// <summary>The workout's comparisons must be able to fail: values beyond tolerance, vector sizes, key counts, annotation values.</summary>
public sealed class EstimatorWorkoutTests
{
    private readonly MLContext _ml = new(seed: 1);

    private sealed class Row
    {
        [VectorType(2)] public float[] X = new float[2];
    }

    private sealed class WideRow
    {
        [VectorType(3)] public float[] X = new float[3];
    }

    private IDataView Data(float a) => _ml.Data.LoadFromEnumerable(new[] { new Row { X = new[] { 1f, a } } });

    private sealed class KeyRow
    {
        public uint K = 1;
    }

    /// <summary>A key column 'K' of <paramref name="count"/> keys whose KeyValues are <paramref name="names"/>.</summary>
    private IDataView Keys(uint count, params string[] names)
    {
        var definition = SchemaDefinition.Create(typeof(KeyRow));
        definition["K"].ColumnType = new KeyDataViewType(typeof(uint), count);
        var memory = names.Select(n => n.AsMemory()).ToArray();
        definition["K"].AddAnnotation(AnnotationUtils.Kinds.KeyValues, new VBuffer<ReadOnlyMemory<char>>(memory.Length, memory),
            new VectorDataViewType(TextDataViewType.Instance, memory.Length));
        return _ml.Data.LoadFromEnumerable(new[] { new KeyRow() }, definition);
    }

    [Fact]
    public void ValuesWithinToleranceAreEqual() => EstimatorWorkout.AssertValuesEqual(Data(2f), Data(2f + 5e-7f), 1e-6);

    [Fact]
    public void ValuesBeyondToleranceFail()
    {
        var error = Assert.ThrowsAny<XunitException>(() => EstimatorWorkout.AssertValuesEqual(Data(2f), Data(2.00001f), 1e-6));
        Assert.Contains("column 'X', row 0 [1]", error.Message);
    }

    [Fact]
    public void DifferentVectorSizesFail()
    {
        var wide = _ml.Data.LoadFromEnumerable(new[] { new WideRow() });
        Assert.ThrowsAny<XunitException>(() => EstimatorWorkout.AssertSchemasEqual(Data(1f).Schema, wide.Schema, "test"));
    }

    [Fact]
    public void DifferentAnnotationValuesFail()
    {
        EstimatorWorkout.AssertSchemasEqual(Keys(2, "a", "b").Schema, Keys(2, "a", "b").Schema, "test");
        var error = Assert.ThrowsAny<XunitException>(() => EstimatorWorkout.AssertSchemasEqual(Keys(2, "a", "b").Schema, Keys(2, "a", "c").Schema, "test"));
        Assert.Contains("annotation KeyValues of 'K'", error.Message);
    }

    [Fact]
    public void DifferentKeyCountsFail()
    {
        var error = Assert.ThrowsAny<XunitException>(() => EstimatorWorkout.AssertSchemasEqual(Keys(2, "a", "b").Schema, Keys(3, "a", "b").Schema, "test"));
        Assert.Contains("'K'", error.Message);
    }

    private sealed class TextRow
    {
        public string Text = "";
    }

    private sealed class OtherRow
    {
        public float Other = 1f;
    }

    private IDataView Texts(params string[] values) => _ml.Data.LoadFromEnumerable(values.Select(v => new TextRow { Text = v }));

    [Fact]
    public void WorkoutPassesForAnMLNetEstimator()
    {
        var estimator = _ml.Transforms.Conversion.MapValueToKey("Key", "Text");
        var result = EstimatorWorkout.Run(_ml, estimator, Texts("b", "a", "b"), new WorkoutOptions
        {
            InvalidInputs = new (IDataView, string)[] { (_ml.Data.LoadFromEnumerable(new[] { new OtherRow() }), "Text") },
        });
        Assert.Equal(new KeyDataViewType(typeof(uint), 2), result.LoadedOutput.Schema["Key"].Type);
        Assert.Equal(new object[] { 1UL, 2UL, 1UL }, ColumnValues.Read(result.LoadedOutput, "Key"));
        File.Delete(result.ModelPath);
    }

    [Fact]
    public void WorkoutFailsWhenAnInvalidInputIsAccepted()
    {
        var estimator = _ml.Transforms.Conversion.MapValueToKey("Key", "Text");
        var error = Assert.ThrowsAny<XunitException>(() => EstimatorWorkout.Run(_ml, estimator, Texts("a"), new WorkoutOptions
        {
            InvalidInputs = new (IDataView, string)[] { (Texts("c"), "Text") },
        }));
        Assert.Contains("accepted an input with a missing or mistyped column 'Text'", error.Message);
    }

    [Fact]
    public void SchemaErrorsMustNameTheColumnInMLNetWording()
    {
        EstimatorWorkout.AssertThrowsSchemaError("X", "step", () => throw new ArgumentOutOfRangeException("schema", "Schema mismatch for feature column 'X': expected Single, got Text"));
        EstimatorWorkout.AssertThrowsSchemaError("X", "step", () => throw new ArgumentOutOfRangeException("schema", "Could not find input column 'X'"));

        var unnamed = Assert.ThrowsAny<XunitException>(() => EstimatorWorkout.AssertThrowsSchemaError("X", "step",
            () => throw new ArgumentOutOfRangeException("schema", "Schema mismatch for feature column 'Y': expected Single, got Text")));
        Assert.Contains("does not name column 'X'", unnamed.Message);
        var otherWording = Assert.ThrowsAny<XunitException>(() => EstimatorWorkout.AssertThrowsSchemaError("X", "step",
            () => throw new InvalidOperationException("Bad column 'X'.")));
        Assert.Contains("not with ML.NET's schema wording", otherWording.Message);
    }
}
