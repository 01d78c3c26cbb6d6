using Microsoft.ML.Rnn.Core;
using Microsoft.ML.Rnn.Networks;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Microsoft.ML.Rnn.Tests.Networks;

public sealed class CharacterEncoderTests
{
    /// <summary>
    /// The character CNN against its definition computed in float64 loops from its own weights: every window of three
    /// characters (zero vectors outside the token), a linear filter bank, the maximum over the token's positions, tanh;
    /// zeros for a token without characters.
    /// </summary>
    [Fact]
    public void MatchesItsDefinitionInFloat64()
    {
        manual_seed(4);
        using var encoder = new CharacterEncoder(characterCount: 7, embeddingSize: 3, features: 4);
        long[,,] ids =
        {
            { { 2, 3, 4, 0, 0 }, { 5, 0, 0, 0, 0 }, { 0, 0, 0, 0, 0 } },
            { { 6, 1, 2, 3, 5 }, { 4, 4, 0, 0, 0 }, { 3, 2, 1, 0, 0 } },
        };
        using var input = tensor(ids.Cast<long>().ToArray(), [2, 3, 5]);
        using var output = encoder.call(input);
        Assert.Equal(new long[] { 2, 3, 4 }, output.shape);

        var parameters = encoder.named_parameters().ToDictionary(p => p.name, p => p.parameter.to_type(ScalarType.Float64));
        var embedding = parameters["character_embedding.weight"];
        var weight = parameters["filters.weight"];      // (F, 3E)
        var bias = parameters["filters.bias"];
        double Embedded(long id, int e) => id == 0 ? 0 : embedding[id, e].item<double>();
        for (int n = 0; n < 2; n++)
        for (int l = 0; l < 3; l++)
        {
            int length = Enumerable.Range(0, 5).Count(w => ids[n, l, w] != 0);
            for (int f = 0; f < 4; f++)
            {
                double best = double.NegativeInfinity;
                for (int p = 0; p < length; p++)
                {
                    double response = bias[f].item<double>();
                    for (int k = 0; k < CharacterEncoder.Window; k++)
                    {
                        int at = p + k - 1;
                        for (int e = 0; e < 3; e++)
                            response += weight[f, k * 3 + e].item<double>() * (at < 0 || at >= 5 ? 0 : Embedded(ids[n, l, at], e));
                    }
                    best = Math.Max(best, response);
                }
                double expected = length == 0 ? 0 : Math.Tanh(best);
                Assert.Equal(expected, output[n, l, f].item<float>(), Tolerances.Float32Unroll);
            }
        }
        foreach (var p in parameters.Values) p.Dispose();
    }

    /// <summary>
    /// Autograd through the encoder against float64 finite differences, on a batch with a padding step, an empty token
    /// and tokens of every length (the encoder reads only tokens with characters and masks by multiplying and adding);
    /// the padding character's embedding row gets no gradient.
    /// </summary>
    [Fact]
    public void GradientsMatchFiniteDifferencesAndSkipPadding()
    {
        using var scope = NewDisposeScope();
        manual_seed(5);
        using var encoder = new CharacterEncoder(characterCount: 7, embeddingSize: 3, features: 4);
        encoder.to(ScalarType.Float64);
        using var ids = tensor(new long[] { 2, 3, 4, 0, 5, 0, 0, 0, 0, 0, 0, 0, 6, 1, 2, 3, 4, 4, 0, 0, 3, 2, 1, 0 }, [2, 3, 4]);
        var weights = randn(2, 3, 4, dtype: ScalarType.Float64);
        Tensor Loss() => (encoder.call(ids) * weights).sum();

        GradientCheck.AssertGradientsMatch(Loss, encoder.parameters().Cast<Tensor>().ToList());
        var embeddingGradient = encoder.named_parameters().Single(p => p.name == "character_embedding.weight").parameter.grad!;
        Assert.Equal(0.0, embeddingGradient[0].abs().sum().item<double>());
        Assert.True(embeddingGradient[2].abs().sum().item<double>() > 0);
    }

    [Fact]
    public void BadCharacterIdsAreRefusedWithTheirRange()
    {
        using var encoder = new CharacterEncoder(5, 2, 3);
        using var ids = tensor(new long[] { 1, 5 }, [1, 1, 2]);
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => encoder.call(ids));
        Assert.Contains("character ids must lie in [0, 5), got values from 1 to 5", error.Message);
        using var floats = zeros(1, 1, 2);
        Assert.Throws<ArgumentException>(() => encoder.call(floats));
    }

    /// <summary>An encoder reading characters refuses a batch without them, and appends F features to each embedded token.</summary>
    [Fact]
    public void EncoderReadsWordsAndCharactersSideBySide()
    {
        using var scope = NewDisposeScope();
        manual_seed(1);
        using var encoder = new SequenceEncoder(new SequenceEncoderOptions
        {
            VocabularySize = 5, EmbeddingSize = 4, CharacterVocabularySize = 6, CharacterFeatures = 3, HiddenSize = 2,
        });
        Assert.Equal(7, encoder.InputFeatures);
        using var words = tensor(new long[] { 0, 1, 4 }, [1, 3]);
        var error = Assert.Throws<ArgumentException>(() => encoder.Encode(words));
        Assert.Contains("reads each token's characters too", error.Message);

        using var characters = tensor(new long[] { 2, 3, 0, 4, 0, 0, 5, 5, 5 }, [1, 3, 3]);
        var batch = SequenceBatch.Create(words).WithCharacters(characters);
        var encoded = encoder.Encode(batch);
        Assert.Equal(new long[] { 1, 3, 2 }, encoded.Outputs.shape);
        // Changing one token's spelling changes the outputs from that step on.
        using var respelled = tensor(new long[] { 2, 3, 0, 5, 0, 0, 5, 5, 5 }, [1, 3, 3]);
        var other = encoder.Encode(SequenceBatch.Create(words).WithCharacters(respelled));
        Assert.True(encoded.Outputs.narrow(1, 0, 1).allclose(other.Outputs.narrow(1, 0, 1)));
        Assert.False(encoded.Outputs.narrow(1, 1, 1).allclose(other.Outputs.narrow(1, 1, 1)));
    }
}
