using System.Numerics;
using Microsoft.ML.Data;

namespace Microsoft.ML.Rnn.Features;

/// <summary>
/// Reads the sequence held by a <see cref="SequenceColumn"/> in the current row of a cursor or row: Single
/// columns as L * F values (step-major), key columns as L zero-based indices, token columns as L texts (or their word
/// and character ids).
/// </summary>
internal sealed class SequenceColumnReader
{
    private readonly DataViewRow _row;
    private readonly SequenceColumn _column;
    private readonly MissingKeyHandling _missingKeys;
    private readonly ValueGetter<VBuffer<float>>? _singles;
    private readonly ValueGetter<VBuffer<uint>>? _keys;
    private readonly ValueGetter<VBuffer<ReadOnlyMemory<char>>>? _tokens;
    private VBuffer<float> _singleBuffer;
    private VBuffer<uint> _keyBuffer;
    private VBuffer<ReadOnlyMemory<char>> _tokenBuffer;

    /// <summary>Creates a reader of <paramref name="column"/> (bound to <paramref name="row"/>'s schema) in <paramref name="row"/>.</summary>
    public SequenceColumnReader(DataViewRow row, SequenceColumn column, MissingKeyHandling missingKeys = MissingKeyHandling.Throw)
    {
        ArgumentNullException.ThrowIfNull(row);
        ArgumentNullException.ThrowIfNull(column);
        _row = row;
        _column = column;
        _missingKeys = missingKeys;
        var schemaColumn = row.Schema[column.Index];
        switch (column.Kind)
        {
            case SequenceItemKind.Singles: _singles = row.GetGetter<VBuffer<float>>(schemaColumn); break;
            case SequenceItemKind.Keys: _keys = row.GetGetter<VBuffer<uint>>(schemaColumn); break;
            default: _tokens = row.GetGetter<VBuffer<ReadOnlyMemory<char>>>(schemaColumn); break;
        }
    }

    /// <summary>The column read.</summary>
    public SequenceColumn Column => _column;

    /// <summary>Steps of the last row read before truncation to <see cref="SequenceColumn.MaxSteps"/>.</summary>
    public int LastFullSteps { get; private set; }

    /// <summary>
    /// Reads the current row of a Single column: L * F values, step t's features at [t * F, (t + 1) * F).
    /// Throws <see cref="InvalidOperationException"/> naming the column and row when the length is not a multiple of F
    /// or a value is NaN or infinite (a recurrent network would spread it to every later step and every output).
    /// Rows longer than <see cref="SequenceColumn.MaxSteps"/> keep their first steps.
    /// </summary>
    public float[] ReadSingles(out int steps)
    {
        if (_singles is null)
            throw new InvalidOperationException($"Column '{_column.Name}' holds {_column.Kind}, not Single values.");
        _singles(ref _singleBuffer);
        int length = _singleBuffer.Length;
        int f = _column.FeaturesPerStep;
        if (length % f != 0)
            throw new InvalidOperationException(
                $"Feature column '{_column.Name}', row {_row.Position}: the vector length {length} is not a multiple of the features per step ({f}).");
        steps = length / f;
        LastFullSteps = steps;
        if (_column.MaxSteps is int max && steps > max)
            steps = max;
        var values = new float[length];
        _singleBuffer.CopyTo(values); // densifies sparse vectors
        if (steps * f != length)
            values = values[..(steps * f)];
        for (int i = AllFinite(values) ? values.Length : 0; i < values.Length; i++)
        {
            if (!float.IsFinite(values[i]))
            {
                throw new InvalidOperationException(
                    $"Feature column '{_column.Name}', row {_row.Position}, step {i / f}: the value {(float.IsNaN(values[i]) ? "NaN" : values[i] > 0 ? "+Infinity" : "-Infinity")} at index {i} is not a finite number; " +
                    "expected finite Single values. Replace missing values first (e.g. ReplaceMissingValues) and clip infinities.");
            }
        }
        return values;
    }

    /// <summary>
    /// True when every value is finite, checked a SIMD vector at a time (x * 0 is 0 for finite x and NaN for NaN or
    /// ±infinity); the per-value loop that names the first bad value then only runs for a bad row.
    /// </summary>
    private static bool AllFinite(ReadOnlySpan<float> values)
    {
        var products = Vector<float>.Zero;
        int i = 0;
        for (; i <= values.Length - Vector<float>.Count; i += Vector<float>.Count)
            products += new Vector<float>(values.Slice(i)) * Vector<float>.Zero;
        float tail = 0;
        for (; i < values.Length; i++)
            tail += values[i] * 0;
        return Vector.Dot(products, Vector<float>.One) + tail == 0;
    }

    /// <summary>
    /// Reads the current row of a key column: one zero-based index per step, in [0, K) for K = key count, or K for
    /// a missing key under <see cref="MissingKeyHandling.MapToUnknownIndex"/>.
    /// </summary>
    public int[] ReadKeys()
    {
        if (_keys is null)
            throw new InvalidOperationException($"Column '{_column.Name}' holds {_column.Kind}, not keys.");
        _keys(ref _keyBuffer);
        LastFullSteps = _keyBuffer.Length;
        int steps = _column.MaxSteps is int max ? Math.Min(max, _keyBuffer.Length) : _keyBuffer.Length;
        var indices = new int[steps];
        int t = 0;
        foreach (uint key in _keyBuffer.DenseValues())
        {
            if (t == steps) break;
            indices[t] = ToIndex(key, t);
            t++;
        }
        return indices;
    }

    /// <summary>The current row's tokens (at most <see cref="SequenceColumn.MaxSteps"/>) as text: what a vocabulary is built from.</summary>
    public ReadOnlyMemory<char>[] ReadTokenText()
    {
        if (_tokens is null)
            throw new InvalidOperationException($"Column '{_column.Name}' holds {_column.Kind}, not text tokens.");
        _tokens(ref _tokenBuffer);
        LastFullSteps = _tokenBuffer.Length;
        int steps = _column.MaxSteps is int max ? Math.Min(max, _tokenBuffer.Length) : _tokenBuffer.Length;
        var tokens = new ReadOnlyMemory<char>[steps];
        int t = 0;
        foreach (var token in _tokenBuffer.DenseValues())
        {
            if (t == steps) break;
            tokens[t++] = token;
        }
        return tokens;
    }

    /// <summary>
    /// Reads the current row of a token column through its vocabulary: one word id per step (the unknown word's id for
    /// a word the model does not know, including an empty token) and each token's character ids (null when the
    /// vocabulary reads words only), and the ids of the bag words in its tokens, in order (null without a bag).
    /// </summary>
    public int[] ReadTokens(out int[][]? characters, out int[]? bag)
    {
        var vocabulary = _column.Vocabulary
            ?? throw new InvalidOperationException($"Token column '{_column.Name}' is read before its vocabulary is known.");
        var tokens = ReadTokenText();
        var words = new int[tokens.Length];
        characters = vocabulary.ReadsCharacters ? new int[tokens.Length][] : null;
        var bagIds = vocabulary.Bag is null ? null : new List<int>(tokens.Length);
        for (int t = 0; t < tokens.Length; t++)
        {
            var token = tokens[t].Span;
            words[t] = vocabulary.WordId(token);
            if (characters is not null) characters[t] = vocabulary.CharacterIds(token);
            if (bagIds is not null) vocabulary.Bag!.AddIds(token, bagIds);
        }
        bag = bagIds?.ToArray();
        return words;
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
        return KeyNumbering.ToIndex(key);
    }
}
