using Microsoft.ML.Rnn.Core;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace HmLstm;

/// <summary>
/// Character-level language model: embedding → <see cref="HmLstmCell"/> unrolled with <see cref="ScanUnroller"/>
/// (so every step's boundary detectors come back) → the paper's gated output module → logits over characters.
/// </summary>
public sealed class CharLanguageModel : nn.Module
{
    private readonly Embedding embedding;
    private readonly HmLstmCell cell;
    private readonly Linear layerGates;
    private readonly ModuleList<Linear> layerOutputs = new();
    private readonly Linear readout;
    private readonly long _hidden;

    public CharLanguageModel(long vocabularySize, long embeddingSize, long hiddenSize, int numberOfLayers) : base(nameof(CharLanguageModel))
    {
        _hidden = hiddenSize;
        embedding = nn.Embedding(vocabularySize, embeddingSize);
        cell = new HmLstmCell(embeddingSize, hiddenSize, numberOfLayers);
        layerGates = nn.Linear(hiddenSize * numberOfLayers, numberOfLayers);
        for (int l = 0; l < numberOfLayers; l++)
            layerOutputs.Add(nn.Linear(hiddenSize, hiddenSize, hasBias: false));
        readout = nn.Linear(hiddenSize, vocabularySize);
        RegisterComponents();
    }

    public HmLstmCell Cell => cell;

    /// <summary>Logits (N, L, V) for the next character and the boundary detectors z (N, L, layers).</summary>
    /// <param name="tokens">(N, L) int64 character ids.</param>
    public (Tensor Logits, Tensor Boundaries) Forward(Tensor tokens)
    {
        var scan = ScanUnroller.Scan(cell, embedding.forward(tokens));
        var hidden = scan.Outputs; // (N, L, layers·H)
        var gates = layerGates.forward(hidden).sigmoid(); // g^l_t = σ(w^l · [h^1; ...; h^L])
        Tensor combined = zeros_like(hidden.narrow(2, 0, _hidden));
        for (int l = 0; l < layerOutputs.Count; l++)
            combined = combined + gates.narrow(2, l, 1) * layerOutputs[l].forward(hidden.narrow(2, l * _hidden, _hidden));
        var boundaries = cat(Enumerable.Range(0, cell.NumberOfLayers)
            .Select(l => scan.States[HmLstmCell.BoundaryStateIndex(l)]).ToArray(), 2);
        return (readout.forward(combined.relu()), boundaries);
    }
}
