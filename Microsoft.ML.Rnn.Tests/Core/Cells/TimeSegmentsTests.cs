using Microsoft.ML.Rnn.Core;
using Xunit;
using static Microsoft.ML.Rnn.Tests.Core.Cells.CellTestHelpers;
using static TorchSharp.torch;

namespace Microsoft.ML.Rnn.Tests.Core.Cells;

/// <summary>
/// With varying lengths the fused kernel runs once per time segment on the sequences still running
/// (<see cref="TimeSegments"/>): the plan, and the segmented results against the step loop, including an LSTM's final
/// cell state, recomputed for sequences that end inside a segment.
/// </summary>
public class TimeSegmentsTests
{
    [Fact]
    public void OnePaddedCallWhenLengthsAreCloseSeveralWhenSpread()
    {
        Assert.Equal([5L], TimeSegments.Ends([5, 4, 5, 3]));                     // padding cheaper than another call
        Assert.Empty(TimeSegments.Ends([0, 0]));
        var spread = Enumerable.Range(0, 64).Select(i => (long)(5 + i * 45 / 63)).ToArray();
        var ends = TimeSegments.Ends(spread);
        Assert.True(ends.Length > 2, $"ends {string.Join(", ", ends)}");
        Assert.Equal(50L, ends[^1]);
        Assert.True(ends.SequenceEqual(ends.Order().Distinct()) && ends.All(spread.Contains));
        // Few long rows: after the short ones end, only the long ones are computed.
        Assert.Equal([3L, 100L], TimeSegments.Ends([3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 100]));
    }

    [Fact]
    public void RecomputingCellStatesFavoursEndsAtLengths()
    {
        // Twelve rows of 40 steps and three of 30: padding the short ones costs 30 row-steps, a second call 40, so one
        // call wins; recomputing their cell states over 30 steps (90 row-steps and a fixed 60) makes two calls cheaper.
        long[] lengths = [.. Enumerable.Repeat(40L, 12), .. Enumerable.Repeat(30L, 3)];
        Assert.Equal([40L], TimeSegments.Ends(lengths));
        Assert.Equal([30L, 40L], TimeSegments.Ends(lengths, recomputesCellStates: true));
    }

    [Theory]
    [InlineData("lstm")]
    [InlineData("gru")]
    [InlineData("rnn-tanh")]
    [InlineData("rnn-relu")]
    public void SegmentedFusedMatchesStepLoopWithGradients(string kind)
    {
        using var scope = NewDisposeScope();
        manual_seed(29);
        const long n = 24, steps = 40, inputSize = 3, hidden = 5;
        using RnnCell cell = kind switch
        {
            "lstm" => new LstmCell(inputSize, hidden, dtype: float64),
            "gru" => new GruCell(inputSize, hidden, dtype: float64),
            "rnn-tanh" => new SimpleRnnCell(inputSize, hidden, dtype: float64),
            _ => new SimpleRnnCell(inputSize, hidden, SimpleRnnActivation.Relu, dtype: float64),
        };
        var random = new Random(5);
        // Spread lengths, a zero and the full length, shuffled so that sorting and unsorting matter.
        long[] lengths = Enumerable.Range(0, (int)n).Select(i => i == 3 ? 0L : i == 7 ? steps : random.Next(1, (int)steps + 1)).ToArray();
        var ends = TimeSegments.Ends(lengths, recomputesCellStates: kind == "lstm");
        Assert.True(ends.Length > 1, "the case must take the segmented path");
        Assert.True(ends.Length < lengths.Distinct().Count(v => v > 0), "some sequences must end inside a segment");
        var inputs = randn(n, steps, inputSize, dtype: float64).requires_grad_();
        var init = cell.StateSizes.Select(size => randn(n, size, dtype: float64).requires_grad_()).ToArray();
        var outWeights = randn(n, steps, hidden, dtype: float64);
        var stateWeights = cell.StateSizes.Select(size => randn(n, size, dtype: float64)).ToArray();
        var leaves = cell.parameters().Cast<Tensor>().Append(inputs).Concat(init).ToArray();
        Tensor[] Grads(Tensor outputs, Tensor[] final)
        {
            var loss = (outputs * outWeights).sum() + final.Select((f, k) => (f * stateWeights[k]).sum()).Aggregate((a, b) => a + b);
            return autograd.grad([loss], leaves).ToArray();
        }

        var (stepOut, stepFinal) = StepLoop(cell, inputs, lengths, init);
        var stepGrads = Grads(stepOut, stepFinal);
        var (fusedOut, fusedFinal) = cell.ForwardFused(inputs, tensor(lengths), init);
        var fusedGrads = Grads(fusedOut, fusedFinal);

        AssertClose(stepOut, fusedOut, 1e-10, "outputs");
        for (int k = 0; k < stepFinal.Length; k++)
            AssertClose(stepFinal[k], fusedFinal[k], 1e-10, $"final state {k}");
        for (int i = 0; i < leaves.Length; i++)
            AssertClose(stepGrads[i], fusedGrads[i], 1e-9, $"gradient {i}");
    }

    /// <summary>
    /// Many random batches (sizes, lengths with zeros, repeats and outliers, sorted or not) in float32 through the
    /// oneDNN kernel: outputs and the LSTM's final (c, h) equal the step loop's, whatever segments the plan picks.
    /// </summary>
    [Fact]
    public void RandomBatchesMatchTheStepLoopInFloat32()
    {
        var random = new Random(17);
        using var cell = new LstmCell(4, 6);
        using var noGrad = no_grad();
        for (int trial = 0; trial < 40; trial++)
        {
            using var scope = NewDisposeScope();
            int n = random.Next(1, 40), steps = random.Next(1, 30);
            long[] lengths = random.Next(4) switch
            {
                0 => Enumerable.Range(0, n).Select(_ => (long)random.Next(0, steps + 1)).ToArray(),                // anything
                1 => Enumerable.Range(0, n).Select(i => i == 0 ? 1L : steps).ToArray(),                             // one outlier
                2 => Enumerable.Range(0, n).Select(i => (long)Math.Max(0, steps - i % 3)).ToArray(),               // close
                _ => Enumerable.Range(0, n).Select(i => (long)(steps - (long)i * steps / n)).ToArray(),           // sorted, spread
            };
            var inputs = randn(n, steps, 4);
            var init = cell.StateSizes.Select(size => randn(n, size)).ToArray();
            var (stepOut, stepFinal) = StepLoop(cell, inputs, lengths, init);
            var (fusedOut, fusedFinal) = cell.ForwardFused(inputs, tensor(lengths), init);
            string what = $"trial {trial}: lengths [{string.Join(", ", lengths)}], ends [{string.Join(", ", TimeSegments.Ends(lengths, recomputesCellStates: true))}]";
            AssertClose(stepOut, fusedOut, Tolerances.Float32Unroll, $"outputs, {what}");
            AssertClose(stepFinal[0], fusedFinal[0], Tolerances.Float32Unroll, $"cell state, {what}");
            AssertClose(stepFinal[1], fusedFinal[1], Tolerances.Float32Unroll, $"hidden state, {what}");
        }
    }
}
