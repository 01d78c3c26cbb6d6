using Microsoft.ML.Rnn.Networks;
using Xunit;
using static TorchSharp.torch;

namespace Microsoft.ML.Rnn.Tests.Networks;

public class LinearChainCrfTests
{
    private const int T = 3, L = 4;
    private static readonly long[] Lengths = [4, 2, 1, 0, 3];

    private static (LinearChainCrf Crf, Tensor Emissions, Tensor Tags, Tensor Lengths) Setup(int seed)
    {
        manual_seed(seed);
        var crf = new LinearChainCrf(T, dtype: float64);
        using (no_grad())
        {
            // Larger than the default initialisation so that paths differ clearly.
            crf.Transitions.normal_();
            crf.StartScores.normal_();
            crf.EndScores.normal_();
        }
        var emissions = randn(Lengths.Length, L, T, dtype: float64);
        var tags = randint(0, T, [Lengths.Length, L], dtype: int64);
        return (crf, emissions, tags, tensor(Lengths));
    }

    /// <summary>Independent reference: the score of one path, written out from the CRF's definition.</summary>
    private static double PathScore(double[,] tr, double[] start, double[] end, double[,] em, int[] path)
    {
        double s = start[path[0]] + end[path[^1]];
        for (int t = 0; t < path.Length; t++)
        {
            s += em[t, path[t]];
            if (t > 0) s += tr[path[t - 1], path[t]];
        }
        return s;
    }

    private static IEnumerable<int[]> AllPaths(int length)
    {
        int count = (int)Math.Pow(T, length);
        for (int code = 0; code < count; code++)
        {
            var path = new int[length];
            for (int t = 0, c = code; t < length; t++, c /= T) path[t] = c % T;
            yield return path;
        }
    }

    private static double[,] Matrix(Tensor t)
    {
        var m = new double[t.shape[0], t.shape[1]];
        for (int i = 0; i < t.shape[0]; i++)
            for (int j = 0; j < t.shape[1]; j++)
                m[i, j] = t[i, j].item<double>();
        return m;
    }

    [Fact]
    public void NegativeLogLikelihoodMatchesBruteForce()
    {
        using var scope = NewDisposeScope();
        var (crf, emissions, tags, lengths) = Setup(1);
        var nll = crf.NegativeLogLikelihood(emissions, tags, lengths).detach();
        Assert.Equal(new long[] { Lengths.Length }, nll.shape);

        var tr = Matrix(crf.Transitions.detach());
        var start = crf.StartScores.detach().data<double>().ToArray();
        var end = crf.EndScores.detach().data<double>().ToArray();
        for (int row = 0; row < Lengths.Length; row++)
        {
            int len = (int)Lengths[row];
            double expected = 0;
            if (len > 0)
            {
                var em = Matrix(emissions[row][..len]);
                var scores = AllPaths(len).Select(p => PathScore(tr, start, end, em, p)).ToArray();
                double max = scores.Max();
                double logZ = max + Math.Log(scores.Sum(s => Math.Exp(s - max)));
                var gold = Enumerable.Range(0, len).Select(t => (int)tags[row, t].item<long>()).ToArray();
                expected = logZ - PathScore(tr, start, end, em, gold);
            }
            Assert.Equal(expected, nll[row].item<double>(), 1e-10);
        }
    }

    [Fact]
    public void ValuesPastTheLengthAreIgnored()
    {
        using var scope = NewDisposeScope();
        var (crf, emissions, tags, lengths) = Setup(2);
        var nll = crf.NegativeLogLikelihood(emissions, tags, lengths);
        var (path, score) = crf.Decode(emissions, lengths);

        var mask = arange(L).unsqueeze(0).lt(lengths.unsqueeze(1));
        var noisyEmissions = where(mask.unsqueeze(2), emissions, randn_like(emissions) * 100);
        var noisyTags = where(mask, tags, full_like(tags, 77L));   // out-of-range tags past the length are fine
        Assert.True(crf.NegativeLogLikelihood(noisyEmissions, noisyTags, lengths).allclose(nll, 0, 1e-12));
        var (path2, score2) = crf.Decode(noisyEmissions, lengths);
        Assert.True(path2.equal(path).all().item<bool>());
        Assert.True(score2.allclose(score, 0, 1e-12));
    }

