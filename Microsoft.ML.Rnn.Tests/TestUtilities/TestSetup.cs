using System.Runtime.CompilerServices;
using Microsoft.ML.Rnn.Core;
using TorchSharp;
using Xunit;

// libtorch collapses (100x slower) when several threads or processes compute at once on a 2-core machine,
// so test classes never run in parallel and each test process uses one intra-op thread.
[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace Microsoft.ML.Rnn.Tests;

internal static class TestSetup
{
    /// <summary>
    /// Set to "zen5" to run the tests as on a CPU where libtorch 2.10's oneDNN float32 LSTM is wrong for hidden sizes
    /// with H % 32 in 1..16 (docs/troubleshooting.md): the library's LSTM kernels of those shapes then return perturbed
    /// outputs in this process, and everything must still pass through the checked paths.
    /// </summary>
    public const string SimulatedFaultVariable = "MICROSOFT_ML_RNN_TESTS_SIMULATED_FAULT";

    [ModuleInitializer]
    internal static void Initialize()
    {
        torch.set_num_threads(1);
        // The tests reference Microsoft.ML.Rnn.OnnxRuntime, which would make Auto score the classifier and the encoder
        // through ONNX Runtime everywhere: the suite tests the networks through TorchSharp, and OnnxRuntimeScoringTests
        // chooses each engine itself (and checks Auto).
        RnnTransformerBase.DefaultScoringEngine = RnnScoringEngine.TorchSharp;
        if (Environment.GetEnvironmentVariable(SimulatedFaultVariable) is { Length: > 0 } fault)
        {
            if (fault != "zen5")
                throw new InvalidOperationException($"{SimulatedFaultVariable} is '{fault}'; the only simulated fault is 'zen5'.");
            FusedKernelChecks.InjectFaultForTests(ZenFiveFault);
        }
    }

    /// <summary>The shapes whose oneDNN LSTM was measured wrong on a Zen 5 machine.</summary>
    public static bool ZenFiveFault(FusedKernelShape shape)
        => shape.Kind == FusedKernelKind.Lstm && shape.Dtype == torch.ScalarType.Float32 && shape.HiddenSize % 32 is >= 1 and <= 16;
}
