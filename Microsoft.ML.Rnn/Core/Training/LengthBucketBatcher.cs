namespace Microsoft.ML.Rnn.Core.Training;

/// <summary>
/// Splits rows into mini-batches of row indices so that rows of similar length share a batch (less padding, less
/// wasted recurrent computation). Training mode shuffles rows, sorts them by length within chunks of
/// <c>chunkBatches</c> batches, cuts the chunks into batches and shuffles the batch order; inference mode sorts all
/// rows by length once, without randomness.
/// </summary>
/// <remarks>
/// Every row appears in exactly one batch per epoch. A batch is an array of ORIGINAL row indices, so a caller
/// restores the input order by writing the result of batch position <c>k</c> to row <c>batch[k]</c>
/// (<see cref="RowPositions"/> gives the same mapping the other way round). The batches of an epoch depend only on
/// the lengths, the batch size, the seed and the epoch number.
/// </remarks>
public sealed class LengthBucketBatcher
{
    private readonly int[] _lengths;
    private readonly int? _seed;
    private readonly int _chunkBatches;

    private LengthBucketBatcher(IReadOnlyList<int> lengths, int batchSize, int? seed, int chunkBatches)
    {
        ArgumentNullException.ThrowIfNull(lengths);
        if (batchSize < 1)
            throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "LengthBucketBatcher: the batch size must be at least 1.");
        if (chunkBatches < 1)
            throw new ArgumentOutOfRangeException(nameof(chunkBatches), chunkBatches, "LengthBucketBatcher: a chunk must hold at least one batch.");
        _lengths = lengths.ToArray();
        for (int i = 0; i < _lengths.Length; i++)
        {
            if (_lengths[i] < 0)
                throw new ArgumentException($"LengthBucketBatcher: row {i} has negative length {_lengths[i]}.", nameof(lengths));
        }
        BatchSize = batchSize;
        _seed = seed;
        _chunkBatches = chunkBatches;
    }

    /// <summary>A training batcher: shuffled, length-grouped batches that differ from epoch to epoch.</summary>
    /// <param name="lengths">Length (valid steps) of each row.</param>
    /// <param name="batchSize">Rows per batch (the last batch of a chunk may be smaller).</param>
    /// <param name="seed">Seed of the shuffles; the same seed gives the same batches.</param>
    /// <param name="chunkBatches">Batches per sorting chunk: larger groups lengths more tightly but shuffles less.</param>
    public static LengthBucketBatcher ForTraining(IReadOnlyList<int> lengths, int batchSize, int seed, int chunkBatches = 32)
        => new(lengths, batchSize, seed, chunkBatches);

    /// <summary>An inference batcher: rows sorted by length (ties in row order), no randomness.</summary>
    public static LengthBucketBatcher ForInference(IReadOnlyList<int> lengths, int batchSize)
        => new(lengths, batchSize, null, int.MaxValue);

    /// <summary>Number of rows.</summary>
    public int RowCount => _lengths.Length;

    /// <summary>Maximum rows per batch.</summary>
    public int BatchSize { get; }

    /// <summary>True for a training batcher (shuffled), false for an inference batcher.</summary>
    public bool Shuffles => _seed.HasValue;

    /// <summary>The batches of one epoch, each an array of original row indices.</summary>
    /// <param name="epoch">0-based epoch; ignored by an inference batcher.</param>
    public IReadOnlyList<int[]> GetBatches(int epoch = 0)
    {
        int n = _lengths.Length;
        var order = Enumerable.Range(0, n).ToArray();
        Random? random = null;
        if (_seed is int seed)
        {
            // System.Random with an explicit seed uses a fixed algorithm across .NET versions, so batches are reproducible.
            random = new Random(unchecked(seed * 486187739 + epoch));
            random.Shuffle(order);
        }

        long chunkRows = Math.Min((long)BatchSize * _chunkBatches, Math.Max(n, 1));
        var batches = new List<int[]>();
        for (int start = 0; start < n; start += (int)chunkRows)
        {
            int count = (int)Math.Min(chunkRows, n - start);
            var chunk = order.AsSpan(start, count).ToArray();
            // Stable order among equal lengths: by position in the shuffled (or original) order.
            var position = new Dictionary<int, int>(count);
            for (int k = 0; k < count; k++) position[chunk[k]] = k;
            Array.Sort(chunk, (a, b) =>
            {
                int byLength = _lengths[a].CompareTo(_lengths[b]);
                return byLength != 0 ? byLength : position[a].CompareTo(position[b]);
            });
            for (int b = 0; b < count; b += BatchSize)
                batches.Add(chunk.AsSpan(b, Math.Min(BatchSize, count - b)).ToArray());
        }

        if (random is not null)
        {
            var shuffled = batches.ToArray();
            random.Shuffle(shuffled);
            return shuffled;
        }
        return batches;
    }

    /// <summary>
    /// For each original row, the (batch, position in batch) where <paramref name="batches"/> put it: the
    /// order-restoring index for results computed batch by batch.
    /// </summary>
    public static (int Batch, int Position)[] RowPositions(IReadOnlyList<int[]> batches, int rowCount)
    {
        ArgumentNullException.ThrowIfNull(batches);
        var positions = new (int, int)[rowCount];
        var seen = new bool[rowCount];
        for (int b = 0; b < batches.Count; b++)
        {
            for (int k = 0; k < batches[b].Length; k++)
            {
                int row = batches[b][k];
                if ((uint)row >= (uint)rowCount || seen[row])
                    throw new ArgumentException($"LengthBucketBatcher: row {row} is out of range or appears twice.", nameof(batches));
                seen[row] = true;
                positions[row] = (b, k);
            }
        }
        int missing = Array.IndexOf(seen, false);
        if (missing >= 0)
            throw new ArgumentException($"LengthBucketBatcher: row {missing} is in no batch.", nameof(batches));
        return positions;
    }
}
