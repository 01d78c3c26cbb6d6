using Microsoft.ML.Data;
using Microsoft.ML.Rnn.Training;
using Microsoft.ML.Runtime;

namespace Microsoft.ML.Rnn.Features;

/// <summary>
/// A bound numeric label of <see cref="SequenceRegressor"/>: one Single value per row, or a known-size vector of Single
/// (a forecast horizon of <see cref="Size"/> values).
/// </summary>
/// <param name="Column">The column in the bound schema.</param>
/// <param name="Size">Values per row (1 for a Single label).</param>
/// <param name="IsVector">True for a vector label (even of size 1).</param>
internal sealed record ValueLabelColumn(DataViewSchema.Column Column, int Size, bool IsVector)
{
    /// <summary>What the label must be, as said in schema errors.</summary>
    public const string ExpectedType = "Single or known-size vector of Single";

    /// <summary>Binds the label; ML.NET schema errors name it and <paramref name="parameter"/>.</summary>
    public static ValueLabelColumn Bind(DataViewSchema schema, string name, string parameter)
    {
        if (schema.GetColumnOrNull(name) is not { } column)
            throw Contracts.ExceptSchemaMismatch(parameter, "label", name);
        if (column.Type == NumberDataViewType.Single)
            return new ValueLabelColumn(column, 1, false);
        if (column.Type is VectorDataViewType { ItemType: var item, Size: > 0 and var size } && item == NumberDataViewType.Single)
            return new ValueLabelColumn(column, size, true);
        throw Contracts.ExceptSchemaMismatch(parameter, "label", name, ExpectedType, column.Type.ToString());
    }

    /// <summary>Checks the label in an estimator's input schema shape; returns it.</summary>
    public static SchemaShape.Column CheckShape(SchemaShape inputSchema, string name)
    {
        var label = LabelColumn.Find(inputSchema, name);
        if (label.ItemType != NumberDataViewType.Single || label.Kind == SchemaShape.Column.VectorKind.VariableVector)
            throw Contracts.ExceptSchemaMismatch(nameof(inputSchema), "label", name, ExpectedType, label.GetTypeString());
        return label;
    }

    /// <summary>Throws ML.NET's schema error when <paramref name="other"/> (e.g. the validation data's label) is not of this label's shape.</summary>
    public void CheckSameAs(ValueLabelColumn other, string parameter)
    {
        if (other.Size != Size || other.IsVector != IsVector)
            throw Contracts.ExceptSchemaMismatch(parameter, "label", Column.Name, Column.Type.ToString(), other.Column.Type.ToString());
    }

    /// <summary>Reads the sequences and label values of the rows whose label is finite; the others are skipped and counted.</summary>
    public SequenceDataSet<float[][]> ReadValues(IHost host, IDataView data, SequenceColumn features, string component)
    {
        var rows = new SequenceRows(features);
        var targets = new List<float[]>();
        long skipped = 0;
        using (var cursor = data.GetRowCursor(new[] { data.Schema[features.Index], Column }))
        {
            var reader = new SequenceColumnReader(cursor, features, MissingKeyHandling.MapToUnknownIndex);
            ValueGetter<float>? getValue = IsVector ? null : cursor.GetGetter<float>(Column);
            ValueGetter<VBuffer<float>>? getVector = IsVector ? cursor.GetGetter<VBuffer<float>>(Column) : null;
            float value = 0;
            VBuffer<float> vector = default;
            while (cursor.MoveNext())
            {
                host.CheckAlive();
                float[] target;
                if (getValue is not null)
                {
                    getValue(ref value);
                    target = [value];
                }
                else
                {
                    getVector!(ref vector);
                    target = vector.DenseValues().ToArray();
                }
                // NaN is ML.NET's missing value; an infinite label has no squared error.
                if (target.Any(v => !float.IsFinite(v))) { skipped++; continue; }
                rows.AddCurrent(reader);
                targets.Add(target);
            }
        }
        if (skipped > 0)
        {
            using var ch = host.Start("Labels");
            ch.Warning($"{component}: skipped {skipped} row(s) with a missing or infinite label value in column '{Column.Name}'.");
        }
        return new SequenceDataSet<float[][]>(rows, targets.ToArray());
    }
}
