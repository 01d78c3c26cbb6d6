using static TorchSharp.torch;

namespace Microsoft.ML.Rnn.Core;

/// <summary>
/// ONNX's own recurrent operator (<c>LSTM</c>, <c>GRU</c> or <c>RNN</c>) for one direction of a layer, when it computes
/// what the cell computes (<see cref="GatedRnnCell.OnnxOperator"/>): the weights in ONNX's gate order, W (G·H, H_in),
/// R (G·H, H), B (2·G·H: input then recurrent biases), P (3·H peepholes) or null, and the node's attributes beyond
/// <c>hidden_size</c> and <c>direction</c>. <paramref name="Activation"/> is the <c>RNN</c>'s, repeated per direction.
/// </summary>
internal sealed record OnnxRecurrentOperator(string Type, long HiddenSize, Tensor W, Tensor R, Tensor B, Tensor? P,
    long? LinearBeforeReset = null, string? Activation = null);
