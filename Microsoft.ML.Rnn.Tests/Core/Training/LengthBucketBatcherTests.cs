using Microsoft.ML.Rnn.Core.Training;
using Xunit;

namespace Microsoft.ML.Rnn.Tests.Core.Training;

public class LengthBucketBatcherTests
{
    private static int[] RandomLengths(int n, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => random.Next(0, 101)).ToArray();
    }

    [Fact]
    public void EveryRowExactlyOncePerEpoch()
    {
        var lengths = RandomLengths(1003, 1);
        var batcher = LengthBucketBatcher.ForTraining(lengths, batchSize: 16, seed: 7, chunkBatches: 8);
        for (int epoch = 0; epoch < 3; epoch++)
        {
            var batches = batcher.GetBatches(epoch);
            var rows = batches.SelectMany(b => b).OrderBy(r => r).ToArray();
            Assert.Equal(Enumerable.Range(0, lengths.Length), rows);
            Assert.All(batches, b => Assert.InRange(b.Length, 1, 16));
            // Only the last batch of each chunk can be short: ceil(1003 / 128) chunks.
            Assert.True(batches.Count(b => b.Length < 16) <= (1003 + 127) / 128);
        }
    }

    [Fact]
    public void SameSeedSameBatchesOtherSeedOrEpochOtherBatches()
    {
        var lengths = RandomLengths(500, 2);
        var a = LengthBucketBatcher.ForTraining(lengths, 10, seed: 3).GetBatches(1);
        var b = LengthBucketBatcher.ForTraining(lengths, 10, seed: 3).GetBatches(1);
        var otherSeed = LengthBucketBatcher.ForTraining(lengths, 10, seed: 4).GetBatches(1);
        var otherEpoch = LengthBucketBatcher.ForTraining(lengths, 10, seed: 3).GetBatches(2);
        Assert.Equal(Flatten(a), Flatten(b));
        Assert.NotEqual(Flatten(a), Flatten(otherSeed));
        Assert.NotEqual(Flatten(a), Flatten(otherEpoch));
    }

    [Fact]
    public void GroupsRowsOfSimilarLength()
    {
        var lengths = RandomLengths(2000, 5);
        var batches = LengthBucketBatcher.ForTraining(lengths, 20, seed: 1, chunkBatches: 25).GetBatches(0);
        double bucketed = batches.Average(b => b.Max(r => lengths[r]) - b.Min(r => lengths[r]));

        // Reference: the same batch size over a plain random permutation, whose mean spread is near 100 * 19/21.
        var random = new Random(9);
        var order = Enumerable.Range(0, lengths.Length).ToArray();
        random.Shuffle(order);
        double plain = order.Chunk(20).Average(b => b.Max(r => lengths[r]) - b.Min(r => lengths[r]));

        Assert.True(bucketed < 8, $"mean length spread per batch {bucketed}");
        Assert.True(plain > 70, $"mean length spread per random batch {plain}");
        // Batch order is shuffled: lengths of consecutive batches are not sorted.
        var firstLengths = batches.Select(b => lengths[b[0]]).ToArray();
        Assert.NotEqual(firstLengths.OrderBy(x => x), firstLengths);
    }

    [Fact]
    public void InferenceSortsByLengthAndRestoresOrder()
    {
        int[] lengths = [5, 1, 3, 1, 0, 5, 2];
        var batcher = LengthBucketBatcher.ForInference(lengths, batchSize: 3);
        Assert.False(batcher.Shuffles);
        var batches = batcher.GetBatches();
        Assert.Equal([[4, 1, 3], [6, 2, 0], [5]], batches);
        Assert.Equal(Flatten(batches), Flatten(batcher.GetBatches(5)));

        var positions = LengthBucketBatcher.RowPositions(batches, lengths.Length);
        for (int row = 0; row < lengths.Length; row++)
            Assert.Equal(row, batches[positions[row].Batch][positions[row].Position]);
    }

    [Fact]
    public void RowPositionsRejectsMissingOrRepeatedRows()
    {
        var e1 = Assert.Throws<ArgumentException>(() => LengthBucketBatcher.RowPositions([[0, 1], [1]], 3));
        Assert.StartsWith("LengthBucketBatcher: row 1 is out of range or appears twice.", e1.Message);
        var e2 = Assert.Throws<ArgumentException>(() => LengthBucketBatcher.RowPositions([[0, 2]], 3));
        Assert.StartsWith("LengthBucketBatcher: row 1 is in no batch.", e2.Message);
    }

    [Fact]
    public void RejectsBadArguments()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => LengthBucketBatcher.ForTraining([1, 2], 0, 1));
        Assert.Equal("batchSize", e.ParamName);
        var e2 = Assert.Throws<ArgumentException>(() => LengthBucketBatcher.ForInference([1, -2], 4));
        Assert.StartsWith("LengthBucketBatcher: row 1 has negative length -2.", e2.Message);
    }

    [Fact]
    public void NoRowsNoBatches()
        => Assert.Empty(LengthBucketBatcher.ForTraining([], 4, 1).GetBatches(0));

    private static int[] Flatten(IReadOnlyList<int[]> batches) => batches.SelectMany(b => b).ToArray();
}
