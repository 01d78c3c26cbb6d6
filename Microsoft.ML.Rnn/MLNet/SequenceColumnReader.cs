using Microsoft.ML.Data;

namespace Microsoft.ML.Rnn.MLNet;

/// <summary>
/// Reads the sequence held by a <see cref="SequenceColumn"/> in the current row of a cursor or row: Single
/// columns as L * F values (step-major), key columns as L zero-based indices.
/// </summary>
internal sealed class SequenceColumnReader
{
    private readonly DataViewRow _row;
    private readonly SequenceColumn _column;
    private readonly MissingKeyHandling _missingKeys;
    private readonly ValueGetter<VBuffer<float>>? _singles;
    private readonly ValueGetter<VBuffer<uint>>? _keys;
    private VBuffer<float> _singleBuffer;
    private VBuffer<uint> _keyBuffer;

    /// <summary>Creates a reader of <paramref name="column"/> (bound to <paramref name="row"/>'s schema) in <paramref name="row"/>.</summary>
    public SequenceColumnReader(DataViewRow row, SequenceColumn column, MissingKeyHandling missingKeys = MissingKeyHandling.Throw)
    {
        ArgumentNullException.ThrowIfNull(row);
        ArgumentNullException.ThrowIfNull(column);
        _row = row;
        _column = column;
        _missingKeys = missingKeys;
        var schemaColumn = row.Schema[column.Index];
        if (column.Kind == SequenceItemKind.Singles)
            _singles = row.GetGetter<VBuffer<float>>(schemaColumn);
        else
            _keys = row.GetGetter<VBuffer<uint>>(schemaColumn);
    }

    /// <summary>The column read.</summary>
    public SequenceColumn Column => _column;

    /// <summary>
    /// Reads the current row of a Single column: L * F values, step t's features at [t * F, (t + 1) * F).
    /// Throws <see cref="InvalidOperationException"/> naming the column when the length is not a multiple of F.
    /// </summary>
    public float[] ReadSingles(out int steps)
    {
        if (_singles is null)
            throw new InvalidOperationException($"Column '{_column.Name}' holds keys, not Single values.");
        _singles(ref _singleBuffer);
        int length = _singleBuffer.Length;
        int f = _column.FeaturesPerStep;
        if (length % f != 0)
            throw new InvalidOperationException(
                $"Feature column '{_column.Name}', row {_row.Position}: the vector length {length} is not a multiple of the features per step ({f}).");
        var values = new float[length];
        _singleBuffer.CopyTo(values); // densifies sparse vectors
        steps = length / f;
        return values;
    }

    /// <summary>
    /// Reads the current row of a key column: one zero-based index per step, in [0, K) for K = key count, or K for
    /// a missing key under <see cref="MissingKeyHandling.MapToUnknownIndex"/>.
    /// </summary>
    public int[] ReadKeys()
    {
        if (_keys is null)
            throw new InvalidOperationException($"Column '{_column.Name}' holds Single values, not keys.");
        _keys(ref _keyBuffer);
        var indices = new int[_keyBuffer.Length];
        int t = 0;
        foreach (uint key in _keyBuffer.DenseValues())
        {
            indices[t] = ToIndex(key, t);
            t++;
        }
        return indices;
    }

    private int ToIndex(uint key, int step)
    {
        ulong count = _column.KeyCount;
        if (key == 0)
        {
            // Key 0 is ML.NET's missing value (a token not in the dictionary); it has no zero-based index of its own.
            if (_missingKeys == MissingKeyHandling.MapToUnknownIndex)
                return checked((int)count);
            throw new InvalidOperationException(
                $"Feature column '{_column.Name}', row {_row.Position}, step {step}: missing key (0, a value not in the key dictionary). " +
                "Map unknown values to a key, remove them, or let the component map them to an unknown index.");
        }
        if (key > count)
            throw new InvalidOperationException(
                $"Feature column '{_column.Name}', row {_row.Position}, step {step}: key {key} is outside the key range 1..{count} of the column type.");
        // ML.NET keys are 1-based (0 = missing); the network's embedding rows are 0-based. This is the only place
        // where the two numberings meet.
        return (int)(key - 1);
    }
}
