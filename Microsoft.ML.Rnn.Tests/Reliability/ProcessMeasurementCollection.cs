using Xunit;

namespace Microsoft.ML.Rnn.Tests.Reliability;

/// <summary>
/// Tests that measure the whole process (resident memory) run in this collection, alone: xunit otherwise runs test
/// classes in parallel, and another test's allocations during a measurement made the disposal test fail now and then.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ProcessMeasurementCollection
{
    public const string Name = "Process-wide measurements";
}
