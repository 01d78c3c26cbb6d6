using System.Reflection;
using Microsoft.ML.Data;
using Microsoft.ML.Data.IO;
using Microsoft.ML.Runtime;
using TorchSharp;

namespace Microsoft.ML.Rnn.MLNet;

/// <summary>
/// Saving and loading the pieces every Microsoft.ML.Rnn component puts into an ML.NET model zip: the version header,
/// TorchSharp module weights, strings, float arrays and key-value annotations (vocabularies, label names).
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

    /// <summary>Writes the weights (parameters and buffers) of <paramref name="module"/> as binary stream <paramref name="streamName"/>.</summary>
    public static void SaveModule(ModelSaveContext ctx, string streamName, torch.nn.Module module)
    {
        ArgumentNullException.ThrowIfNull(ctx);
        ArgumentNullException.ThrowIfNull(module);
        // The BinaryWriter overload: Module.save(Stream) would close the zip entry's stream under ML.NET's feet.
        ctx.SaveBinaryStream(streamName, writer => module.save(writer));
    }

    /// <summary>
    /// Reads weights saved by <see cref="SaveModule"/> into <paramref name="module"/>, which must have the same
    /// structure (names and shapes) as the saved one.
    /// </summary>
    public static void LoadModule(ModelLoadContext ctx, string streamName, torch.nn.Module module, string componentName)
    {
        ArgumentNullException.ThrowIfNull(ctx);
        ArgumentNullException.ThrowIfNull(module);
        bool found;
        try
        {
            found = ctx.TryLoadBinaryStream(streamName, reader => module.load(reader, strict: true));
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or EndOfStreamException)
        {
            throw new FormatException($"{componentName}: the network weights in the model ('{streamName}') do not " +
                                      $"match the network described by the model: {e.Message}", e);
        }
        if (!found)
            throw new FormatException($"{componentName}: the model has no '{streamName}' entry with the network weights; the file is incomplete or not a {componentName} model.");
    }

    /// <summary>Writes a string array: int count, then one string-table id per string (null allowed).</summary>
    public static void WriteStrings(ModelSaveContext ctx, IReadOnlyList<string?> values)
    {
        ArgumentNullException.ThrowIfNull(ctx);
        ArgumentNullException.ThrowIfNull(values);
        ctx.Writer.Write(values.Count);
        foreach (var value in values)
            ctx.SaveStringOrNull(value);
    }

    /// <summary>Reads a string array written by <see cref="WriteStrings"/>.</summary>
    public static string?[] ReadStrings(ModelLoadContext ctx)
    {
        ArgumentNullException.ThrowIfNull(ctx);
        int count = ctx.Reader.ReadInt32();
        if (count < 0)
            throw new FormatException($"Corrupt model: negative string count {count}.");
        var values = new string?[count];
        for (int i = 0; i < count; i++)
            values[i] = ctx.LoadStringOrNull();
        return values;
    }

    /// <summary>Writes a float array: int count, then the values.</summary>
    public static void WriteSingles(ModelSaveContext ctx, ReadOnlySpan<float> values)
    {
        ArgumentNullException.ThrowIfNull(ctx);
        ctx.Writer.Write(values.Length);
        foreach (float value in values)
            ctx.Writer.Write(value);
    }

    /// <summary>Reads a float array written by <see cref="WriteSingles"/>.</summary>
    public static float[] ReadSingles(ModelLoadContext ctx)
    {
        ArgumentNullException.ThrowIfNull(ctx);
        int count = ctx.Reader.ReadInt32();
        if (count < 0)
            throw new FormatException($"Corrupt model: negative float count {count}.");
        var values = new float[count];
        for (int i = 0; i < count; i++)
            values[i] = ctx.Reader.ReadSingle();
        return values;
    }

    /// <summary>
    /// Writes optional key values (e.g. a label column's <c>KeyValues</c> annotation): byte 1 and the type and
    /// value in ML.NET's binary codec, or byte 0 when <paramref name="keyValues"/> is null.
    /// </summary>
    public static void WriteKeyValues(ModelSaveContext ctx, IHostEnvironment env, KeyValueAnnotation? keyValues)
    {
        ArgumentNullException.ThrowIfNull(ctx);
        ArgumentNullException.ThrowIfNull(env);
        ctx.Writer.Write((byte)(keyValues is null ? 0 : 1));
        if (keyValues is null)
            return;
        var saver = new BinarySaver(env, new BinarySaver.Arguments());
        if (!keyValues.TryWrite(saver, ctx.Writer.BaseStream))
            throw new InvalidOperationException($"Cannot save key values of type {keyValues.Type}: ML.NET has no codec for it.");
    }

    /// <summary>Reads key values written by <see cref="WriteKeyValues"/>; null when none were saved.</summary>
    public static KeyValueAnnotation? ReadKeyValues(ModelLoadContext ctx, IHostEnvironment env)
    {
        ArgumentNullException.ThrowIfNull(ctx);
        ArgumentNullException.ThrowIfNull(env);
        byte present = ctx.Reader.ReadByte();
        if (present == 0)
            return null;
        if (present != 1)
            throw new FormatException($"Corrupt model: key values marker {present}.");
        var saver = new BinarySaver(env, new BinarySaver.Arguments());
        if (!saver.TryLoadTypeAndValue(ctx.Reader.BaseStream, out DataViewType type, out object value)
            || type is not VectorDataViewType vectorType)
            throw new FormatException("Corrupt model: cannot decode the saved key values.");
        return new KeyValueAnnotation(vectorType, value);
    }
}
