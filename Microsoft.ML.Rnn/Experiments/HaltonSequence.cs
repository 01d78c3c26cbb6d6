namespace Microsoft.ML.Rnn.Experiments;

/// <summary>
/// A randomly shifted Halton sequence in the unit hypercube (one prime base per dimension, a seeded
/// Cranley–Patterson shift): low-discrepancy points that cover a search space more evenly than independent random
/// draws, used for an experiment's first trials. Deterministic for a seed.
/// </summary>
public sealed class HaltonSequence
{
    private static readonly int[] Primes = { 2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89, 97 };
    private readonly double[] _shift;
    private int _index;

    /// <summary>Creates the sequence over <paramref name="dimensions"/> coordinates (at most 25).</summary>
    public HaltonSequence(int dimensions, int seed)
    {
        if (dimensions < 0 || dimensions > Primes.Length)
            throw new ArgumentOutOfRangeException(nameof(dimensions), dimensions, $"HaltonSequence: expected 0 to {Primes.Length} dimensions.");
        var random = new Random(seed);
        _shift = Enumerable.Range(0, dimensions).Select(_ => random.NextDouble()).ToArray();
    }

    /// <summary>Number of coordinates per point.</summary>
    public int Dimensions => _shift.Length;

    /// <summary>The next point, coordinates in [0, 1).</summary>
    public double[] Next()
    {
        // Index 0 is the all-zero point in every base; start at 1.
        _index++;
        var point = new double[_shift.Length];
        for (int d = 0; d < point.Length; d++)
        {
            double v = RadicalInverse(_index, Primes[d]) + _shift[d];
            point[d] = v >= 1 ? v - 1 : v;
        }
        return point;
    }

    /// <summary>The van der Corput radical inverse of <paramref name="index"/> in <paramref name="radix"/>.</summary>
    internal static double RadicalInverse(int index, int radix)
    {
        double result = 0, f = 1.0 / radix;
        for (int i = index; i > 0; i /= radix, f /= radix) result += f * (i % radix);
        return result;
    }
}
