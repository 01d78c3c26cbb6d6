using Microsoft.ML.Rnn.Networks;
using Xunit;
using static TorchSharp.torch;

namespace Microsoft.ML.Rnn.Tests.Networks;

public class SequenceEncoderTests
{
    private static SequenceEncoder FloatEncoder(bool bidirectional, int layers = 2, double dropout = 0) =>
        new(new SequenceEncoderOptions { InputSize = 3, HiddenSize = 4, NumberOfLayers = layers, Bidirectional = bidirectional, DropoutBetweenLayers = dropout },
            ElmanTestCell.Build);

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ShapesAndParameterCount(bool bidirectional)
    {
        using var scope = NewDisposeScope();
        manual_seed(1);
        var encoder = FloatEncoder(bidirectional, dropout: 0.3);
        int d = bidirectional ? 2 : 1;
        Assert.Equal(d * 4, encoder.OutputSize);
        // Per direction: layer 0 (3*4 + 4 + 4*4), layer 1 (4d*4 + 4 + 4*4). Nothing registered twice.
        long expected = d * ((3 * 4 + 4 + 16) + (4 * d * 4 + 4 + 16));
        Assert.Equal(expected, encoder.parameters().Sum(p => p.numel()));
        Assert.Equal(encoder.parameters().Count(), encoder.parameters().Distinct().Count());

        var result = encoder.Encode(randn(5, 6, 3), tensor(new long[] { 6, 3, 0, 1, 6 }));
        Assert.Equal(new long[] { 5, 6, d * 4 }, result.Outputs.shape);
        Assert.Equal(new long[] { 5, d * 4 }, result.FinalHidden.shape);
        foreach (var pooling in Enum.GetValues<SequencePooling>())
            Assert.Equal(new long[] { 5, d * 4 }, SequenceEncoder.Pool(result, pooling).shape);
    }

    [Theory]
    [InlineData(true, "ragged")]
    [InlineData(true, "full")]
    [InlineData(true, "none")]
    [InlineData(false, "ragged")]
    [InlineData(false, "full")]
    public void FinalHiddenIsForwardAtLastValidStepAndBackwardAtStepZero(bool bidirectional, string lengthsKind)
    {
        using var scope = NewDisposeScope();
        manual_seed(2);
        var encoder = FloatEncoder(bidirectional);
        long[] lens = lengthsKind == "ragged" ? [4, 2, 0] : [4, 4, 4];
        var r = encoder.Encode(randn(3, 4, 3), lengthsKind == "none" ? null : tensor(lens));
        for (int i = 0; i < 3; i++)
        {
            var fw = lens[i] == 0 ? zeros(4) : r.Outputs[i, lens[i] - 1, ..4];
            var expected = bidirectional ? cat([fw, r.Outputs[i, 0, 4..]]) : fw;
            Assert.True(r.FinalHidden[i].equal(expected).all().item<bool>(), $"row {i}");
        }
        if (lengthsKind == "ragged")
            Assert.Equal(0, r.FinalHidden[2].abs().sum().item<float>());
    }

    [Theory]
    [InlineData(SequencePooling.LastState, false)]
    [InlineData(SequencePooling.Mean, false)]
    [InlineData(SequencePooling.Max, false)]
    [InlineData(SequencePooling.LastState, true)]
    [InlineData(SequencePooling.Mean, true)]
    [InlineData(SequencePooling.Max, true)]
    public void PoolingIgnoresPadding(SequencePooling pooling, bool bidirectional)
    {
        using var scope = NewDisposeScope();
        manual_seed(3);
        var encoder = FloatEncoder(bidirectional);
        var lengths = tensor(new long[] { 5, 2, 1, 3 });
        var x = randn(4, 5, 3);
        var valid = arange(5).unsqueeze(0).lt(lengths.unsqueeze(1)).unsqueeze(2);
        var padded = where(valid, x, randn(4, 5, 3) * 10);

        var a = SequenceEncoder.Pool(encoder.Encode(x, lengths), pooling);
        var b = SequenceEncoder.Pool(encoder.Encode(padded, lengths), pooling);
        Assert.True(a.allclose(b, 0, 1e-6));
        // Without lengths the padding is read and the pooled vectors change.
        var c = SequenceEncoder.Pool(encoder.Encode(padded), pooling);
        Assert.False(a.allclose(c, 0, 1e-3));
    }

