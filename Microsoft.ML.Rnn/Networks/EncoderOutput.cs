using static TorchSharp.torch;

namespace Microsoft.ML.Rnn.Networks;

/// <summary>What <see cref="SequenceEncoder.Encode(Core.SequenceBatch, Core.UnrollPath)"/> returns (N batch, L steps, D directions, H hidden size).</summary>
/// <param name="Outputs">(N, L, D*H) last layer's outputs, forward then backward features; zero past each length.</param>
/// <param name="FinalHidden">(N, D*H) last layer's final output of each direction: forward at the last valid step,
/// backward after reading back to step 0; zero for empty sequences.</param>
/// <param name="Lengths">(N) int64 valid steps per sequence (all L when the caller gave none).</param>
public sealed record EncoderOutput(Tensor Outputs, Tensor FinalHidden, Tensor Lengths);
