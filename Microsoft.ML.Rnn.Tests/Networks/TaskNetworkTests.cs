using Microsoft.ML.Rnn.Core;
using Microsoft.ML.Rnn.Core.Training;
using Microsoft.ML.Rnn.Networks;
using Xunit;
using static TorchSharp.torch;

namespace Microsoft.ML.Rnn.Tests.Networks;

public class TaskNetworkTests
{
    /// <summary>Float sequences (N, 8, 1) with lengths 1..8; label 1 when the sum over valid steps is positive.</summary>
    private static (Tensor X, Tensor Lengths, Tensor Labels) SignOfSum(int n, int seed)
    {
        var g = new Generator((ulong)seed);
        var lengths = randint(1, 9, [n], dtype: int64, generator: g);
        var valid = arange(8).unsqueeze(0).lt(lengths.unsqueeze(1)).unsqueeze(2);
        var x = randn(n, 8, 1, generator: g) * valid + randn(n, 8, 1, generator: g) * valid.logical_not() * 5;
        var labels = (x * valid).sum([1, 2]).gt(0).to_type(int64);
        return (x, lengths, labels);
    }

    /// <summary>Tokens in [0, 6) with lengths 2..7; the tag at t is (token at t-1) mod 3, and 0 at t = 0.</summary>
    private static (Tensor Tokens, Tensor Lengths, Tensor Tags) PreviousTokenTags(int n, int seed)
    {
        var g = new Generator((ulong)seed);
        var tokens = randint(0, 6, [n, 7], dtype: int64, generator: g);
        var lengths = randint(2, 8, [n], dtype: int64, generator: g);
        var tags = cat([zeros(n, 1, dtype: int64), tokens[.., ..6].remainder(3)], 1);
        return (tokens, lengths, tags);
    }

    private static Tensor Rows(Tensor t, int[] rows) => t.index_select(0, tensor(rows.Select(r => (long)r).ToArray()));

    [Theory]
    [InlineData(RnnCellType.Lstm, false)]
    [InlineData(RnnCellType.Gru, true)]
    public void ClassifierLearnsTheSignOfASum(RnnCellType cellType, bool bidirectional)
    {
        using var scope = NewDisposeScope();
        manual_seed(1);
        var (x, lengths, labels) = SignOfSum(512, 1);
        var (testX, testLengths, testLabels) = SignOfSum(256, 2);
        var network = new SequenceClassifierNetwork(new SequenceEncoder(new SequenceEncoderOptions
        {
            InputSize = 1, HiddenSize = 16, Cell = RnnCellKind.FromType(cellType), Bidirectional = bidirectional,
        }), classCount: 2, pooling: SequencePooling.LastState);
        Assert.True(network.Encoder.Cells.Forward[0].CanFuse);

        var loop = new SequenceTrainingLoop(network, optim.Adam(network.parameters(), 0.02),
            new SequenceTrainingLoopOptions { MaxEpochs = 12, Seed = 1, MaxGradientNorm = 1, HigherIsBetter = true });
        double Accuracy()
        {
            using var s = NewDisposeScope();
            return network.Forward(testX, testLengths).argmax(1).eq(testLabels).to_type(float32).mean().item<float>();
        }
        var lengthList = lengths.data<long>().Select(v => (int)v).ToArray();
        var summary = loop.Run(LengthBucketBatcher.ForTraining(lengthList, 32, seed: 1),
            rows => network.Loss(Rows(x, rows), Rows(lengths, rows), Rows(labels, rows)),
            validate: Accuracy);

        Assert.True(summary.BestMetric >= 0.9, $"best accuracy {summary.BestMetric}");
        Assert.Equal(summary.ValidationMetrics.Max(), summary.BestMetric);
        // The loop restored the best epoch's weights.
        network.eval();
        Assert.Equal(summary.BestMetric, Accuracy(), 1e-6);
    }

