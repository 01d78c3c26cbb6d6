namespace Microsoft.ML.Rnn;

/// <summary>Where a recurrent component's network trains and runs.</summary>
public enum RnnDevice
{
    /// <summary>The CPU (default; always available).</summary>
    Cpu,

    /// <summary>The first CUDA device; falls back to the CPU with a logged warning when CUDA is not available.</summary>
    Cuda,
}
