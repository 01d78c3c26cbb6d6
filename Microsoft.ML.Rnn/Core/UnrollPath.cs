namespace Microsoft.ML.Rnn.Core;

/// <summary>Which implementation an unroller uses. Results are the same; only speed differs.</summary>
public enum UnrollPath
{
    /// <summary>The fused libtorch kernel when the cell can use it, the step loop otherwise.</summary>
    Auto,
    /// <summary>Always the fused kernel; throws when the cell cannot be fused (for benchmarks and tests).</summary>
    Fused,
    /// <summary>Always the C# loop over <see cref="RnnCell.Step"/> (for benchmarks and tests).</summary>
    Step,
}
