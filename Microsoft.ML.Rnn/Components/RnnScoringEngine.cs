namespace Microsoft.ML.Rnn;

/// <summary>Which engine scores a fitted or loaded component (<see cref="RnnTransformerBase.ScoringEngine"/>).</summary>
public enum RnnScoringEngine
{
    /// <summary>
    /// ONNX Runtime where it can score the component — the application references <c>Microsoft.ML.Rnn.OnnxRuntime</c>,
    /// the component's network has an ONNX form and runs on the CPU — and TorchSharp (libtorch) otherwise.
    /// </summary>
    Auto,

    /// <summary>TorchSharp (libtorch), the engine that trained the network.</summary>
    TorchSharp,

    /// <summary>ONNX Runtime, in-process; scoring fails with a message saying what is missing when it cannot.</summary>
    OnnxRuntime,
}
