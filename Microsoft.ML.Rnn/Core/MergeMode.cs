namespace Microsoft.ML.Rnn.Core;

/// <summary>How a bidirectional unroll combines the forward and backward outputs at each step.</summary>
public enum MergeMode
{
    /// <summary>Concatenate on the feature axis: H_out = H_fw + H_bw.</summary>
    Concat,
    /// <summary>Elementwise sum; both directions must have the same output size.</summary>
    Sum,
    /// <summary>Elementwise mean of the two directions; both must have the same output size.</summary>
    Average,
    /// <summary>Elementwise product; both directions must have the same output size.</summary>
    Multiply,
    /// <summary>No merge: the merged outputs are null; use the per-direction outputs.</summary>
    None,
}