    [Fact]
    public void SameSeedTrainsABidirectionalDropoutClassifierToBitIdenticalWeights()
    {
        // initSeed: initial weights and batches; loopSeed: the loop's torch.manual_seed, i.e. the dropout masks
        // (variational between layers, plain before the head).
        float[][] Train(int initSeed, int loopSeed)
        {
            using var scope = NewDisposeScope();
            var (x, lengths, labels) = SignOfSum(48, 7);
            manual_seed(initSeed);
            var network = new SequenceClassifierNetwork(new SequenceEncoder(new SequenceEncoderOptions
            {
                InputSize = 1, HiddenSize = 6, NumberOfLayers = 2, Bidirectional = true, DropoutBetweenLayers = 0.3,
                Cell = RnnCellKind.Lstm(),
            }), classCount: 2, pooling: SequencePooling.Mean, dropoutProbability: 0.2);
            var loop = new SequenceTrainingLoop(network, optim.Adam(network.parameters(), 0.01),
                new SequenceTrainingLoopOptions { MaxEpochs = 2, Seed = loopSeed, RestoreBestWeights = false });
            var lengthList = lengths.data<long>().Select(v => (int)v).ToArray();
            loop.Run(LengthBucketBatcher.ForTraining(lengthList, 8, initSeed),
                rows => network.Loss(Rows(x, rows), Rows(lengths, rows), Rows(labels, rows)));
            return network.parameters().Select(p => p.data<float>().ToArray()).ToArray();
        }

        var a = Train(3, 3);
        var b = Train(3, 3);
        var c = Train(3, 4);
        Assert.Equal(a.Length, b.Length);
        for (int i = 0; i < a.Length; i++)
            Assert.Equal(a[i], b[i]);
        // Same start and batches, other dropout masks: the loop seed really reaches the dropout.
        Assert.NotEqual(a, c);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void TaggerLearnsPreviousTokenTags(bool useCrf)
    {
        using var scope = NewDisposeScope();
        manual_seed(2);
        var (tokens, lengths, tags) = PreviousTokenTags(384, 3);
        var (testTokens, testLengths, testTags) = PreviousTokenTags(128, 4);
        var network = new SequenceTaggerNetwork(new SequenceEncoder(new SequenceEncoderOptions
        {
            VocabularySize = 6, EmbeddingSize = 8, HiddenSize = 16, Cell = RnnCellKind.Lstm(),
        }), tagCount: 3, useCrf: useCrf);
        Assert.Equal(useCrf, network.Crf is not null);

        var loop = new SequenceTrainingLoop(network, optim.Adam(network.parameters(), 0.03),
            new SequenceTrainingLoopOptions { MaxEpochs = 15, Seed = 2, HigherIsBetter = true });
        var lengthList = lengths.data<long>().Select(v => (int)v).ToArray();
        loop.Run(LengthBucketBatcher.ForTraining(lengthList, 32, seed: 2),
            rows => network.Loss(Rows(tokens, rows), Rows(lengths, rows), Rows(tags, rows)),
            validate: () => TagAccuracy(network, testTokens, testLengths, testTags));

        network.eval();
        double accuracy = TagAccuracy(network, testTokens, testLengths, testTags);
        Assert.True(accuracy >= 0.95, $"tag accuracy {accuracy}");
        var predicted = network.Predict(testTokens, testLengths);
        var padding = arange(7).unsqueeze(0).ge(testLengths.unsqueeze(1));
        Assert.Equal(0, predicted.masked_select(padding).abs().sum().item<long>());
    }

    [Theory]
    [InlineData(false, 2)]
    [InlineData(false, 0)]
    [InlineData(true, 2)]
    [InlineData(true, 0)]
    public void TaggerLossOnABatchOfEmptySequencesIsZeroAndBackPropagates(bool useCrf, int paddedLength)
    {
        // Length bucketing puts empty rows together, so a whole training batch can have no valid step.
        using var scope = NewDisposeScope();
        manual_seed(5);
        var network = new SequenceTaggerNetwork(new SequenceEncoder(new SequenceEncoderOptions
        {
            VocabularySize = 4, EmbeddingSize = 3, HiddenSize = 2,
        }), tagCount: 3, useCrf: useCrf);
        var tokens = zeros(2, paddedLength, dtype: int64);
        var lengths = zeros(2, dtype: int64);
        var loss = network.Loss(tokens, lengths, zeros(2, paddedLength, dtype: int64));
        Assert.Equal(0f, loss.item<float>());
        loss.backward();
        Assert.Equal(new long[] { 2, paddedLength }, network.Predict(tokens, lengths).shape);
    }

    /// <summary>
    /// Weighted tagger loss = sum over valid tokens of w[tag]·(−log softmax(emissions)[tag]) / sum of those w[tag],
    /// computed here from the emissions by hand; padding adds nothing; unit weights give the unweighted loss.
    /// </summary>
    [Fact]
    public void TagWeightsGiveTheWeightedMeanCrossEntropyOverValidTokens()
    {
        using var scope = NewDisposeScope();
        manual_seed(8);
        var network = new SequenceTaggerNetwork(new SequenceEncoder(new SequenceEncoderOptions
        {
            VocabularySize = 5, EmbeddingSize = 3, HiddenSize = 4,
        }), tagCount: 3);
        network.eval();
        var tokens = tensor(new long[,] { { 1, 2, 3 }, { 4, 0, 0 } });
        var lengths = tensor(new long[] { 3, 1 });
        var tags = tensor(new long[,] { { 0, 2, 1 }, { 2, 1, 1 } }); // the last two tags of row 2 are padding
        float[] w = { 0.5f, 3f, 1.25f };

        var emissions = network.Forward(tokens, lengths).Emissions.detach().to_type(float64);
        var logp = emissions.log_softmax(2).data<double>().ToArray();
        (int Row, int Step, int Tag)[] valid = { (0, 0, 0), (0, 1, 2), (0, 2, 1), (1, 0, 2) };
        double numerator = valid.Sum(v => -w[v.Tag] * logp[(v.Row * 3 + v.Step) * 3 + v.Tag]);
        double expected = numerator / valid.Sum(v => w[v.Tag]);

        double weighted = network.Loss(tokens, lengths, tags, tensor(w)).item<float>();
        Assert.Equal(expected, weighted, 5);
        Assert.Equal(network.Loss(tokens, lengths, tags).item<float>(), network.Loss(tokens, lengths, tags, ones(3)).item<float>(), 6);

        var wrong = Assert.Throws<ArgumentException>(() => network.Loss(tokens, lengths, tags, ones(4)));
        Assert.StartsWith("SequenceTaggerNetwork: expected tag weights of shape (3), got (4).", wrong.Message);
        var crf = new SequenceTaggerNetwork(new SequenceEncoder(new SequenceEncoderOptions { VocabularySize = 5, EmbeddingSize = 3, HiddenSize = 4 }),
            tagCount: 3, useCrf: true);
        Assert.Throws<ArgumentException>(() => crf.Loss(tokens, lengths, tags, ones(3)));
    }

    [Fact]
    public void NextStepLossOfSequencesShorterThanTwoStepsIsZeroAndBackPropagates()
    {
        using var scope = NewDisposeScope();
        manual_seed(6);
        var network = new SequenceEncoderNetwork(new SequenceEncoder(new SequenceEncoderOptions { InputSize = 2, HiddenSize = 3 }));
        foreach (long l in new long[] { 1, 3 })
        {
            var loss = network.Loss(randn(2, l, 2), ones(2, dtype: int64));
            Assert.Equal(0f, loss.item<float>());
            loss.backward();
        }
    }

    private static double TagAccuracy(SequenceTaggerNetwork network, Tensor tokens, Tensor lengths, Tensor tags)
    {
        using var s = NewDisposeScope();
        var valid = arange(tokens.shape[1]).unsqueeze(0).lt(lengths.unsqueeze(1));
        var correct = network.Predict(tokens, lengths).eq(tags).logical_and(valid);
        return correct.sum().item<long>() / (double)valid.sum().item<long>();
    }

    [Fact]
    public void FusedAndStepPathsAgreeThroughTheEncoder()
    {
        using var scope = NewDisposeScope();
        manual_seed(3);
        var encoder = new SequenceEncoder(new SequenceEncoderOptions
        {
            InputSize = 3, HiddenSize = 5, NumberOfLayers = 2, Bidirectional = true, Cell = RnnCellKind.Lstm(),
        });
        var x = randn(4, 6, 3);
        var lengths = tensor(new long[] { 6, 2, 0, 4 });
        var fused = encoder.Encode(x, lengths, UnrollPath.Fused);
        var step = encoder.Encode(x, lengths, UnrollPath.Step);
        Assert.True(fused.Outputs.allclose(step.Outputs, Tolerances.Float32Unroll, 1e-6));
        Assert.True(fused.FinalHidden.allclose(step.FinalHidden, Tolerances.Float32Unroll, 1e-6));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void EncoderNetworkLearnsNextStepPrediction(bool tokens)
    {
        using var scope = NewDisposeScope();
        manual_seed(4);
        // Deterministic successor: next token = (token + 1) mod 5; next feature vector = rotated previous one.
        var g = new Generator(5);
        int n = 128;
        var start = randint(0, 5, [n, 1], dtype: int64, generator: g);
        var tokenSeq = (start + arange(6).unsqueeze(0)).remainder(5);
        var angle = rand(n, 1, generator: g) * 6.28 + arange(6).unsqueeze(0) * 0.7;
        var floatSeq = stack([angle.cos(), angle.sin()], 2);
        var lengths = randint(2, 7, [n], dtype: int64, generator: g);

        var network = new SequenceEncoderNetwork(new SequenceEncoder(tokens
            ? new SequenceEncoderOptions { VocabularySize = 5, EmbeddingSize = 4, HiddenSize = 12, Cell = RnnCellKind.Gru() }
            : new SequenceEncoderOptions { InputSize = 2, HiddenSize = 12, Cell = RnnCellKind.Gru() }));
        var input = tokens ? tokenSeq : floatSeq;
        var optimizer = optim.Adam(network.parameters(), 0.03);
        double first = 0, last = 0;
        for (int i = 0; i < 60; i++)
        {
            using var step = NewDisposeScope();
            optimizer.zero_grad();
            var loss = network.Loss(input, lengths);
            if (i == 0) first = loss.item<float>();
            last = loss.item<float>();
            loss.backward();
            optimizer.step();
        }
        Assert.True(last < 0.1 * first, $"next-step loss {first} -> {last}");
        Assert.Equal(new long[] { n, 5, tokens ? 5 : 2 }, network.PredictNext(input, lengths).shape);
    }

    [Fact]
    public void NextStepLossIgnoresPairsPastTheLength()
    {
        using var scope = NewDisposeScope();
        manual_seed(5);
        var network = new SequenceEncoderNetwork(new SequenceEncoder(new SequenceEncoderOptions { InputSize = 2, HiddenSize = 3 }));
        var x = randn(3, 4, 2);
        var lengths = tensor(new long[] { 4, 2, 1 });
        var valid = arange(4).unsqueeze(0).lt(lengths.unsqueeze(1)).unsqueeze(2);
        var noisy = where(valid, x, full_like(x, double.NaN));
        var a = network.Loss(x, lengths);
        var b = network.Loss(noisy, lengths);
        Assert.Equal(a.item<float>(), b.item<float>());

        // Independent check: the mean over the 3 + 1 valid pairs of the per-pair squared error.
        var predictions = network.PredictNext(x, lengths);
        double sum = 0;
        foreach (var (row, t) in new[] { (0, 0), (0, 1), (0, 2), (1, 0) })
            sum += (predictions[row, t] - x[row, t + 1]).pow(2).mean().item<float>();
        Assert.Equal(sum / 4, a.item<float>(), 1e-5);
    }
}
