using System.Reflection;
using Microsoft.ML.Data.IO;
using Microsoft.ML.Data;

namespace Microsoft.ML.Rnn.Features;

/// <summary>
/// The <c>KeyValues</c> annotation of a key column (a label's class names, a token column's vocabulary), kept
/// with its ML.NET type so a component can save it into the model and put it back on an output key column.
/// </summary>
internal sealed class KeyValueAnnotation
{
    /// <summary>Wraps <paramref name="values"/>, a boxed <c>VBuffer&lt;T&gt;</c> whose item type is <paramref name="type"/>'s.</summary>
    public KeyValueAnnotation(VectorDataViewType type, object values)
    {
        ArgumentNullException.ThrowIfNull(type);
        ArgumentNullException.ThrowIfNull(values);
        var expected = typeof(VBuffer<>).MakeGenericType(type.ItemType.RawType);
        if (values.GetType() != expected)
            throw new ArgumentException($"Expected a {expected.Name} for key values of type {type}, got {values.GetType().Name}.", nameof(values));
        Type = type;
        Values = values;
    }

    /// <summary>Vector type of the annotation, e.g. Vector&lt;String, 3&gt;.</summary>
    public VectorDataViewType Type { get; }

    /// <summary>The boxed <c>VBuffer&lt;T&gt;</c>.</summary>
    public object Values { get; }

    /// <summary>Number of values (the key count of the annotated column).</summary>
    public int Count => Type.Size;

    /// <summary>Reads the <c>KeyValues</c> annotation of <paramref name="column"/>, or null when it has none.</summary>
    public static KeyValueAnnotation? FromColumn(DataViewSchema.Column column)
    {
        var annotationColumn = column.Annotations.Schema.GetColumnOrNull(AnnotationUtils.Kinds.KeyValues);
        if (annotationColumn is not { } kv || kv.Type is not VectorDataViewType vectorType)
            return null;
        return (KeyValueAnnotation)Dispatch(nameof(ReadFrom), vectorType.ItemType.RawType, column.Annotations, kv, vectorType)!;
    }

    /// <summary>Creates text key values, e.g. a vocabulary or class names.</summary>
    public static KeyValueAnnotation FromStrings(IReadOnlyList<string> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        var memory = values.Select(v => v.AsMemory()).ToArray();
        return new KeyValueAnnotation(new VectorDataViewType(TextDataViewType.Instance, memory.Length),
            new VBuffer<ReadOnlyMemory<char>>(memory.Length, memory));
    }

    /// <summary>The values as strings (text as is, other types by their ToString()).</summary>
    public string[] ToStrings() => (string[])Dispatch(nameof(ToStringsCore), Type.ItemType.RawType, Values)!;

    /// <summary>Adds the annotation as <c>KeyValues</c> to <paramref name="builder"/>.</summary>
    public void AddTo(DataViewSchema.Annotations.Builder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        Dispatch(nameof(AddToCore), Type.ItemType.RawType, builder, Type, Values);
    }

    /// <summary>Builds annotations holding only this <c>KeyValues</c> annotation.</summary>
    public DataViewSchema.Annotations ToAnnotations()
    {
        var builder = new DataViewSchema.Annotations.Builder();
        AddTo(builder);
        return builder.ToAnnotations();
    }

    internal bool TryWrite(BinarySaver saver, Stream stream)
        => (bool)Dispatch(nameof(TryWriteCore), Type.ItemType.RawType, saver, stream, Type, Values)!;

    private static object? Dispatch(string method, Type itemType, params object[] args)
    {
        var generic = typeof(KeyValueAnnotation).GetMethod(method, BindingFlags.NonPublic | BindingFlags.Static)!;
        try
        {
            return generic.MakeGenericMethod(itemType).Invoke(null, args);
        }
        catch (TargetInvocationException e) when (e.InnerException is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerException).Throw();
            throw;
        }
    }

    private static KeyValueAnnotation ReadFrom<T>(DataViewSchema.Annotations annotations, DataViewSchema.Column kv, VectorDataViewType type)
    {
        VBuffer<T> values = default;
        annotations.GetGetter<VBuffer<T>>(kv)(ref values);
        // Copy: the getter may hand out a buffer it reuses.
        VBuffer<T> copy = default;
        values.CopyTo(ref copy);
        return new KeyValueAnnotation(type, copy);
    }

    private static string[] ToStringsCore<T>(object values)
    {
        var buffer = (VBuffer<T>)values;
        return buffer.DenseValues().Select(v => v?.ToString() ?? "").ToArray();
    }

    private static object? AddToCore<T>(DataViewSchema.Annotations.Builder builder, VectorDataViewType type, object values)
    {
        var buffer = (VBuffer<T>)values;
        builder.Add(AnnotationUtils.Kinds.KeyValues, type, (ref VBuffer<T> dst) => buffer.CopyTo(ref dst));
        return null;
    }

    private static bool TryWriteCore<T>(BinarySaver saver, Stream stream, VectorDataViewType type, object values)
    {
        var buffer = (VBuffer<T>)values;
        return saver.TryWriteTypeAndValue(stream, type, ref buffer, out _);
    }
}
