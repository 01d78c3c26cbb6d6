using static TorchSharp.torch;

namespace Microsoft.ML.Rnn.Core;

/// <summary>What <see cref="ScanUnroller.Scan"/> returns: outputs and the full state at every step.</summary>
/// <param name="Outputs">(N, L, H_out), or (L, N, H_out) when time-major; zero past each sequence's length.</param>
/// <param name="States">
/// One tensor per state entry, (N, L, S_k) or (L, N, S_k) when time-major: the state after each step; past a
/// sequence's length it repeats the last valid state (the initial state for a zero-length sequence).
/// </param>
/// <param name="FinalState">One tensor (N, S_k) per state entry: the state at each sequence's last valid step.</param>
public sealed record ScanResult(Tensor Outputs, Tensor[] States, Tensor[] FinalState);
