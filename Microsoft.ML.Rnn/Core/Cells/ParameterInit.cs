using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Microsoft.ML.Rnn.Core;

/// <summary>Initialisation of managed cell parameters, the way PyTorch initialises its recurrent modules.</summary>
internal static class ParameterInit
{
    /// <summary>
    /// A new Parameter drawn from uniform(-1/sqrt(H), 1/sqrt(H)) with torch's global generator, so that
    /// torch.manual_seed makes it deterministic.
    /// </summary>
    public static Parameter Uniform(long[] shape, long hiddenSize, Device? device, ScalarType? dtype)
    {
        double k = 1.0 / Math.Sqrt(hiddenSize);
        var t = empty(shape, dtype: dtype, device: device);
        using (no_grad())
        {
            t.uniform_(-k, k);
        }
        return new Parameter(t, requires_grad: true);
    }

    /// <summary>A new Parameter filled with <paramref name="value"/> (layer-norm gains and shifts).</summary>
    public static Parameter Constant(long[] shape, double value, Device? device, ScalarType? dtype)
    {
        using var fill = value.ToScalar();
        return new(full(shape, fill, dtype: dtype, device: device), requires_grad: true);
    }
}
