using System.Runtime.InteropServices;
using Microsoft.ML.Rnn.Core;
using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.Rnn.Features;

/// <summary>
/// The sequences of one <see cref="SequenceColumn"/> read from an <see cref="IDataView"/>, row by row, and the
/// padded tensors of any subset of them (a training or inference batch).
/// </summary>
internal sealed class SequenceRows
{
    private readonly List<float[]> _singles = new();
    private readonly List<int[]> _keys = new();
    private readonly List<int[][]> _characters = new();
    private readonly List<int[]> _bags = new();
    private readonly List<int> _lengths = new();

    /// <summary>Creates an empty set of sequences of <paramref name="column"/>.</summary>
    public SequenceRows(SequenceColumn column)
    {
        ArgumentNullException.ThrowIfNull(column);
        Column = column;
    }

    /// <summary>The column the sequences come from.</summary>
    public SequenceColumn Column { get; }

    /// <summary>Number of rows read.</summary>
    public int Count => _lengths.Count;

    /// <summary>L of each row (steps).</summary>
    public IReadOnlyList<int> Lengths => _lengths;

    /// <summary>Row <paramref name="row"/> of a Single column: L * F values, step-major.</summary>
    public float[] Singles(int row) => Column.Kind == SequenceItemKind.Singles
        ? _singles[row]
        : throw new InvalidOperationException($"Column '{Column.Name}' holds keys, not Single values.");

    /// <summary>Row <paramref name="row"/> of a key column (L zero-based indices) or of a token column (L word ids).</summary>
    public int[] Keys(int row) => Column.Kind != SequenceItemKind.Singles
        ? _keys[row]
        : throw new InvalidOperationException($"Column '{Column.Name}' holds Single values, not keys.");

    /// <summary>Row <paramref name="row"/>'s bag word ids, one per occurrence (token columns read with a word bag).</summary>
    public int[] WordBagIds(int row) => _bags[row];

    /// <summary>Reads the sequence of the reader's current row and appends it.</summary>
    public void AddCurrent(SequenceColumnReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        if (Column.Kind == SequenceItemKind.Singles)
        {
            _singles.Add(reader.ReadSingles(out int steps));
            _lengths.Add(steps);
        }
        else
        {
            int[] keys;
            if (Column.Kind == SequenceItemKind.Keys)
            {
                keys = reader.ReadKeys();
            }
            else
            {
                keys = reader.ReadTokens(out var characters, out var bag);
                if (characters is not null) _characters.Add(characters);
                if (bag is not null) _bags.Add(bag);
            }
            _keys.Add(keys);
            _lengths.Add(keys.Length);
        }
    }

    /// <summary>
    /// Binds <paramref name="columnName"/> in <paramref name="data"/>'s schema (ML.NET schema errors) and reads
    /// every row's sequence.
    /// </summary>
    public static SequenceRows ReadAll(IDataView data, string columnName, int featuresPerStep,
        MissingKeyHandling missingKeys = MissingKeyHandling.Throw, string columnRole = "feature")
    {
        ArgumentNullException.ThrowIfNull(data);
        return Read(data, SequenceColumn.Bind(data.Schema, columnName, featuresPerStep, columnRole), missingKeys);
    }

    /// <summary>Reads every row's sequence of a bound column; <paramref name="checkAlive"/> runs before each row (a host's cancellation check).</summary>
    public static SequenceRows Read(IDataView data, SequenceColumn column, MissingKeyHandling missingKeys, Action? checkAlive = null)
    {
        var rows = new SequenceRows(column);
        using var cursor = data.GetRowCursor(new[] { data.Schema[column.Index] });
        var reader = new SequenceColumnReader(cursor, column, missingKeys);
        while (cursor.MoveNext())
        {
            checkAlive?.Invoke();
            rows.AddCurrent(reader);
        }
        return rows;
    }

    /// <summary>
    /// Builds the padded batch of <paramref name="rows"/> (indices into this set), on the CPU:
    /// Single columns give data (N, L_max, F) float32, key columns (N, L_max) int64, token columns (N, L_max) int64 word
    /// ids with, when the vocabulary reads characters, (N, L_max, W_max) int64 character ids (W_max: the longest token,
    /// at least 1); padding is 0 and
    /// lengths hold each row's L (known here, so the batch is not validated again). L_max is the longest selected
    /// sequence, at least 1 so that a batch of empty sequences still has a time axis.
    /// </summary>
    public SequenceBatch MakeBatch(IReadOnlyList<int> rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        int n = rows.Count;
        int maxSteps = 1;
        var lengths = new long[n];
        for (int i = 0; i < n; i++)
        {
            lengths[i] = _lengths[rows[i]];
            maxSteps = Math.Max(maxSteps, _lengths[rows[i]]);
        }

        if (Column.Kind == SequenceItemKind.Singles)
        {
            // Rows are copied straight into the tensor's (zero-padded) memory: a managed batch array of N * L * F
            // values would land on the large object heap at every batch (measured as a visible share of inference).
            var data = torch.zeros(n, maxSteps, Column.FeaturesPerStep, ScalarType.Float32);
            WriteSingles(rows, maxSteps, MemoryMarshal.Cast<byte, float>(data.bytes));
            return SequenceBatch.FromValidLengths(data, lengths);
        }
        else
        {
            var data = new long[(long)n * maxSteps];
            WriteIds(rows, maxSteps, data);
            var batch = SequenceBatch.FromValidLengths(torch.tensor(data, new long[] { n, maxSteps }, ScalarType.Int64), lengths);
            if (Column.Vocabulary?.ReadsCharacters == true) batch = batch.WithCharacters(CharacterBatch(rows, maxSteps));
            return Column.Vocabulary?.Bag is null ? batch : WithWordBag(batch, rows);
        }
    }

