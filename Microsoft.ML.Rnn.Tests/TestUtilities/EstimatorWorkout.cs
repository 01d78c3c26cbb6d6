using Xunit;
using Xunit.Sdk;

namespace Microsoft.ML.Rnn.Tests;

/// <summary>Inputs of <see cref="EstimatorWorkout.Run{TTransformer}"/> besides the estimator and training data.</summary>
internal sealed class WorkoutOptions
{
    /// <summary>Data to transform (defaults to the training data).</summary>
    public IDataView? TransformData { get; init; }

    /// <summary>Absolute tolerance for Single/Double values after save and load.</summary>
    public double Tolerance { get; init; } = 1e-6;

    /// <summary>
    /// Invalid inputs: data views missing the named column or holding it with a wrong type. Fit, GetOutputSchema
    /// (estimator and fitted transformer) and Transform (fitted and loaded) must throw with ML.NET's schema wording
    /// ("Could not find ... column 'X'" / "Schema mismatch for ... column 'X': ...") naming the column.
    /// </summary>
    public IReadOnlyList<(IDataView Data, string ColumnName)> InvalidInputs { get; init; } = Array.Empty<(IDataView, string)>();

    /// <summary>Where to save the model zip, kept for further checks; by default a temporary file deleted once loaded back.</summary>
    public string? ModelPath { get; init; }
}

/// <summary>What a workout produced, for further checks (e.g. <see cref="LoaderProcess"/> on <see cref="ModelPath"/>).</summary>
internal sealed record WorkoutResult<TTransformer>(TTransformer Fitted, ITransformer Loaded, string ModelPath,
    IDataView FittedOutput, IDataView LoadedOutput) where TTransformer : ITransformer;

/// <summary>
/// The workout every ML.NET component of this package goes through (in the spirit of ML.NET's TestEstimatorCore):
/// estimator schema propagation agrees with the fitted transformer; fit; transform; save to a model zip; load in a
/// fresh MLContext; identical output schema (types with vector sizes and key counts, annotations with values) and
/// values; invalid inputs throw with ML.NET's wording naming the column.
/// </summary>
internal static class EstimatorWorkout
{
    private static readonly string[] MLNetSchemaWording = { "Could not find ", "Schema mismatch for " };

    /// <summary>Runs the workout; see <see cref="EstimatorWorkout"/>.</summary>
    public static WorkoutResult<TTransformer> Run<TTransformer>(MLContext mlContext, IEstimator<TTransformer> estimator,
        IDataView trainData, WorkoutOptions? options = null) where TTransformer : class, ITransformer
    {
        options ??= new WorkoutOptions();
        var transformData = options.TransformData ?? trainData;

        var shape = estimator.GetOutputSchema(SchemaShape.Create(trainData.Schema));
        var fitted = estimator.Fit(trainData);
        var fittedSchema = fitted.GetOutputSchema(transformData.Schema);
        AssertShapeMatches(shape, fittedSchema);

        var fittedOutput = fitted.Transform(transformData);
        AssertSchemasEqual(fittedSchema, fittedOutput.Schema, "Transform output vs GetOutputSchema");

        string modelPath = options.ModelPath ?? Path.Combine(Path.GetTempPath(), $"rnn-workout-{Guid.NewGuid():N}.zip");
        mlContext.Model.Save(fitted, trainData.Schema, modelPath);
        var loaded = new MLContext(seed: 1).Model.Load(modelPath, out var loadedInputSchema);
        if (options.ModelPath is null)
            File.Delete(modelPath); // loaded into memory above; only a caller-chosen path is kept for further checks
        AssertSchemasEqual(trainData.Schema, loadedInputSchema, "saved input schema");

        var loadedOutput = loaded.Transform(transformData);
        AssertSchemasEqual(fittedOutput.Schema, loadedOutput.Schema, "output schema after save and load");
        AssertValuesEqual(fittedOutput, loadedOutput, options.Tolerance);

        foreach (var (data, column) in options.InvalidInputs)
        {
            AssertThrowsSchemaError(column, "estimator GetOutputSchema", () => estimator.GetOutputSchema(SchemaShape.Create(data.Schema)));
            AssertThrowsSchemaError(column, "Fit", () => estimator.Fit(data));
            AssertThrowsSchemaError(column, "fitted GetOutputSchema", () => fitted.GetOutputSchema(data.Schema));
            AssertThrowsSchemaError(column, "fitted Transform", () => fitted.Transform(data));
            AssertThrowsSchemaError(column, "loaded Transform", () => loaded.Transform(data));
        }
        return new WorkoutResult<TTransformer>(fitted, loaded, modelPath, fittedOutput, loadedOutput);
    }

