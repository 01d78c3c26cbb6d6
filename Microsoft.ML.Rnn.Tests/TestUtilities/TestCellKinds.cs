using System.Runtime.CompilerServices;
using Microsoft.ML.Rnn.Tests.Core;

namespace Microsoft.ML.Rnn.Tests;

/// <summary>
/// The test assembly's cell of its own, registered when the assembly's module initializes: in the test process, and in
/// the separate loader process that loads this assembly (as an application registers its cells at start-up).
/// </summary>
internal static class TestCellKinds
{
    /// <summary>A <see cref="TanhSumCell"/> (an independent test cell) under a registered name.</summary>
    public const string TanhSum = "test-registered-tanh-sum";

    [ModuleInitializer]
    internal static void Register() => RnnCellKind.Register(TanhSum, (input, hidden, _) => new TanhSumCell(input, hidden));
}
