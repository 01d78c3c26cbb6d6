using Microsoft.ML.Data;
using Microsoft.ML.Rnn.Training;
using Microsoft.ML.Runtime;

namespace Microsoft.ML.Rnn.Features;

/// <summary>
/// A bound label column, and every component's label handling: a class label (key: multiclass; Boolean: binary, two
/// classes) for <see cref="RnnSequenceClassifier"/> and a supervised <see cref="BiGruEncoder"/>, or a tag sequence
/// (vector of keys) for <see cref="LstmTagger"/>.
/// </summary>
/// <param name="Column">The column in the bound schema.</param>
/// <param name="IsBinary">True for a Boolean label.</param>
/// <param name="ClassCount">Classes or tags (2 for a Boolean label).</param>
/// <param name="Names">The key values (class or tag names), when the column has them.</param>
internal sealed record LabelColumn(DataViewSchema.Column Column, bool IsBinary, long ClassCount, KeyValueAnnotation? Names)
{
    /// <summary>What a class label must be, as said in schema errors.</summary>
    public const string ExpectedClassType = "key (UInt32) or Boolean";

    /// <summary>What a tag label must be, as said in schema errors.</summary>
    public const string ExpectedTagsType = "vector of key (UInt32)";

    /// <summary>Binds a key or Boolean class label; ML.NET schema errors name it and <paramref name="parameter"/>.</summary>
    public static LabelColumn BindClasses(DataViewSchema schema, string name, string parameter, string component)
    {
        if (schema.GetColumnOrNull(name) is not { } column)
            throw Contracts.ExceptSchemaMismatch(parameter, "label", name);
        if (column.Type == BooleanDataViewType.Instance)
            return new LabelColumn(column, true, 2, null);
        if (column.Type is KeyDataViewType key && key.RawType == typeof(uint))
        {
            if (key.Count < 2)
                throw new InvalidOperationException($"{component}: label column '{name}' has {key.Count} class(es); at least two are needed.");
            return new LabelColumn(column, false, (long)key.Count, KeyValueAnnotation.FromColumn(column));
        }
        throw Contracts.ExceptSchemaMismatch(parameter, "label", name, ExpectedClassType, column.Type.ToString());
    }

    /// <summary>Binds a vector-of-keys tag label (at most <paramref name="maxSteps"/> tags read per row).</summary>
    public static (LabelColumn Label, SequenceColumn Tags) BindTags(DataViewSchema schema, string name, int? maxSteps, string parameter, string component)
    {
        if (schema.GetColumnOrNull(name) is not { } column)
            throw Contracts.ExceptSchemaMismatch(parameter, "label", name);
        if (column.Type is not VectorDataViewType { ItemType: KeyDataViewType { RawType: var raw } } || raw != typeof(uint))
            throw Contracts.ExceptSchemaMismatch(parameter, "label", name, ExpectedTagsType, column.Type.ToString());
        var tags = SequenceColumn.Bind(schema, name, 1, "label").WithMaxSteps(maxSteps);
        if (tags.KeyCount < 2)
            throw new InvalidOperationException($"{component}: label column '{name}' has {tags.KeyCount} tag(s); at least two are needed.");
        return (new LabelColumn(column, false, (long)tags.KeyCount, KeyValueAnnotation.FromColumn(column)), tags);
    }

    /// <summary>Throws ML.NET's schema error when <paramref name="other"/> (e.g. the validation data's label) is not of this label's kind and count.</summary>
    public void CheckSameAs(LabelColumn other, string parameter)
    {
        if (other.IsBinary != IsBinary || other.ClassCount != ClassCount)
            throw Contracts.ExceptSchemaMismatch(parameter, "label", Column.Name, Column.Type.ToString(), other.Column.Type.ToString());
    }

    /// <summary>Checks a class label in an estimator's input schema shape; returns it (its key values annotate the predicted label).</summary>
    public static SchemaShape.Column CheckClassShape(SchemaShape inputSchema, string name)
    {
        var label = Find(inputSchema, name);
        bool isBinary = label.Kind == SchemaShape.Column.VectorKind.Scalar && label.ItemType == BooleanDataViewType.Instance;
        bool isKey = label.Kind == SchemaShape.Column.VectorKind.Scalar && label.IsKey && label.ItemType.RawType == typeof(uint);
        if (!isBinary && !isKey)
            throw Contracts.ExceptSchemaMismatch(nameof(inputSchema), "label", name, ExpectedClassType, label.GetTypeString());
        return label;
    }

    /// <summary>Checks a tag label in an estimator's input schema shape; returns it.</summary>
    public static SchemaShape.Column CheckTagsShape(SchemaShape inputSchema, string name)
    {
        var label = Find(inputSchema, name);
        if (label.Kind == SchemaShape.Column.VectorKind.Scalar || !label.IsKey || label.ItemType.RawType != typeof(uint))
            throw Contracts.ExceptSchemaMismatch(nameof(inputSchema), "label", name, ExpectedTagsType, label.GetTypeString());
        return label;
    }

    /// <summary>The key-values annotation of a label's schema shape (empty when it has none), for the predicted label.</summary>
    public static SchemaShape KeyValuesOf(SchemaShape.Column label)
        => new(label.Annotations.Where(a => a.Name == AnnotationUtils.Kinds.KeyValues).ToArray());

    /// <summary>The label <paramref name="name"/> in an estimator's input schema shape; ML.NET's schema error when it is absent.</summary>
    public static SchemaShape.Column Find(SchemaShape inputSchema, string name)
        => inputSchema.TryFindColumn(name, out var label) ? label : throw Contracts.ExceptSchemaMismatch(nameof(inputSchema), "label", name);

    /// <summary>
    /// Reads the sequences and 0-based class indices of the rows with a label; missing keys (0) are skipped and counted.
    /// <paramref name="rowIds"/>, when given, receives each kept row's id in the data.
    /// </summary>
    public SequenceDataSet<long[]> ReadClasses(IHost host, IDataView data, SequenceColumn features, string component,
        List<DataViewRowId>? rowIds = null)
    {
        var rows = new SequenceRows(features);
        var targets = new List<long>();
        long skipped = 0;
        var column = Column;
        using (var cursor = data.GetRowCursor(new[] { data.Schema[features.Index], column }))
        {
            var reader = new SequenceColumnReader(cursor, features, MissingKeyHandling.MapToUnknownIndex);
            ValueGetter<bool>? getBool = IsBinary ? cursor.GetGetter<bool>(column) : null;
            ValueGetter<uint>? getKey = IsBinary ? null : cursor.GetGetter<uint>(column);
            var getId = rowIds is null ? null : cursor.GetIdGetter();
            bool flag = false;
            uint key = 0;
            var id = default(DataViewRowId);
            while (cursor.MoveNext())
            {
                host.CheckAlive();
                long target;
                if (getBool is not null)
                {
                    getBool(ref flag);
                    target = flag ? 1 : 0;
                }
                else
                {
                    getKey!(ref key);
                    // Key 0 is ML.NET's missing label.
                    if (key == 0 || key > ClassCount) { skipped++; continue; }
                    target = KeyNumbering.ToIndex(key);
                }
                rows.AddCurrent(reader);
                targets.Add(target);
                if (getId is not null)
                {
                    getId(ref id);
                    rowIds!.Add(id);
                }
            }
        }
        if (skipped > 0)
        {
            using var ch = host.Start("Labels");
            ch.Warning($"{component}: skipped {skipped} row(s) with a missing label in column '{Column.Name}'.");
        }
        return new SequenceDataSet<long[]>(rows, targets.ToArray());
    }
}
