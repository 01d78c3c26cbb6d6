using Microsoft.ML.OnnxRuntime.Tensors;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.Rnn.Onnx;

namespace Microsoft.ML.Rnn.OnnxRuntime;

/// <summary>
/// The in-process ONNX engine of Microsoft.ML.Rnn (found by name when the application references this package).
/// Workers of the intra-op pool do not spin between runs: spinning workers took the core a PredictionEngine on
/// another thread, or the application, needed.
/// </summary>
internal sealed class OnnxRuntimeScoringEngine : IOnnxScoringEngine
{
    public IOnnxScoringSession Open(byte[] model, int threads)
    {
        using var options = new SessionOptions
        {
            IntraOpNumThreads = threads,
            InterOpNumThreads = 1,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
        };
        options.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");
        return new Session(new InferenceSession(model, options));
    }

    private sealed class Session(InferenceSession session) : IOnnxScoringSession
    {
        private readonly RunOptions _runOptions = new();

        public float[] Run(IReadOnlyList<OnnxInput> inputs, string output)
        {
            var values = new OrtValue[inputs.Count];
            try
            {
                for (int i = 0; i < values.Length; i++)
                {
                    var input = inputs[i];
                    if (input.Floats is { } floats)
                    {
                        values[i] = OrtValue.CreateAllocatedTensorValue(OrtAllocator.DefaultInstance, TensorElementType.Float, input.Shape);
                        floats(values[i].GetTensorMutableDataAsSpan<float>());
                    }
                    else
                    {
                        values[i] = OrtValue.CreateAllocatedTensorValue(OrtAllocator.DefaultInstance, TensorElementType.Int64, input.Shape);
                        input.Longs!(values[i].GetTensorMutableDataAsSpan<long>());
                    }
                }
                using var results = session.Run(_runOptions, inputs.Select(i => i.Name).ToArray(), values, [output]);
                return results[0].GetTensorDataAsSpan<float>().ToArray();
            }
            finally
            {
                foreach (var value in values) value?.Dispose();
            }
        }

        public void Dispose()
        {
            session.Dispose();
            _runOptions.Dispose();
        }
    }
}
