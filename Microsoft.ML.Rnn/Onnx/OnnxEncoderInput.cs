using Microsoft.ML.Rnn.Networks;

namespace Microsoft.ML.Rnn.Onnx;

/// <summary>
/// The component's input value in an ONNX graph being written (ML.NET's converter's column, or the component's own
/// graph's <see cref="ComponentOnnxModel.Values"/>) and how an encoder reads it: <see cref="Encode"/> writes what the
/// encoder computes from it, or from Single steps (N, L·F) a component computed from it first (the regressor's row
/// scaling).
/// </summary>
/// <param name="Input">Single steps (N, L·F), or key or word ids.</param>
/// <param name="Write">Writes an encoder over the given input value.</param>
/// <param name="WriteWordBag">Writes the (N, M) bag word ids of the input (<see cref="OnnxWordBagExport"/>), or null when
/// the feature column has no word bag.</param>
internal sealed record OnnxEncoderInput(string Input, Func<SequenceEncoder, string, (string Outputs, string Final)> Write,
    Func<string>? WriteWordBag = null)
{
    private string? _wordBag;

    /// <summary>The (N, M) bag word ids, written once however many networks read them.</summary>
    public string WordBag => _wordBag ??= (WriteWordBag ?? throw new InvalidOperationException("The feature column has no word bag."))();

    /// <summary>Every step's outputs (L, N, D*H) and the final outputs (N, D*H) of <paramref name="encoder"/> over
    /// <see cref="Input"/>, or over <paramref name="steps"/> when given.</summary>
    public (string Outputs, string Final) Encode(SequenceEncoder encoder, string? steps = null) => Write(encoder, steps ?? Input);
}
