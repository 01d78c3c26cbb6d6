using static TorchSharp.torch;

namespace Microsoft.ML.Rnn.Core;

/// <summary>What <see cref="DynamicUnroller.Unroll(RnnCell, SequenceBatch, IReadOnlyList{Tensor}?, UnrollPath, bool)"/> returns.</summary>
/// <param name="Outputs">
/// (N, L, H_out) batch-major, or (L, N, H_out) when the unroll was time-major; zero past each sequence's length.
/// </param>
/// <param name="FinalState">One tensor (N, S_k) per state entry: the state at each sequence's last valid step (empty when the
/// unroll was asked for <c>finalState: false</c>).</param>
public sealed record UnrollResult(Tensor Outputs, Tensor[] FinalState);
