using Microsoft.ML.Rnn.Features;
using Microsoft.ML.Rnn.Networks;

namespace Microsoft.ML.Rnn.Onnx;

/// <summary>
/// A component's own ONNX model, for scoring in-process with ONNX Runtime: it reads what the component reads from a
/// row (<see cref="Inputs"/>: the feature column already mapped to ids by the component's vocabulary
/// or key count, so no string or key handling is in the graph) and writes what the component's network returns for
/// each row, <see cref="Result"/> (N, K). Every row of one run has the same number of steps (no padding, no lengths:
/// the graph is the one <c>ConvertToOnnx</c> writes for a row, behind different inputs).
/// </summary>
internal static class ComponentOnnxModel
{
    /// <summary>Input: Single steps (N, L*F) float32, or zero-based key or word ids (N, L) int64.</summary>
    public const string Values = "values";

    /// <summary>Input of a network that reads characters: character ids (N, L, 20) int64, 0 padding.</summary>
    public const string Characters = "characters";

    /// <summary>Input of a classifier with a word bag: (N, M) bag word ids int64, one per occurrence, -1 past a row's words.</summary>
    public const string WordBag = "word_bag";

    /// <summary>Output: (N, K) float32, one row of the component's result per input row.</summary>
    public const string Result = "result";

    /// <summary>
    /// Builds the model; <paramref name="writeResult"/> writes the component's result from what an encoder computes
    /// (as <c>WriteOnnxOutputs</c> does for ML.NET's converter). Throws <see cref="NotSupportedException"/> naming the
    /// part that has no ONNX form.
    /// </summary>
    public static byte[] Build(string component, FeatureEncoding features,
        Func<OnnxGraphWriter, OnnxEncoderInput, string> writeResult)
    {
        var model = new OnnxModelBuilder();
        var g = new OnnxGraphWriter(model, component);
        string values = features.Kind == SequenceItemKind.Singles
            ? model.Input(Values, typeof(float), "N", "S")
            : model.Input(Values, typeof(long), "N", "L");
        string? characters = features.Vocabulary?.ReadsCharacters == true
            ? model.Input(Characters, typeof(long), "N", "L", TokenVocabulary.MaxCharactersPerToken.ToString())
            : null;
        string? bag = features.Vocabulary?.Bag is null ? null : model.Input(WordBag, typeof(long), "N", "M");
        string result = writeResult(g, new OnnxEncoderInput(values,
            (encoder, steps) => OnnxEncoderExport.WriteFromRowValues(g, encoder, features, steps, characters, component),
            bag is null ? null : () => bag));
        model.Output(result, Result, typeof(float), "N", "K");
        return model.ToBytes(component);
    }

    /// <summary>
    /// The inputs of one run over <paramref name="members"/> (rows of <paramref name="rows"/>, all of
    /// <paramref name="steps"/> steps), written straight into ONNX Runtime's memory when it runs.
    /// </summary>
    public static OnnxInput[] Inputs(FeatureEncoding features, SequenceRows rows, int[] members, int steps)
    {
        int n = members.Length;
        if (features.Kind == SequenceItemKind.Singles)
            return [new(Values, [n, (long)steps * features.FeaturesPerStep], Floats: span => rows.WriteSingles(members, steps, span))];
        var inputs = new List<OnnxInput> { new(Values, [n, steps], Longs: span => rows.WriteIds(members, steps, span)) };
        if (features.Vocabulary?.ReadsCharacters == true)
        {
            const int width = TokenVocabulary.MaxCharactersPerToken;
            inputs.Add(new(Characters, [n, steps, width], Longs: span => rows.WriteCharacters(members, steps, width, span)));
        }
        if (features.Vocabulary?.Bag is not null)
        {
            int words = rows.WordBagWidth(members);
            inputs.Add(new(WordBag, [n, words], Longs: span => rows.WriteWordBag(members, words, span)));
        }
        return inputs.ToArray();
    }
}
