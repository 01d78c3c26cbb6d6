using System.Reflection;

namespace Microsoft.ML.Rnn.Onnx;

/// <summary>
/// An in-process ONNX engine. The package itself does not reference ONNX Runtime: the companion package
/// <c>Microsoft.ML.Rnn.OnnxRuntime</c> implements this, and <see cref="OnnxScoringEngines.Find"/> loads it when the application
/// references it (no registration call, as for <c>Model.Load</c>).
/// </summary>
internal interface IOnnxScoringEngine
{
    /// <summary>
    /// A session on <paramref name="model"/> (a serialised ONNX model) computing each run's operators on
    /// <paramref name="threads"/> threads (1: on the calling thread); safe to run from several threads.
    /// </summary>
    IOnnxScoringSession Open(byte[] model, int threads);
}

/// <summary>One loaded ONNX model.</summary>
internal interface IOnnxScoringSession : IDisposable
{
    /// <summary>
    /// Runs the model on <paramref name="inputs"/>, each written by its fill callback straight into the input's native
    /// memory (a managed array of a batch of long rows would be allocated on the large object heap at every batch), and
    /// returns output <paramref name="output"/>, row-major.
    /// </summary>
    float[] Run(IReadOnlyList<OnnxInput> inputs, string output);
}

/// <summary>Fills an input's memory (every element: it is not cleared first).</summary>
internal delegate void OnnxFill<T>(Span<T> destination);

/// <summary>A float32 (<paramref name="Floats"/>) or int64 (<paramref name="Longs"/>) input of <paramref name="Shape"/>.</summary>
internal sealed record OnnxInput(string Name, long[] Shape, OnnxFill<float>? Floats = null, OnnxFill<long>? Longs = null);

/// <summary>Finds the ONNX engine of <c>Microsoft.ML.Rnn.OnnxRuntime</c> once per process.</summary>
internal static class OnnxScoringEngines
{
    /// <summary>The companion assembly and the engine type it holds.</summary>
    public const string AssemblyName = "Microsoft.ML.Rnn.OnnxRuntime", TypeName = "Microsoft.ML.Rnn.OnnxRuntime.OnnxRuntimeScoringEngine";

    private static readonly Lazy<(IOnnxScoringEngine? Engine, string Why)> Found = new(Load);

    /// <summary>The engine, or null with why it is absent.</summary>
    public static IOnnxScoringEngine? Find(out string why)
    {
        var (engine, reason) = Found.Value;
        why = reason;
        return engine;
    }

    private static (IOnnxScoringEngine?, string) Load()
    {
        Assembly assembly;
        try
        {
            assembly = Assembly.Load(new AssemblyName(AssemblyName));
        }
        catch (FileNotFoundException)
        {
            return (null, $"the application does not reference the package {AssemblyName}");
        }
        catch (Exception e) when (e is FileLoadException or BadImageFormatException)
        {
            return (null, $"{AssemblyName} could not be loaded ({e.GetType().Name}: {e.Message})");
        }
        if (assembly.GetType(TypeName) is not { } type || Activator.CreateInstance(type) is not IOnnxScoringEngine engine)
            return (null, $"{AssemblyName} holds no engine {TypeName} for this version of Microsoft.ML.Rnn");
        return (engine, "");
    }
}
