using Microsoft.ML.Rnn.Core;
using Microsoft.ML.Runtime;
using TorchSharp;

namespace Microsoft.ML.Rnn.Scoring;

/// <summary>
/// Runs a fitted network for scoring: eval mode, no gradients, a dispose scope per call, and a lock so that several
/// PredictionEngines (one per thread) and cursors can share one module (TorchSharp modules are not thread-safe:
/// train/eval flags and the fused kernels' flattened weights are shared state). Fused kernels follow
/// <paramref name="fusedKernels"/> (the estimator's option; null follows the policy in force when scoring), and a
/// wrong kernel's warning goes to <paramref name="host"/>'s log.
/// </summary>
internal sealed class NetworkInference(torch.nn.Module network, torch.Device device, IHost host, FusedKernelPolicy? fusedKernels)
{
    private readonly Lock _gate = new();
    private readonly Action<string> _warn = message =>
    {
        using var ch = host.Start("Fused kernel check");
        ch.Warning(message);
    };

    /// <summary>The network.</summary>
    public torch.nn.Module Network { get; } = network;

    /// <summary>Where the network's parameters live; inputs are moved there.</summary>
    public torch.Device Device { get; } = device;

    /// <summary>
    /// Runs <paramref name="forward"/> under the lock, in eval mode without gradients, inside a dispose scope: the
    /// result must be managed data (arrays), not tensors.
    /// </summary>
    public T Run<T>(Func<T> forward)
    {
        ArgumentNullException.ThrowIfNull(forward);
        lock (_gate)
        {
            Network.eval();
            using var checks = FusedKernelChecks.Use(fusedKernels ?? FusedKernelChecks.Policy, _warn);
            using var noGrad = torch.no_grad();
            using var scope = torch.NewDisposeScope();
            return forward();
        }
    }
}