    /// <summary>Every column of <paramref name="shape"/> is in <paramref name="schema"/> with the same kind, item type, key-ness and annotations, and vice versa.</summary>
    public static void AssertShapeMatches(SchemaShape shape, DataViewSchema schema)
    {
        var actual = SchemaShape.Create(schema);
        var expectedNames = shape.Select(c => c.Name).OrderBy(n => n, StringComparer.Ordinal).ToArray();
        var actualNames = actual.Select(c => c.Name).OrderBy(n => n, StringComparer.Ordinal).ToArray();
        Assert.Equal(expectedNames, actualNames);
        foreach (var expected in shape)
        {
            Assert.True(actual.TryFindColumn(expected.Name, out var column));
            string what = $"column '{expected.Name}': estimator says {expected.GetTypeString()}, transformer gives {column.GetTypeString()}";
            Assert.True(expected.Kind == column.Kind && expected.ItemType.Equals(column.ItemType) && expected.IsKey == column.IsKey, what);
            var expectedAnnotations = expected.Annotations.Select(a => $"{a.Name}:{a.GetTypeString()}").OrderBy(s => s, StringComparer.Ordinal);
            var actualAnnotations = column.Annotations.Select(a => $"{a.Name}:{a.GetTypeString()}").OrderBy(s => s, StringComparer.Ordinal);
            Assert.Equal(expectedAnnotations, actualAnnotations);
        }
    }

    /// <summary>Same columns in the same order with equal names, types (sizes, key counts), hidden flags and annotations (values included).</summary>
    public static void AssertSchemasEqual(DataViewSchema expected, DataViewSchema actual, string what)
    {
        Assert.True(expected.Count == actual.Count,
            $"{what}: {expected.Count} columns ({string.Join(", ", expected.Select(c => c.Name))}) vs {actual.Count} ({string.Join(", ", actual.Select(c => c.Name))})");
        for (int i = 0; i < expected.Count; i++)
        {
            var e = expected[i];
            var a = actual[i];
            Assert.True(e.Name == a.Name && e.Type.Equals(a.Type) && e.IsHidden == a.IsHidden,
                $"{what}: column {i} is '{e.Name}' {e.Type} (hidden {e.IsHidden}) vs '{a.Name}' {a.Type} (hidden {a.IsHidden})");
            var eKinds = e.Annotations.Schema.Select(c => $"{c.Name}:{c.Type}").ToArray();
            var aKinds = a.Annotations.Schema.Select(c => $"{c.Name}:{c.Type}").ToArray();
            Assert.True(eKinds.SequenceEqual(aKinds), $"{what}: annotations of '{e.Name}': [{string.Join(", ", eKinds)}] vs [{string.Join(", ", aKinds)}]");
            foreach (var kind in e.Annotations.Schema)
            {
                AssertValueEqual(ColumnValues.ReadAnnotation(e, kind.Name), ColumnValues.ReadAnnotation(a, kind.Name), 0,
                    $"{what}: annotation {kind.Name} of '{e.Name}'");
            }
        }
    }

    /// <summary>All visible columns of <paramref name="expected"/> have equal values in <paramref name="actual"/> (floats within <paramref name="tolerance"/>).</summary>
    public static void AssertValuesEqual(IDataView expected, IDataView actual, double tolerance)
    {
        foreach (var column in expected.Schema.Where(c => !c.IsHidden))
        {
            var e = ColumnValues.Read(expected, column.Name);
            var a = ColumnValues.Read(actual, column.Name);
            Assert.True(e.Count == a.Count, $"column '{column.Name}': {e.Count} rows vs {a.Count}");
            for (int row = 0; row < e.Count; row++)
                AssertValueEqual(e[row], a[row], tolerance, $"column '{column.Name}', row {row}");
        }
    }

    private static void AssertValueEqual(object expected, object actual, double tolerance, string what)
    {
        switch (expected, actual)
        {
            case (float e, float a):
                if (!(float.IsNaN(e) && float.IsNaN(a)) && !(Math.Abs(e - a) <= tolerance))
                    throw new XunitException($"{what}: expected {e:R}, got {a:R} (tolerance {tolerance})");
                break;
            case (double e, double a):
                if (!(double.IsNaN(e) && double.IsNaN(a)) && !(Math.Abs(e - a) <= tolerance))
                    throw new XunitException($"{what}: expected {e:R}, got {a:R} (tolerance {tolerance})");
                break;
            case (object[] e, object[] a):
                if (e.Length != a.Length)
                    throw new XunitException($"{what}: expected {e.Length} values, got {a.Length}");
                for (int i = 0; i < e.Length; i++)
                    AssertValueEqual(e[i], a[i], tolerance, $"{what} [{i}]");
                break;
            default:
                if (!Equals(expected, actual))
                    throw new XunitException($"{what}: expected {expected}, got {actual}");
                break;
        }
    }

    /// <summary><paramref name="action"/> throws with ML.NET's schema wording naming <paramref name="column"/>; <paramref name="step"/> names it in failures.</summary>
    public static void AssertThrowsSchemaError(string column, string step, Action action)
    {
        Exception? thrown = null;
        try
        {
            action();
        }
        catch (Exception e)
        {
            thrown = e;
        }
        if (thrown is null)
            throw new XunitException($"{step} accepted an input with a missing or mistyped column '{column}'.");
        if (!thrown.Message.Contains($"'{column}'", StringComparison.Ordinal))
            throw new XunitException($"{step} threw, but its message does not name column '{column}': {thrown.GetType().Name}: {thrown.Message}");
        // ML.NET's wording (Contracts.ExceptSchemaMismatch): "Could not find <role> column 'X'" or
        // "Schema mismatch for <role> column 'X': expected ..., got ...".
        if (!MLNetSchemaWording.Any(w => thrown.Message.StartsWith(w, StringComparison.Ordinal)))
            throw new XunitException($"{step} threw, but not with ML.NET's schema wording ({string.Join(" / ", MLNetSchemaWording)}...): {thrown.GetType().Name}: {thrown.Message}");
    }
}
