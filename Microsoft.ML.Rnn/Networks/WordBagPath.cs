using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Microsoft.ML.Rnn.Networks;

/// <summary>
/// The wide half of a wide-and-deep classifier: a linear model on each row's bag of token ids, weighted tf-idf and
/// L2-normalised (as scikit-learn's TfidfVectorizer), whose logits join the recurrent network's.
/// </summary>
/// <remarks>
/// For a row whose bag holds word v tf_v times: x_v = tf_v · idf_v / ‖tf · idf‖ and logits = <see cref="Scale"/> · Σ_v x_v · W_v
/// (no bias: the recurrent path's output layer has one). W starts at zero, so the path starts silent, and is read
/// through <see cref="Scale"/>: Adam's steps have the learning rate's size whatever the gradient's, and at the recurrent
/// layers' rate a linear model on unit-length inputs would barely move in a few epochs. The bag's words are those of
/// <see cref="WordBagVocabulary"/>; idf is scikit-learn's smooth one over the training rows.
/// </remarks>
public sealed class WordBagPath : nn.Module
{
#pragma warning disable IDE1006
    private readonly Parameter weight;
    private readonly Tensor idf;
#pragma warning restore IDE1006
    /// <summary>The smallest norm divided by: an empty bag's logits stay 0.</summary>
    internal const float TinyNormValue = 1e-12f;
    private static readonly Scalar TinyNorm = ((double)TinyNormValue).ToScalar();

    /// <summary>Multiplies the weights in the logits (see the remarks): the weights move as a linear model's solver would move them.</summary>
    public const double DefaultScale = 30;

    /// <summary>A silent path over <paramref name="inverseDocumentFrequencies"/> (V) to <paramref name="classCount"/> logits.</summary>
    public WordBagPath(float[] inverseDocumentFrequencies, long classCount, double scale = DefaultScale) : base(nameof(WordBagPath))
    {
        ArgumentNullException.ThrowIfNull(inverseDocumentFrequencies);
        ArgumentOutOfRangeException.ThrowIfLessThan(classCount, 1);
        idf = tensor(inverseDocumentFrequencies);
        weight = new Parameter(zeros(idf.shape[0], classCount));
        Scale = scale;
        register_buffer(nameof(idf), idf);
        RegisterComponents();
    }

    /// <summary>Multiplies the weights in the logits (see the remarks).</summary>
    public double Scale { get; }

    /// <summary>The (V) inverse document frequencies.</summary>
    public Tensor InverseDocumentFrequencies => idf;

    /// <summary>A copy of the (V, C) weights times <see cref="Scale"/>: what multiplies the normalised bag.</summary>
    public Tensor ScaledWeights()
    {
        using var scale = Scale.ToScalar();
        using var noGrad = no_grad();
        return weight.mul(scale);
    }

    /// <summary>(N, C) logits of each row's distinct bag word ids (N, B) int64 in [0, V) and their counts (N, B), 0 at padding.</summary>
    public Tensor Forward(Tensor ids, Tensor counts)
    {
        ArgumentNullException.ThrowIfNull(ids);
        ArgumentNullException.ThrowIfNull(counts);
        using var scope = NewDisposeScope();
        long n = ids.shape[0], b = ids.shape[1];
        var flat = ids.flatten();
        var tfidf = idf.index_select(0, flat).view(n, b).mul(counts);                                 // tf_v · idf_v
        var norm = tfidf.mul(tfidf).sum(1, keepdim: true).sqrt().clamp_min(TinyNorm);                 // (N, 1); an empty bag stays 0
        var picked = weight.index_select(0, flat).view(n, b, -1);                                   // (N, B, C)
        using var scale = Scale.ToScalar();
        return picked.mul(tfidf.div(norm).unsqueeze(2)).sum(1).mul(scale).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Smooth idf of each id over <paramref name="rows"/> (scikit-learn's: ln((1 + n) / (1 + df)) + 1, df the rows holding
    /// the id), for a vocabulary of <paramref name="vocabularySize"/> ids.
    /// </summary>
    public static float[] SmoothIdf(IEnumerable<int[]> rows, long vocabularySize)
    {
        var documents = new long[vocabularySize];
        long n = 0;
        var seen = new HashSet<int>();
        foreach (var row in rows)
        {
            n++;
            seen.Clear();
            foreach (int id in row)
            {
                if (seen.Add(id)) documents[id]++;
            }
        }
        return documents.Select(df => (float)(Math.Log((1.0 + n) / (1.0 + df)) + 1.0)).ToArray();
    }
}
