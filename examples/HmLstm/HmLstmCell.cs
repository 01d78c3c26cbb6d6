using Microsoft.ML.Rnn.Core;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace HmLstm;

/// <summary>
/// The multi-layer HM-LSTM as one <see cref="RnnCell"/>: layer l sees the new hidden state and boundary of layer l-1
/// at this step and the hidden state of layer l+1 from the previous step. A plain stack of cells cannot express the
/// top-down connection, which is why the model has its own multi-layer cell.
/// </summary>
/// <remarks>State: (c, h, z) of layer 1, then of layer 2, ...; output: the concatenated h of all layers (N, L·H).</remarks>
public sealed class HmLstmCell : RnnCell, IOnnxStepCell
{
    private readonly ModuleList<HmLstmLayerCell> layers = new();
    private readonly long _input;
    private readonly long _hidden;

    /// <param name="inputSize">Features per step.</param>
    /// <param name="hiddenSize">Hidden size of every layer.</param>
    /// <param name="numberOfLayers">Number of layers (the paper uses 3).</param>
    public HmLstmCell(long inputSize, long hiddenSize, int numberOfLayers) : base(nameof(HmLstmCell))
    {
        if (numberOfLayers < 1)
            throw new ArgumentOutOfRangeException(nameof(numberOfLayers), numberOfLayers, "HmLstmCell: expected at least one layer.");
        _input = inputSize;
        _hidden = hiddenSize;
        for (int l = 0; l < numberOfLayers; l++)
            layers.Add(new HmLstmLayerCell(l == 0 ? inputSize : hiddenSize, hiddenSize, l + 1 < numberOfLayers ? hiddenSize : 0));
        RegisterComponents();
    }

    /// <summary>Number of layers.</summary>
    public int NumberOfLayers => layers.Count;

    /// <summary>Sets the hard-sigmoid slope of every layer's boundary detector.</summary>
    public double Slope
    {
        set { foreach (var layer in layers) layer.Slope = value; }
    }

    /// <inheritdoc />
    public override long InputSize => _input;

    /// <inheritdoc />
    public override IReadOnlyList<long> StateSizes => layers.SelectMany(l => l.StateSizes).ToArray();

    /// <inheritdoc />
    public override long OutputSize => _hidden * layers.Count;

    /// <summary>Index of layer <paramref name="layer"/>'s boundary detector z in the state array.</summary>
    public static int BoundaryStateIndex(int layer) => 3 * layer + 2;

    /// <inheritdoc />
    public override (Tensor Output, Tensor[] State) Step(Tensor input, IReadOnlyList<Tensor> state)
    {
        var newState = new Tensor[state.Count];
        var below = input;
        var zBelow = ones(input.shape[0], 1, dtype: input.dtype, device: input.device);
        var outputs = new Tensor[layers.Count];
        for (int l = 0; l < layers.Count; l++)
        {
            var hAbovePrevious = l + 1 < layers.Count ? state[3 * (l + 1) + 1] : below.narrow(1, 0, 0);
            var (h, layerState) = layers[l].Step(cat([below, zBelow, hAbovePrevious], 1), [state[3 * l], state[3 * l + 1], state[3 * l + 2]]);
            layerState.CopyTo(newState, 3 * l);
            outputs[l] = h;
            below = h;
            zBelow = layerState[2];
        }
        return (cat(outputs, 1), newState);
    }

    /// <summary><see cref="Step"/> in ONNX operators, layer by layer as there: what lets a model of this cell convert to ONNX.</summary>
    public (string Output, string[] State) WriteOnnxStep(OnnxStep step, string input, IReadOnlyList<string> state)
    {
        var newState = new string[state.Count];
        var outputs = new string[layers.Count];
        string below = input, zBelow = step.Constant(1f, "first_layer_boundary");   // the input is a boundary at every step
        for (int l = 0; l < layers.Count; l++)
        {
            string? hAbovePrevious = l + 1 < layers.Count ? state[3 * (l + 1) + 1] : null;
            var (h, layerState) = layers[l].WriteOnnxStep(step, below, zBelow, hAbovePrevious, [state[3 * l], state[3 * l + 1], state[3 * l + 2]]);
            layerState.CopyTo(newState, 3 * l);
            outputs[l] = h;
            below = h;
            zBelow = layerState[2];
        }
        return (step.Apply("Concat", outputs, ("axis", 1L)), newState);
    }
}
