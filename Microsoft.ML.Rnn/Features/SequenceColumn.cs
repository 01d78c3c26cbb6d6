using Microsoft.ML.Data;
using Microsoft.ML.Runtime;

namespace Microsoft.ML.Rnn.Features;

/// <summary>What one time step of a sequence column holds.</summary>
internal enum SequenceItemKind
{
    /// <summary>A vector of Single read as steps of <see cref="SequenceColumn.FeaturesPerStep"/> values.</summary>
    Singles,

    /// <summary>A vector of keys (UInt32), one key (e.g. a token id) per step.</summary>
    Keys,

    /// <summary>A vector of text, one token per step, read through the model's <see cref="Networks.TokenVocabulary"/> (word and character ids).</summary>
    Tokens,
}

/// <summary>
/// A validated input column holding one sequence per row: a known-size or variable-size vector of Single (read as
/// L steps of F = <see cref="FeaturesPerStep"/> values), a variable- or known-size vector of UInt32 keys (one
/// key per step) or of text (one token per step).
/// </summary>
internal sealed class SequenceColumn
{
    /// <summary>The expected type, worded as in ML.NET's schema mismatch messages.</summary>
    public const string ExpectedType = "known-size or variable vector of Single, key or text";

    private SequenceColumn(string name, int index, VectorDataViewType type, SequenceItemKind kind, int featuresPerStep, ulong keyCount)
    {
        Name = name;
        Index = index;
        Type = type;
        Kind = kind;
        FeaturesPerStep = featuresPerStep;
        KeyCount = keyCount;
    }

    /// <summary>Column name.</summary>
    public string Name { get; }

    /// <summary>Column index in the schema it was bound to.</summary>
    public int Index { get; }

    /// <summary>The column's vector type.</summary>
    public VectorDataViewType Type { get; }

    /// <summary>Whether steps are Single features, keys or tokens.</summary>
    public SequenceItemKind Kind { get; }

    /// <summary>F: values per step (1 for keys).</summary>
    public int FeaturesPerStep { get; }

    /// <summary>Key count of a key column (the vocabulary size); 0 for Single columns.</summary>
    public ulong KeyCount { get; }

    /// <summary>L for a known-size column (vector size / F), null for a variable-size one.</summary>
    public int? FixedSteps => Type.IsKnownSize ? Type.Size / FeaturesPerStep : null;

    /// <summary>
    /// Longest sequence kept (<see cref="RnnOptionsBase.MaxSequenceLength"/>): readers keep the first
    /// <see cref="MaxSteps"/> steps of longer rows; null keeps every step.
    /// </summary>
    public int? MaxSteps { get; private init; }

    /// <summary>For a token column: the words and characters its tokens are read as (null until the model has one).</summary>
    public Networks.TokenVocabulary? Vocabulary { get; private init; }

    /// <summary>This column with <see cref="MaxSteps"/> set to <paramref name="maxSteps"/> (null: no limit).</summary>
    public SequenceColumn WithMaxSteps(int? maxSteps)
    {
        if (maxSteps is < 1)
            throw new ArgumentOutOfRangeException(nameof(maxSteps), maxSteps, $"The longest sequence kept for column '{Name}' must be at least 1 step, got {maxSteps}.");
        return new SequenceColumn(Name, Index, Type, Kind, FeaturesPerStep, KeyCount) { MaxSteps = maxSteps, Vocabulary = Vocabulary };
    }

    /// <summary>This token column read through <paramref name="vocabulary"/>.</summary>
    public SequenceColumn WithVocabulary(Networks.TokenVocabulary vocabulary)
    {
        ArgumentNullException.ThrowIfNull(vocabulary);
        if (Kind != SequenceItemKind.Tokens)
            throw new InvalidOperationException($"Column '{Name}' holds {Kind}, not text tokens: it has no vocabulary.");
        return new SequenceColumn(Name, Index, Type, Kind, FeaturesPerStep, KeyCount) { MaxSteps = MaxSteps, Vocabulary = vocabulary };
    }

