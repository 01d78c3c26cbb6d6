using Microsoft.ML.Rnn.Networks;

namespace Microsoft.ML.Rnn.Onnx;

/// <summary>
/// Writes a classifier's <see cref="WordBagPath"/> in ONNX: the bag's words of (N, L) string tokens (ONNX Runtime's
/// <c>com.microsoft.Tokenizer</c> with the bag's word expression, then one <c>LabelEncoder</c> over the written forms
/// <see cref="WordBagVocabulary.Forms"/> lists), and the path's logits over them.
/// </summary>
/// <remarks>
/// The graph reads one id per occurrence (-1 where a piece is not in the bag, and at padding), where the component
/// reads each distinct id with its count: the logits Σ_v tf_v·idf_v·W_v / ‖tf·idf‖ are written as Σ_t idf_t·W_t / ‖·‖
/// over occurrences t, and ‖tf·idf‖² = Σ_v (tf_v·idf_v)² as Σ_t tf_t·idf_t², tf_t counted by comparing every
/// occurrence of a row with every other ((N, M, M), M occurrences per row).
/// </remarks>
internal static class OnnxWordBagExport
{
    /// <summary>(N, M) bag word ids of <paramref name="tokens"/> (N, L) strings, one per word occurrence, -1 elsewhere.</summary>
    public static string Ids(OnnxGraphWriter g, WordBagVocabulary bag, string tokens)
    {
        string pieces = OnnxTokenExport.Split(g, tokens, "bag_pieces", node => node.AddAttribute("tokenexp", WordBagVocabulary.WordExpression));
        string ids = g.ApplyIn(null, "LabelEncoder", "bag_ids", node =>
        {
            node.AddAttribute("keys_strings", bag.Forms.Select(f => f.Form));
            node.AddAttribute("values_int64s", bag.Forms.Select(f => (long)f.Id));
            node.AddAttribute("default_int64", -1L);
        }, pieces);
        return g.Reshape(ids, [0, -1], "bag_occurrences");
    }

    /// <summary>(N, C) logits of <paramref name="path"/> over <paramref name="ids"/> (N, M) (see the remarks).</summary>
    public static string Logits(OnnxGraphWriter g, WordBagPath path, string ids)
    {
        string zero = g.Long(0, "bag_zero");
        string present = g.Apply("Not", "bag_present", g.Apply("Less", "bag_absent", ids, zero));
        string safe = g.Apply("Where", "bag_safe_ids", present, ids, zero);
        string presentF = g.Apply("Cast", "bag_present_f", n => n.AddAttribute("to", typeof(float)), present);
        string idf = g.Apply("Mul", "bag_idf",
            g.Apply("Gather", "bag_idf_all", n => n.AddAttribute("axis", 0L), g.Weight(path.InverseDocumentFrequencies, "bag.idf"), safe), presentF);
        string same = g.Apply("Cast", "bag_same_f", n => n.AddAttribute("to", typeof(float)),
            g.Apply("Equal", "bag_same", g.Reshape(ids, [0, -1, 1], "bag_ids_column"), g.Reshape(ids, [0, 1, -1], "bag_ids_row")));
        string tf = g.Reduce("ReduceSum", g.Apply("Mul", "bag_same_present", same, g.Reshape(presentF, [0, 1, -1], "bag_present_row")), 2,
            keepDimensions: false, "bag_tf");                                                                    // (N, M)
        string squares = g.Reduce("ReduceSum", g.Apply("Mul", "bag_tf_idf2", tf, g.Apply("Mul", "bag_idf2", idf, idf)), 1,
            keepDimensions: true, "bag_norm2");
        string norm = g.Apply("Max", "bag_norm", g.Apply("Sqrt", "bag_norm_raw", squares), g.Float(WordBagPath.TinyNormValue, "bag_tiny"));
        string weights = g.Reshape(g.Apply("Div", "bag_weights", idf, norm), [0, -1, 1], "bag_weights_3d");
        using var scaled = path.ScaledWeights();
        string picked = g.Apply("Gather", "bag_picked", n => n.AddAttribute("axis", 0L), g.Weight(scaled, "bag.weight"), safe);   // (N, M, C)
        return g.Reduce("ReduceSum", g.Apply("Mul", "bag_weighted", picked, weights), 1, keepDimensions: false, "bag_logits");
    }
}