    [Fact]
    public void MeanAndMaxOverValidStepsOnly()
    {
        using var scope = NewDisposeScope();
        var outputs = tensor(new float[] { 1, -2, 3, 9, -4, 5, 7, 7, 0, 0, 0, 0 }, [3, 2, 2]);
        var encoded = new EncoderOutput(outputs, zeros(3, 2), tensor(new long[] { 2, 1, 0 }));
        var mean = SequenceEncoder.Pool(encoded, SequencePooling.Mean);
        var max = SequenceEncoder.Pool(encoded, SequencePooling.Max);
        Assert.Equal([2f, 3.5f, -4f, 5f, 0f, 0f], mean.data<float>().ToArray());
        Assert.Equal([3f, 9f, -4f, 5f, 0f, 0f], max.data<float>().ToArray());
    }

    [Fact]
    public void TokenInputUsesTheEmbeddingAndChecksIds()
    {
        using var scope = NewDisposeScope();
        var pretrained = arange(12, dtype: float32).reshape(4, 3);
        var encoder = new SequenceEncoder(new SequenceEncoderOptions
        {
            VocabularySize = 4, PretrainedEmbeddings = pretrained, FreezeEmbeddings = true, HiddenSize = 2,
        }, ElmanTestCell.Build);
        Assert.Equal(3, encoder.InputFeatures);
        Assert.Contains(encoder.parameters(), p => !p.requires_grad);
        var r = encoder.Encode(tensor(new long[] { 0, 3, 1, 2, 2, 0 }, [2, 3]), tensor(new long[] { 3, 2 }));
        Assert.Equal(new long[] { 2, 3, 2 }, r.Outputs.shape);

        var e = Assert.Throws<ArgumentOutOfRangeException>(() => encoder.Encode(tensor(new long[] { 0, 4 }, [1, 2])));
        Assert.StartsWith("SequenceEncoder: token ids at valid steps must lie in [0, 4), got values from 0 to 4.", e.Message);
        var e2 = Assert.Throws<ArgumentException>(() => encoder.Encode(zeros(1, 2, 3)));
        Assert.StartsWith("SequenceEncoder: expected token ids of shape (N, L) int64, got (1, 2, 3) Float32.", e2.Message);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void TokenPaddingMayHoldAnyId(bool bidirectional)
    {
        using var scope = NewDisposeScope();
        manual_seed(4);
        var encoder = new SequenceEncoder(new SequenceEncoderOptions
        {
            VocabularySize = 5, EmbeddingSize = 3, HiddenSize = 2, NumberOfLayers = 2, Bidirectional = bidirectional,
        }, ElmanTestCell.Build);
        var lengths = tensor(new long[] { 4, 2, 0 });
        var ids = tensor(new long[] { 1, 4, 2, 3, 2, 0, 0, 0, 0, 0, 0, 0 }, [3, 4]);
        var padded = tensor(new long[] { 1, 4, 2, 3, 2, 0, -1, 99, -7, 5, 1, 3 }, [3, 4]);

        var a = encoder.Encode(ids, lengths);
        var b = encoder.Encode(padded, lengths);
        Assert.True(a.Outputs.equal(b.Outputs).all().item<bool>());
        foreach (var pooling in Enum.GetValues<SequencePooling>())
            Assert.True(SequenceEncoder.Pool(a, pooling).equal(SequenceEncoder.Pool(b, pooling)).all().item<bool>());

        // An out-of-range id inside a sequence is still an error.
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => encoder.Encode(padded, tensor(new long[] { 4, 3, 0 })));
        Assert.StartsWith("SequenceEncoder: token ids at valid steps must lie in [0, 5), got values from -1 to 4.", e.Message);
    }

    [Fact]
    public void LengthsMustMatchTheBatch()
    {
        using var scope = NewDisposeScope();
        var encoder = FloatEncoder(false);
        var e = Assert.Throws<ArgumentException>(() => encoder.Encode(zeros(2, 5, 3), tensor(new long[] { 5, 5, 5 })));
        Assert.StartsWith("SequenceEncoder: expected sequence lengths of shape (2), got (3).", e.Message);
        Assert.Equal("lengths", e.ParamName);
    }

    [Fact]
    public void FloatInputIsChecked()
    {
        using var scope = NewDisposeScope();
        var encoder = FloatEncoder(false);
        var e = Assert.Throws<ArgumentException>(() => encoder.Encode(zeros(2, 5, 4)));
        Assert.StartsWith("SequenceEncoder: expected float input of shape (N, L, 3), got (2, 5, 4) Float32.", e.Message);
    }
}
