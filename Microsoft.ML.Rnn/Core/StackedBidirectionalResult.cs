using static TorchSharp.torch;

namespace Microsoft.ML.Rnn.Core;

/// <summary>What <see cref="StackedBidirectionalUnroller.Unroll"/> returns.</summary>
/// <param name="Outputs">
/// Last layer's concatenated outputs (N, L, H_fw + H_bw), or (L, N, ...) when time-major; zero past each length.
/// </param>
/// <param name="ForwardFinalStates">Per layer, the forward direction's final state (one (N, S_k) per entry).</param>
/// <param name="BackwardFinalStates">Per layer, the backward direction's final state. Every state is empty when the
/// unroll was asked for <c>finalState: false</c>.</param>
public sealed record StackedBidirectionalResult(
    Tensor Outputs,
    IReadOnlyList<Tensor[]> ForwardFinalStates,
    IReadOnlyList<Tensor[]> BackwardFinalStates);