    /// <summary>
    /// Finds and checks <paramref name="columnName"/> in <paramref name="schema"/>; throws ML.NET's schema
    /// exceptions ("Could not find feature column 'X'", "Schema mismatch for feature column 'X': expected ...,
    /// got ...") and an <see cref="ArgumentOutOfRangeException"/> naming the column when a known size is not a
    /// multiple of <paramref name="featuresPerStep"/>.
    /// </summary>
    /// <param name="schema">Schema of the data (Fit or Transform input).</param>
    /// <param name="columnName">Name of the sequence column.</param>
    /// <param name="featuresPerStep">F for Single columns; must be 1 for key columns.</param>
    /// <param name="columnRole">Role in messages, e.g. "feature".</param>
    public static SequenceColumn Bind(DataViewSchema schema, string columnName, int featuresPerStep, string columnRole = "feature")
    {
        ArgumentNullException.ThrowIfNull(schema);
        ArgumentException.ThrowIfNullOrEmpty(columnName);
        ArgumentOutOfRangeException.ThrowIfLessThan(featuresPerStep, 1);
        if (schema.GetColumnOrNull(columnName) is not { } column)
            throw Contracts.ExceptSchemaMismatch(nameof(schema), columnRole, columnName);
        if (column.Type is not VectorDataViewType vector)
            throw Contracts.ExceptSchemaMismatch(nameof(schema), columnRole, columnName, ExpectedType, column.Type.ToString());

        if (vector.ItemType is KeyDataViewType key)
        {
            if (key.RawType != typeof(uint))
                throw Contracts.ExceptSchemaMismatch(nameof(schema), columnRole, columnName, ExpectedType + " (UInt32)", column.Type.ToString());
            if (featuresPerStep != 1)
                throw new ArgumentOutOfRangeException(nameof(featuresPerStep),
                    $"Features per step must be 1 for key {columnRole} column '{columnName}' (each key is one step), got {featuresPerStep}.");
            return new SequenceColumn(columnName, column.Index, vector, SequenceItemKind.Keys, 1, key.Count);
        }
        if (vector.ItemType is TextDataViewType)
        {
            if (featuresPerStep != 1)
                throw new ArgumentOutOfRangeException(nameof(featuresPerStep),
                    $"Features per step must be 1 for text {columnRole} column '{columnName}' (each token is one step), got {featuresPerStep}.");
            return new SequenceColumn(columnName, column.Index, vector, SequenceItemKind.Tokens, 1, 0);
        }
        if (vector.ItemType != NumberDataViewType.Single)
            throw Contracts.ExceptSchemaMismatch(nameof(schema), columnRole, columnName, ExpectedType, column.Type.ToString());
        if (vector.IsKnownSize && vector.Size % featuresPerStep != 0)
            throw new ArgumentOutOfRangeException(nameof(featuresPerStep),
                $"The size {vector.Size} of {columnRole} column '{columnName}' is not a multiple of the features per step ({featuresPerStep}).");
        return new SequenceColumn(columnName, column.Index, vector, SequenceItemKind.Singles, featuresPerStep, 0);
    }

    /// <summary>
    /// The <see cref="SchemaShape"/> counterpart of <see cref="Bind"/> for estimators' GetOutputSchema: checks
    /// presence and type (sizes are not known there) and returns the column.
    /// </summary>
    public static SchemaShape.Column CheckShape(SchemaShape inputSchema, string columnName, string columnRole = "feature")
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        ArgumentException.ThrowIfNullOrEmpty(columnName);
        if (!inputSchema.TryFindColumn(columnName, out var column))
            throw Contracts.ExceptSchemaMismatch(nameof(inputSchema), columnRole, columnName);
        bool isVector = column.Kind is SchemaShape.Column.VectorKind.Vector or SchemaShape.Column.VectorKind.VariableVector;
        bool itemOk = column.IsKey ? column.ItemType.RawType == typeof(uint) : column.ItemType is TextDataViewType || column.ItemType == NumberDataViewType.Single;
        if (!isVector || !itemOk)
            throw Contracts.ExceptSchemaMismatch(nameof(inputSchema), columnRole, columnName, ExpectedType, column.GetTypeString());
        return column;
    }
}
