using System.Runtime.CompilerServices;
using TorchSharp;
using Xunit;

// libtorch collapses (100x slower) when several threads or processes compute at once on a 2-core machine,
// so test classes never run in parallel and each test process uses one intra-op thread.
[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace Microsoft.ML.Rnn.Tests;

internal static class TestSetup
{
    [ModuleInitializer]
    internal static void Initialize() => torch.set_num_threads(1);
}