    [Fact]
    public void ViterbiMatchesBruteForce()
    {
        using var scope = NewDisposeScope();
        var (crf, emissions, _, lengths) = Setup(3);
        var (path, score) = crf.Decode(emissions, lengths);
        Assert.Equal(ScalarType.Int64, path.dtype);
        Assert.Equal(new long[] { Lengths.Length, L }, path.shape);

        var tr = Matrix(crf.Transitions.detach());
        var start = crf.StartScores.detach().data<double>().ToArray();
        var end = crf.EndScores.detach().data<double>().ToArray();
        for (int row = 0; row < Lengths.Length; row++)
        {
            int len = (int)Lengths[row];
            var decoded = Enumerable.Range(0, L).Select(t => (int)path[row, t].item<long>()).ToArray();
            Assert.All(decoded[len..], tag => Assert.Equal(0, tag));
            if (len == 0)
            {
                Assert.Equal(0.0, score[row].item<double>());
                continue;
            }
            var em = Matrix(emissions[row][..len]);
            var best = AllPaths(len).MaxBy(p => PathScore(tr, start, end, em, p))!;
            Assert.Equal(best, decoded[..len]);
            Assert.Equal(PathScore(tr, start, end, em, best), score[row].item<double>(), 1e-10);
        }
    }

    [Fact]
    public void GradientsMatchFiniteDifferences()
    {
        using var scope = NewDisposeScope();
        var (crf, emissions, tags, lengths) = Setup(4);
        emissions.requires_grad_();
        var tensors = new List<Tensor>(crf.parameters()) { emissions };
        Assert.Equal(3, crf.parameters().Count());
        GradientCheck.AssertGradientsMatch(() => crf.NegativeLogLikelihood(emissions, tags, lengths).sum(), tensors);
    }

    [Fact]
    public void ABatchOfEmptySequencesHasZeroLossAndEmptyPaths()
    {
        using var scope = NewDisposeScope();
        var crf = new LinearChainCrf(3);
        var emissions = zeros(2, 0, 3).requires_grad_();
        var nll = crf.NegativeLogLikelihood(emissions, zeros(2, 0, dtype: int64), zeros(2, dtype: int64));
        Assert.Equal([0f, 0f], nll.data<float>().ToArray());
        nll.sum().backward();
        Assert.Equal(new long[] { 2, 0, 3 }, emissions.grad!.shape);

        var (tags, scores) = crf.Decode(zeros(2, 0, 3), zeros(2, dtype: int64));
        Assert.Equal(new long[] { 2, 0 }, tags.shape);
        Assert.Equal(ScalarType.Int64, tags.dtype);
        Assert.Equal([0f, 0f], scores.data<float>().ToArray());
    }

    [Fact]
    public void ErrorsNameTheProblem()
    {
        using var scope = NewDisposeScope();
        var crf = new LinearChainCrf(3);
        var e1 = Assert.Throws<ArgumentException>(() => crf.Decode(zeros(2, 4, 5), tensor(new long[] { 1, 1 })));
        Assert.StartsWith("LinearChainCrf: expected emissions of shape (N, L, 3), got (2, 4, 5).", e1.Message);
        var e2 = Assert.Throws<ArgumentException>(() => crf.Decode(zeros(2, 4, 3), tensor(new long[] { 1, 5 })));
        Assert.StartsWith("LinearChainCrf: lengths must be in [0, 4].", e2.Message);
        var e3 = Assert.Throws<ArgumentException>(() => crf.NegativeLogLikelihood(zeros(2, 4, 3), zeros(2, 4, dtype: int32), tensor(new long[] { 1, 1 })));
        Assert.StartsWith("LinearChainCrf: expected tags of shape (2, 4) int64, got (2, 4) Int32.", e3.Message);
        var e4 = Assert.Throws<ArgumentException>(() => crf.NegativeLogLikelihood(zeros(2, 4, 3), full(2, 4, 3L), tensor(new long[] { 1, 1 })));
        Assert.StartsWith("LinearChainCrf: tags at valid steps must be in [0, 3).", e4.Message);
    }
}
