namespace Microsoft.ML.Rnn.Experiments;

/// <summary>
/// A small Tree-structured Parzen Estimator (Bergstra et al., 2011) over the unit hypercube of a
/// <see cref="RnnSearchSpace"/>. The observations are split at the <see cref="Gamma"/> quantile of their loss into
/// "good" and "bad"; each dimension gets a density for each group (a mixture of Gaussians truncated to [0, 1] with
/// a uniform prior component for ranges; smoothed counts for categorical dimensions); <see cref="Candidates"/> points
/// are drawn from the good densities and the one maximising l(x)/g(x) is proposed. Dimensions are independent, as in
/// the original TPE. Deterministic for a seed and a sequence of calls.
/// </summary>
public sealed class TpeSampler
{
    private readonly SearchParameter[] _parameters;
    private readonly Random _random;

    /// <summary>Creates the sampler for <paramref name="space"/>'s dimensions.</summary>
    public TpeSampler(RnnSearchSpace space, int seed)
    {
        ArgumentNullException.ThrowIfNull(space);
        _parameters = space.Parameters.Select(p => p.Value).ToArray();
        _random = new Random(seed);
    }

    /// <summary>Fraction of the observations (at least one) that make up the good group; default 0.15.</summary>
    public double Gamma { get; init; } = 0.15;

    /// <summary>Points drawn from the good densities per proposal; default 48.</summary>
    public int Candidates { get; init; } = 48;

    /// <summary>Proposes the next point from observations (point in the unit hypercube, loss: lower is better).</summary>
    /// <remarks>With fewer than two observations it returns a uniform random point.</remarks>
    public double[] Propose(IReadOnlyList<(double[] Point, double Loss)> observations)
    {
        ArgumentNullException.ThrowIfNull(observations);
        int dims = _parameters.Length;
        var finite = observations.Where(o => double.IsFinite(o.Loss)).ToList();
        if (finite.Count < 2)
            return Enumerable.Range(0, dims).Select(_ => _random.NextDouble()).ToArray();
        // Stable order (loss, then insertion) so ties do not depend on the sort algorithm.
        var ordered = finite.Select((o, i) => (o, i)).OrderBy(t => t.o.Loss).ThenBy(t => t.i).Select(t => t.o.Point).ToList();
        int goodCount = Math.Clamp((int)Math.Ceiling(Gamma * ordered.Count), 1, ordered.Count - 1);
        var good = ordered.Take(goodCount).ToList();
        var bad = ordered.Skip(goodCount).ToList();
        // Observations from a rung that did not finish may hold failed (infinite) losses: they are bad points.
        bad.AddRange(observations.Where(o => !double.IsFinite(o.Loss)).Select(o => o.Point));

        var densities = new (Func<double> Sample, Func<double, double> LogL, Func<double, double> LogG)[dims];
        for (int d = 0; d < dims; d++)
        {
            var l = Density(_parameters[d], good.Select(p => p[d]).ToArray());
            var g = Density(_parameters[d], bad.Select(p => p[d]).ToArray());
            densities[d] = (l.Sample, l.Log, g.Log);
        }

        double[]? best = null;
        double bestScore = double.NegativeInfinity;
        for (int c = 0; c < Candidates; c++)
        {
            var x = new double[dims];
            double score = 0;
            for (int d = 0; d < dims; d++)
            {
                x[d] = densities[d].Sample();
                score += densities[d].LogL(x[d]) - densities[d].LogG(x[d]);
            }
            if (score > bestScore) (best, bestScore) = (x, score);
        }
        return best!;
    }

    private (Func<double> Sample, Func<double, double> Log) Density(SearchParameter parameter, double[] points)
        => parameter.IsCategorical ? Categorical(parameter.Count, points) : Parzen(points);

    /// <summary>Category frequencies with one pseudo-count each; samples the centre of a category's cell.</summary>
    private (Func<double> Sample, Func<double, double> Log) Categorical(int count, double[] points)
    {
        var weights = Enumerable.Repeat(1.0, count).ToArray();
        foreach (var p in points) weights[Cell(p, count)] += 1;
        double total = weights.Sum();
        return (() =>
        {
            double r = _random.NextDouble() * total;
            for (int k = 0; k < count; k++)
            {
                if (r < weights[k]) return (k + 0.5) / count;
                r -= weights[k];
            }
            return (count - 0.5) / count;
        }, x => Math.Log(weights[Cell(x, count)] / total));
    }

    private static int Cell(double u, int count) => Math.Clamp((int)Math.Floor(u * count), 0, count - 1);

    /// <summary>
    /// Gaussians at the points, truncated to [0, 1], plus a uniform prior with the weight of one point. Bandwidth:
    /// Scott's rule on the points' spread, kept within [0.03, 0.5] so few points do not collapse the density.
    /// </summary>
    private (Func<double> Sample, Func<double, double> Log) Parzen(double[] points)
    {
        int n = points.Length;
        double sigma = 0.5;
        if (n > 1)
        {
            double mean = points.Average();
            double sd = Math.Sqrt(points.Sum(p => (p - mean) * (p - mean)) / (n - 1));
            sigma = Math.Clamp(1.06 * sd * Math.Pow(n, -0.2), 0.03, 0.5);
        }
        var mass = points.Select(p => NormalCdf((1 - p) / sigma) - NormalCdf(-p / sigma)).ToArray();
        double weight = 1.0 / (n + 1);
        return (() =>
        {
            int k = _random.Next(n + 1);
            if (k == n) return _random.NextDouble();
            for (int attempt = 0; attempt < 64; attempt++)
            {
                double x = points[k] + sigma * StandardNormal();
                if (x >= 0 && x < 1) return x;
            }
            return Math.Clamp(points[k], 0, Math.BitDecrement(1.0));
        }, x =>
        {
            double density = weight; // the uniform prior's density on [0, 1] is 1
            for (int k = 0; k < n; k++)
            {
                double z = (x - points[k]) / sigma;
                density += weight * Math.Exp(-0.5 * z * z) / (sigma * Math.Sqrt(2 * Math.PI) * mass[k]);
            }
            return Math.Log(density);
        });
    }

    private double StandardNormal()
    {
        // Box–Muller; 1 - NextDouble() is in (0, 1], so the log is finite.
        double u1 = 1 - _random.NextDouble(), u2 = _random.NextDouble();
        return Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }

    /// <summary>Standard normal CDF Φ(z), through <see cref="Erfc"/>.</summary>
    internal static double NormalCdf(double z) => 0.5 * Erfc(-z / Math.Sqrt(2));

    /// <summary>Complementary error function (Numerical Recipes' erfcc, fractional error below 1.2e-7).</summary>
    internal static double Erfc(double x)
    {
        double z = Math.Abs(x);
        double t = 1 / (1 + 0.5 * z);
        double r = t * Math.Exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 +
                   t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 +
                   t * (-0.82215223 + t * 0.17087277)))))))));
        return x >= 0 ? r : 2 - r;
    }
}
