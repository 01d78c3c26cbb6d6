using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Microsoft.ML.Rnn.Core;

/// <summary>
/// The equations of libtorch's nn.LSTM / nn.GRU / nn.RNN written out as plain tensor operations, unrolled with
/// DynamicUnroller semantics: the independent reference that <see cref="FusedKernelChecks"/> runs in float64 to judge
/// each way of computing a fused kernel (libtorch's kernel, with or without oneDNN, and the cell's step loop).
/// </summary>
/// <remarks>
/// PyTorch's layout and gate orders: LSTM rows i, f, g, o; GRU rows r, z, n with the reset gate applied after the
/// recurrent matmul; RNN a single block. States in this library's order: LSTM (c, h), the others (h).
/// </remarks>
internal static class KernelReference
{
    /// <summary>Runs the reference. Every tensor must share one dtype and device.</summary>
    /// <param name="kind">Which kernel's equations.</param>
    /// <param name="weights">weight_ih (G*H, H_in), weight_hh (G*H, H), bias_ih (G*H), bias_hh (G*H).</param>
    /// <param name="inputs">(N, L, H_in).</param>
    /// <param name="lengths">N lengths in [0, L].</param>
    /// <param name="initialState">LSTM (c, h), others (h), each (N, H).</param>
    /// <returns>Outputs (N, L, H), zero past each length, and the state at each sequence's last valid step.</returns>
    public static (Tensor Outputs, Tensor[] FinalState) Unroll(FusedKernelKind kind, IReadOnlyList<Tensor> weights,
        Tensor inputs, long[] lengths, IReadOnlyList<Tensor> initialState)
    {
        long n = inputs.shape[0], l = inputs.shape[1];
        var lengthTensor = tensor(lengths, device: inputs.device).view(n, 1);
        var state = initialState.ToArray();
        var outputs = new Tensor[l];
        for (long t = 0; t < l; t++)
        {
            using var step = t.ToScalar();
            var running = lengthTensor.gt(step);
            var next = Step(kind, weights, inputs.select(1, t), state);
            state = next.Select((s, k) => where(running, s, state[k])).ToArray();
            outputs[t] = where(running, next[^1], zeros_like(next[^1]));
        }
        var stacked = l == 0 ? zeros(n, 0, state[^1].shape[1], dtype: inputs.dtype, device: inputs.device) : stack(outputs, 1);
        return (stacked, state);
    }

    private static Tensor[] Step(FusedKernelKind kind, IReadOnlyList<Tensor> w, Tensor x, Tensor[] state)
    {
        var h = state[^1];
        var input = F.linear(x, w[0], w[2]);
        var recurrent = F.linear(h, w[1], w[3]);
        switch (kind)
        {
            case FusedKernelKind.Lstm:
                {
                    var gates = input.Plus(recurrent).chunk(4, 1);
                    var c = (gates[1].sigmoid() * state[0]).Plus(gates[0].sigmoid() * gates[2].tanh());
                    return [c, gates[3].sigmoid() * c.tanh()];
                }
            case FusedKernelKind.Gru:
                {
                    var gi = input.chunk(3, 1);
                    var gh = recurrent.chunk(3, 1);
                    var r = gi[0].Plus(gh[0]).sigmoid();
                    var z = gi[1].Plus(gh[1]).sigmoid();
                    var candidate = gi[2].Plus(r * gh[2]).tanh();
                    return [candidate.Plus(z * (h - candidate))];
                }
            case FusedKernelKind.RnnTanh:
                return [input.Plus(recurrent).tanh()];
            case FusedKernelKind.RnnRelu:
                return [input.Plus(recurrent).relu()];
            default:
                throw new ArgumentOutOfRangeException(nameof(kind), kind, "KernelReference: unknown kernel kind.");
        }
    }
}
