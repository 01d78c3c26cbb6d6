namespace Microsoft.ML.Rnn;

/// <summary>How a <see cref="Networks.SequenceEncoder"/>'s per-step outputs become one vector (N, D*H) per sequence.</summary>
public enum SequencePooling
{
    /// <summary>Concatenation of each direction's final hidden output (forward at the last valid step, backward at step 0).</summary>
    LastState,
    /// <summary>Mean of the outputs over valid steps (zero for an empty sequence).</summary>
    Mean,
    /// <summary>Elementwise maximum of the outputs over valid steps (zero for an empty sequence).</summary>
    Max,
}