    /// <summary><paramref name="batch"/> with the (N, B) distinct bag word ids of <paramref name="rows"/> and their counts (0-padded).</summary>
    private SequenceBatch WithWordBag(SequenceBatch batch, IReadOnlyList<int> rows)
    {
        var counted = rows.Select(r => _bags[r].CountBy(id => id).ToArray()).ToArray();
        int width = Math.Max(1, counted.Select(c => c.Length).DefaultIfEmpty(0).Max());
        var ids = new long[rows.Count * width];
        var counts = new float[rows.Count * width];
        for (int i = 0; i < counted.Length; i++)
        {
            for (int b = 0; b < counted[i].Length; b++)
            {
                ids[i * width + b] = counted[i][b].Key;
                counts[i * width + b] = counted[i][b].Value;
            }
        }
        long[] shape = [rows.Count, width];
        return batch.WithWordBag(torch.tensor(ids, shape, ScalarType.Int64), torch.tensor(counts, shape, ScalarType.Float32));
    }

    /// <summary>The most bag words in a row of <paramref name="rows"/>, at least 1 (the width of <see cref="WriteWordBag"/>).</summary>
    public int WordBagWidth(IReadOnlyList<int> rows) => Math.Max(1, rows.Select(r => _bags[r].Length).DefaultIfEmpty(0).Max());

    /// <summary>
    /// Writes the bag word ids of <paramref name="rows"/>, one per occurrence, into <paramref name="destination"/>
    /// (N, <paramref name="width"/>), -1 past a row's words: the input of a component's ONNX graph.
    /// </summary>
    public void WriteWordBag(IReadOnlyList<int> rows, int width, Span<long> destination)
    {
        destination.Fill(-1);
        for (int i = 0; i < rows.Count; i++)
        {
            var bag = _bags[rows[i]];
            for (int b = 0; b < bag.Length; b++)
                destination[i * width + b] = bag[b];
        }
    }

    /// <summary>(N, L, W) character ids of the tokens of <paramref name="rows"/>, zero-padded.</summary>
    private Tensor CharacterBatch(IReadOnlyList<int> rows, int maxSteps)
    {
        int width = 1;
        foreach (int row in rows)
        {
            foreach (var token in _characters[row])
                width = Math.Max(width, token.Length);
        }
        var data = new long[(long)rows.Count * maxSteps * width];
        WriteCharacters(rows, maxSteps, width, data);
        return torch.tensor(data, new long[] { rows.Count, maxSteps, width }, ScalarType.Int64);
    }

    /// <summary>
    /// Writes the Single steps of <paramref name="rows"/> row after row into <paramref name="destination"/>
    /// (N, <paramref name="steps"/>, F), each row at the start of its slot; the rest of a slot is left as it is (zero in
    /// a padded batch; none in <see cref="Onnx.ComponentOnnxModel"/>'s inputs, whose rows all have that many steps).
    /// </summary>
    public void WriteSingles(IReadOnlyList<int> rows, int steps, Span<float> destination)
    {
        int width = steps * Column.FeaturesPerStep;
        for (int i = 0; i < rows.Count; i++)
            Singles(rows[i]).CopyTo(destination.Slice(i * width, width));
    }

    /// <summary>Writes the key or word ids of <paramref name="rows"/> into <paramref name="destination"/> (N, <paramref name="steps"/>), as <see cref="WriteSingles"/> does.</summary>
    public void WriteIds(IReadOnlyList<int> rows, int steps, Span<long> destination)
    {
        for (int i = 0; i < rows.Count; i++)
        {
            int[] keys = Keys(rows[i]);
            for (int t = 0; t < keys.Length; t++)
                destination[i * steps + t] = keys[t];
        }
    }

    /// <summary>
    /// Writes the character ids of the tokens of <paramref name="rows"/> into <paramref name="destination"/>
    /// (N, <paramref name="steps"/>, <paramref name="width"/>), zero-padded per token (the destination is cleared first).
    /// </summary>
    public void WriteCharacters(IReadOnlyList<int> rows, int steps, int width, Span<long> destination)
    {
        destination.Clear();
        for (int i = 0; i < rows.Count; i++)
        {
            var tokens = _characters[rows[i]];
            for (int t = 0; t < tokens.Length; t++)
            {
                int offset = (i * steps + t) * width;
                for (int c = 0; c < tokens[t].Length; c++)
                    destination[offset + c] = tokens[t][c];
            }
        }
    }
}
