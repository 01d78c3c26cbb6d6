using Microsoft.ML.Data;

namespace Microsoft.ML.Rnn.Tests;

/// <summary>
/// Reads the values of a column (or an annotation) into comparable objects: Single/Double as themselves, keys and
/// integers as <see cref="ulong"/>/<see cref="long"/>, text as <see cref="string"/>, vectors as arrays of those.
/// </summary>
internal static class ColumnValues
{
    /// <summary>All values of <paramref name="name"/> in <paramref name="data"/>, one per row.</summary>
    public static List<object> Read(IDataView data, string name)
    {
        var column = data.Schema[name];
        var values = new List<object>();
        using var cursor = data.GetRowCursor(new[] { column });
        var get = MakeGetter(cursor, column);
        while (cursor.MoveNext())
            values.Add(get());
        return values;
    }

    /// <summary>The value of annotation <paramref name="kind"/> of <paramref name="column"/>.</summary>
    public static object ReadAnnotation(DataViewSchema.Column column, string kind)
    {
        var annotationColumn = column.Annotations.Schema[kind];
        return Reader(annotationColumn.Type, raw => (Delegate)typeof(DataViewSchema.Annotations)
            .GetMethod(nameof(DataViewSchema.Annotations.GetGetter))!.MakeGenericMethod(raw)
            .Invoke(column.Annotations, new object[] { annotationColumn })!)();
    }

    private static Func<object> MakeGetter(DataViewRow row, DataViewSchema.Column column)
        => Reader(column.Type, raw => (Delegate)typeof(DataViewRow).GetMethod(nameof(DataViewRow.GetGetter))!
            .MakeGenericMethod(raw).Invoke(row, new object[] { column })!);

    /// <summary>A function reading the current value, given a factory of typed getters by raw type.</summary>
    private static Func<object> Reader(DataViewType type, Func<Type, Delegate> getterFor) => type is VectorDataViewType v
        ? VectorReader(v.ItemType, getterFor)
        : ScalarReader(type, getterFor);

    private static Func<object> ScalarReader(DataViewType type, Func<Type, Delegate> getterFor) => type.RawType switch
    {
        var t when t == typeof(float) => Scalar<float>(getterFor, v => v),
        var t when t == typeof(double) => Scalar<double>(getterFor, v => v),
        var t when t == typeof(uint) => Scalar<uint>(getterFor, v => (ulong)v),
        var t when t == typeof(ulong) => Scalar<ulong>(getterFor, v => v),
        var t when t == typeof(int) => Scalar<int>(getterFor, v => (long)v),
        var t when t == typeof(long) => Scalar<long>(getterFor, v => v),
        var t when t == typeof(bool) => Scalar<bool>(getterFor, v => v),
        var t when t == typeof(ReadOnlyMemory<char>) => Scalar<ReadOnlyMemory<char>>(getterFor, v => v.ToString()),
        _ => throw new NotSupportedException($"ColumnValues: cannot compare values of type {type}."),
    };

    private static Func<object> VectorReader(DataViewType item, Func<Type, Delegate> getterFor) => item.RawType switch
    {
        var t when t == typeof(float) => Vector<float>(getterFor, v => v),
        var t when t == typeof(double) => Vector<double>(getterFor, v => v),
        var t when t == typeof(uint) => Vector<uint>(getterFor, v => (ulong)v),
        var t when t == typeof(long) => Vector<long>(getterFor, v => v),
        var t when t == typeof(ReadOnlyMemory<char>) => Vector<ReadOnlyMemory<char>>(getterFor, v => v.ToString()),
        _ => throw new NotSupportedException($"ColumnValues: cannot compare vectors of {item}."),
    };

    private static Func<object> Scalar<T>(Func<Type, Delegate> getterFor, Func<T, object> convert)
    {
        var get = (ValueGetter<T>)getterFor(typeof(T));
        return () => { T value = default!; get(ref value); return convert(value); };
    }

    private static Func<object> Vector<T>(Func<Type, Delegate> getterFor, Func<T, object> convert)
    {
        var get = (ValueGetter<VBuffer<T>>)getterFor(typeof(VBuffer<T>));
        return () => { VBuffer<T> value = default; get(ref value); return value.DenseValues().Select(convert).ToArray(); };
    }
}
