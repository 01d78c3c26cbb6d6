using static TorchSharp.torch;

namespace Microsoft.ML.Rnn.Core;

/// <summary>What <see cref="BidirectionalUnroller.Unroll"/> returns. Every output tensor is aligned with input time.</summary>
/// <param name="Outputs">
/// Merged outputs (N, L, H) or (L, N, H) when time-major, with H = H_fw + H_bw for <see cref="MergeMode.Concat"/>
/// and H_fw otherwise; null for <see cref="MergeMode.None"/>. Zero past each sequence's length.
/// </param>
/// <param name="ForwardOutputs">Forward direction outputs (N, L, H_fw), or (L, N, H_fw) when time-major.</param>
/// <param name="BackwardOutputs">
/// Backward direction outputs re-reversed to input time (N, L, H_bw): at step t the backward cell has read the
/// sequence from its last valid step down to t.
/// </param>
/// <param name="ForwardFinalState">Forward state after each sequence's last valid step, one (N, S_k) per entry.</param>
/// <param name="BackwardFinalState">Backward state after reading each sequence back to its first step. Both are empty
/// when the unroll was asked for <c>finalState: false</c>.</param>
public sealed record BidirectionalResult(
    Tensor? Outputs,
    Tensor ForwardOutputs,
    Tensor BackwardOutputs,
    Tensor[] ForwardFinalState,
    Tensor[] BackwardFinalState);
