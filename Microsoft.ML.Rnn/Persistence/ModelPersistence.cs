using System.Reflection;

namespace Microsoft.ML.Rnn.Persistence;

/// <summary>
/// The framing of every Microsoft.ML.Rnn component's entry in an ML.NET model zip: the version header, the guard that
/// turns decoding failures into a <see cref="FormatException"/>, and the bounds checks on counts read from the entry.
/// The pieces inside it are written by <see cref="SavedFields"/> (strings, floats, key values) and
/// <see cref="NetworkWeights"/> (TorchSharp module weights).
/// </summary>
/// <remarks>
/// Convention for components: <c>SaveModel</c> and <c>Create(IHostEnvironment, ModelLoadContext)</c> each carry a
/// <c>*** Binary format ***</c> comment listing the fields in write order, using the names below:
/// <code>
/// // *** Binary format ***
/// // int: id of the feature column name        (ctx.SaveNonEmptyString / ctx.LoadNonEmptyString)
/// // int: features per step                    (ctx.Writer.Write(int) / ctx.Reader.ReadInt32())
/// // strings: vocabulary                       (WriteStrings / ReadStrings: int count, then one string id each)
/// // floats: class weights                     (WriteSingles / ReadSingles: int count, then the values)
/// // key values: label names                   (WriteKeyValues / ReadKeyValues: byte present, then ML.NET codec)
/// // binary stream "Network": module weights   (SaveModule / LoadModule: TorchSharp state dictionary)
/// </code>
/// Format versions follow ML.NET's <see cref="VersionInfo"/>: bump <c>verWrittenCur</c> for every change, keep
/// the history as commented constants, and raise <c>verReadableCur</c> only when older readers cannot read it.
/// <see cref="BeginLoad"/> rejects a model written in a newer format with a message naming the component and
/// telling the user to update the package (ML.NET's own message blames the ML.NET version).
/// <para>
/// Untrusted files (docs/reliability.md): every count read here is checked against the bytes left in the entry before
/// anything is allocated; <see cref="NetworkWeights.CheckNetworkFits"/> bounds a network's size by its weights entry before the
/// module is built; <see cref="NetworkWeights.LoadModule{T}(byte[], uint, string, T, string)"/> walks the weights entry (names, types, shapes, byte counts) against the
/// module before TorchSharp reads it; <see cref="Guard{T}"/> turns every decoding failure into a
/// <see cref="FormatException"/> naming the component. Nothing in a model file is executed: the weights are
/// TorchSharp's raw tensor format (name, type code, shape, little-endian values), not pickle, and no
/// BinaryFormatter is involved.
/// </para>
/// </remarks>
internal static class ModelPersistence
{
    /// <summary>
    /// Creates the <see cref="VersionInfo"/> of a component whose loader lives in <paramref name="loaderAssembly"/>.
    /// </summary>
    /// <param name="modelSignature">Exactly 8 ASCII characters identifying the component's format.</param>
    /// <param name="verWrittenCur">Version this code writes, e.g. 0x00010001.</param>
    /// <param name="verReadableCur">Oldest reader version able to read what this code writes.</param>
    /// <param name="verWeCanReadBack">Oldest written version this code can still read.</param>
    /// <param name="loaderSignature">Short name under which the loader is registered (LoadableClass).</param>
    /// <param name="loaderAssembly">Assembly holding the LoadableClass attribute; ML.NET loads it by name.</param>
    public static VersionInfo CreateVersionInfo(string modelSignature, uint verWrittenCur, uint verReadableCur,
        uint verWeCanReadBack, string loaderSignature, Assembly loaderAssembly)
    {
        if (modelSignature is null || modelSignature.Length != 8 || modelSignature.Any(c => c > 127))
            throw new ArgumentException($"The model signature must be exactly 8 ASCII characters, got '{modelSignature}'.", nameof(modelSignature));
        ArgumentException.ThrowIfNullOrEmpty(loaderSignature);
        ArgumentNullException.ThrowIfNull(loaderAssembly);
        return new VersionInfo(modelSignature, verWrittenCur, verReadableCur, verWeCanReadBack,
            loaderAssemblyName: loaderAssembly.FullName, loaderSignature: loaderSignature, loaderSignatureAlt: null);
    }

    /// <summary>Positions <paramref name="ctx"/> for writing a component's model and records its version.</summary>
    public static void BeginSave(ModelSaveContext ctx, VersionInfo version)
    {
        ArgumentNullException.ThrowIfNull(ctx);
        ctx.CheckAtModel();
        ctx.SetVersionInfo(version);
    }

    /// <summary>
    /// Checks that <paramref name="ctx"/> holds a model of this component in a format this code can read; throws
    /// <see cref="FormatException"/> naming <paramref name="componentName"/> when it was written in a newer format.
    /// </summary>
    public static void BeginLoad(ModelLoadContext ctx, VersionInfo version, string componentName)
    {
        ArgumentNullException.ThrowIfNull(ctx);
        uint readable = ctx.Header.ModelVerReadable;
        if (ctx.Header.ModelSignature == version.ModelSignature && readable > version.VerWrittenCur)
        {
            throw new FormatException(
                $"{componentName}: cannot load this model: it was saved in format version 0x{readable:X8} by a newer " +
                $"Microsoft.ML.Rnn, and this version ({typeof(ModelPersistence).Assembly.GetName().Version}) reads " +
                $"format versions up to 0x{version.VerWrittenCur:X8}. Update the Microsoft.ML.Rnn package to load it.");
        }
        ctx.CheckAtModel(version);
    }

    /// <summary>
    /// Runs a component's loader body, turning the exceptions a corrupt file can cause while decoding (end of stream,
    /// bad UTF-8, out-of-range values, TorchSharp's shape and name checks) into a <see cref="FormatException"/>
    /// naming <paramref name="componentName"/>. FormatExceptions pass through unchanged.
    /// </summary>
    public static T Guard<T>(string componentName, Func<T> load)
    {
        ArgumentNullException.ThrowIfNull(load);
        try
        {
            return load();
        }
        catch (Exception e) when (e is IOException or ArgumentException or OverflowException or InvalidCastException
                                      or IndexOutOfRangeException or KeyNotFoundException or NotImplementedException
                                      or InvalidOperationException or System.Text.DecoderFallbackException)
        {
            throw new FormatException($"{componentName}: the model file is corrupt or not a {componentName} model: {e.Message}", e);
        }
    }

    /// <summary>Bytes left in the main model stream of <paramref name="ctx"/>, or null when the stream cannot tell.</summary>
    public static long? Remaining(ModelLoadContext ctx)
    {
        ArgumentNullException.ThrowIfNull(ctx);
        var stream = ctx.Reader.BaseStream;
        return stream.CanSeek ? stream.Length - stream.Position : null;
    }

    /// <summary>Throws <see cref="FormatException"/> when <paramref name="count"/> items of <paramref name="itemBytes"/> bytes cannot fit in what is left of the entry.</summary>
    public static void CheckCount(ModelLoadContext ctx, long count, int itemBytes, string what)
    {
        if (count < 0)
            throw new FormatException($"Corrupt model: negative {what} count {count}.");
        if (Remaining(ctx) is long left && count * itemBytes > left)
            throw new FormatException($"Corrupt model: {count} {what} values claimed, but only {left} bytes are left in the model entry.");
    }
}
