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
/// <para>
/// Untrusted files (docs/reliability.md): every count read here is checked against the bytes left in the entry before
/// anything is allocated; <see cref="CheckNetworkFits"/> bounds a network's size by its weights entry before the
/// module is built; <see cref="LoadModule{T}(byte[], uint, string, T, string)"/> walks the weights entry (names, types, shapes, byte counts) against the
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
    private static void CheckCount(ModelLoadContext ctx, long count, int itemBytes, string what)
    {
        if (count < 0)
            throw new FormatException($"Corrupt model: negative {what} count {count}.");
        if (Remaining(ctx) is long left && count * itemBytes > left)
            throw new FormatException($"Corrupt model: {count} {what} values claimed, but only {left} bytes are left in the model entry.");
    }

    /// <summary>
    /// Before a network is built from header values: throws <see cref="FormatException"/> naming
    /// <paramref name="componentName"/> when its weights entry <paramref name="streamName"/> is missing or shorter than
    /// <paramref name="minimumParameters"/> float32 values, so a corrupt header (e.g. a hidden size of 2^31) fails
    /// instead of allocating the network it claims.
    /// </summary>
    public static void CheckNetworkFits(ModelLoadContext ctx, string streamName, double minimumParameters, string componentName)
    {
        ArgumentNullException.ThrowIfNull(ctx);
        long length = -1;
        bool found = ctx.TryLoadBinaryStream(streamName, reader => length = reader.BaseStream.CanSeek ? reader.BaseStream.Length : long.MaxValue);
        if (!found)
            throw MissingWeights(streamName, componentName);
        if (minimumParameters * sizeof(float) > length)
        {
            throw new FormatException($"{componentName}: the network described by the model needs at least {minimumParameters:G6} weights, " +
                $"but its weights entry '{streamName}' holds {length} bytes; the file is corrupt.");
        }
    }

    private static FormatException MissingWeights(string streamName, string componentName)
        => new($"{componentName}: the model has no '{streamName}' entry with the network weights; the file is incomplete or not a {componentName} model.");

    /// <summary>Writes the weights (parameters and buffers) of <paramref name="module"/> as binary stream <paramref name="streamName"/>.</summary>
    public static void SaveModule(ModelSaveContext ctx, string streamName, torch.nn.Module module)
    {
        ArgumentNullException.ThrowIfNull(ctx);
        ArgumentNullException.ThrowIfNull(module);
        // The BinaryWriter overload: Module.save(Stream) would close the zip entry's stream under ML.NET's feet.
        ctx.SaveBinaryStream(streamName, writer => module.save(writer));
    }

    /// <summary>The bytes of weights stream <paramref name="streamName"/> (read once; the network is built from them later or now).</summary>
    public static byte[] ReadWeights(ModelLoadContext ctx, string streamName, string componentName)
    {
        ArgumentNullException.ThrowIfNull(ctx);
        byte[]? weights = null;
        ctx.TryLoadBinaryStream(streamName, reader =>
        {
            using var copy = new MemoryStream();
            reader.BaseStream.CopyTo(copy);
            weights = copy.ToArray();
        });
        return weights ?? throw MissingWeights(streamName, componentName);
    }

    /// <summary>
    /// Reads weights saved by <see cref="SaveModule"/> into <paramref name="module"/>, a module just built for them
    /// with the same structure (names and shapes), and returns it; when loading fails the module is disposed.
    /// </summary>
    public static T LoadModule<T>(ModelLoadContext ctx, string streamName, T module, string componentName) where T : torch.nn.Module
    {
        ArgumentNullException.ThrowIfNull(ctx);
        return DisposedOnFailure(module, () =>
        {
            // Straight from the zip entry: a managed copy of the weights would be garbage of the network's size per load.
            if (!ctx.TryLoadBinaryStream(streamName, reader => LoadWeights(reader, ctx.Header.ModelVerWritten, streamName, module, componentName)))
                throw MissingWeights(streamName, componentName);
        });
    }

    /// <summary>
    /// Reads <paramref name="weights"/> (a weights stream written by <see cref="SaveModule"/> in a zip of format
    /// <paramref name="versionWritten"/>) into <paramref name="module"/>, a module just built for them with the same
    /// structure (names and shapes), and returns it; when loading fails the module is disposed (its native memory
    /// freed) before the exception propagates.
    /// </summary>
    public static T LoadModule<T>(byte[] weights, uint versionWritten, string streamName, T module, string componentName) where T : torch.nn.Module
    {
        ArgumentNullException.ThrowIfNull(weights);
        return DisposedOnFailure(module,
            () => LoadWeights(new BinaryReader(new MemoryStream(weights, writable: false)), versionWritten, streamName, module, componentName));
    }

    /// <summary>Runs <paramref name="load"/> and returns <paramref name="module"/>; when loading fails the module's native memory is freed first.</summary>
    private static T DisposedOnFailure<T>(T module, Action load) where T : torch.nn.Module
    {
        ArgumentNullException.ThrowIfNull(module);
        try
        {
            load();
            return module;
        }
        catch
        {
            module.Dispose();
            throw;
        }
    }

    private static void LoadWeights(BinaryReader reader, uint versionWritten, string streamName, torch.nn.Module module, string componentName)
    {
        try
        {
            if (versionWritten < UniformWeightNamesVersion)
            {
                // Checked while copied with the current names, and loaded from the copy.
                using var renamed = new MemoryStream();
                using (var writer = new BinaryWriter(renamed, System.Text.Encoding.UTF8, leaveOpen: true))
                    CheckStateDictionary(reader, module, writer);
                renamed.Position = 0;
                module.load(new BinaryReader(renamed), strict: true);
                return;
            }
            var stream = reader.BaseStream;
            if (stream.CanSeek)
            {
                long start = stream.Position;
                CheckStateDictionary(reader, module);
                stream.Position = start;
            }
            module.load(reader, strict: true);
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or IOException or OverflowException
                                      or NotImplementedException or FormatException)
        {
            throw new FormatException($"{componentName}: the network weights in the model ('{streamName}') do not " +
                                      $"match the network described by the model: {e.Message}", e);
        }
    }

    /// <summary>
    /// First format version (of every component) in which a fused built-in cell's weights are named as its step
    /// path names them ("….weight_ih"); earlier zips named them after libtorch's module ("….fused.weight_ih_l0").
    /// </summary>
    public const uint UniformWeightNamesVersion = 0x00010003;

    private static readonly System.Text.RegularExpressions.Regex LegacyFusedName =
        new(@"(^|\.)fused\.(weight_ih|weight_hh|bias_ih|bias_hh)_l0$", System.Text.RegularExpressions.RegexOptions.CultureInvariant);

    /// <summary>
    /// Walks a weights stream written by <c>Module.save</c> (7-bit encoded entry count; per entry: name string, 7-bit
    /// encoded type code, rank and dimensions, then the values) and checks every field against
    /// <paramref name="module"/>'s state dictionary without allocating anything the stream claims, so TorchSharp's
    /// <c>Module.load</c> (which allocates a shape array of the claimed rank) only ever sees a well-formed stream.
    /// With <paramref name="renamed"/>, an older zip's stream is also copied there with its fused cells' weights
    /// renamed from libtorch's names ("….fused.weight_ih_l0") to the current ones ("….weight_ih").
    /// </summary>
    private static void CheckStateDictionary(BinaryReader reader, torch.nn.Module module, BinaryWriter? renamed = null)
    {
        var stream = reader.BaseStream;
        var expected = module.state_dict();
        long entries = reader.Read7BitEncodedInt64();
        if (entries != expected.Count)
            throw new FormatException($"the weights hold {entries} tensors, the network has {expected.Count}.");
        renamed?.Write7BitEncodedInt64(entries);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (long i = 0; i < entries; i++)
        {
            string name = reader.ReadString();
            if (renamed is not null)
                name = LegacyFusedName.Replace(name, "$1$2");
            if (!expected.TryGetValue(name, out var tensor) || !seen.Add(name))
                throw new FormatException($"unexpected or repeated tensor '{name}' in the weights.");
            long type = reader.Read7BitEncodedInt64();
            if (type != (long)tensor.dtype)
                throw new FormatException($"tensor '{name}' has type code {type}, expected {(int)tensor.dtype} ({tensor.dtype}).");
            long rank = reader.Read7BitEncodedInt64();
            if (rank != tensor.shape.Length)
                throw new FormatException($"tensor '{name}' has rank {rank}, expected {tensor.shape.Length}.");
            renamed?.Write(name);
            renamed?.Write7BitEncodedInt64(type);
            renamed?.Write7BitEncodedInt64(rank);
            for (int d = 0; d < rank; d++)
            {
                long size = reader.Read7BitEncodedInt64();
                if (size != tensor.shape[d])
                    throw new FormatException($"tensor '{name}' has size {size} in dimension {d}, expected {tensor.shape[d]}.");
                renamed?.Write7BitEncodedInt64(size);
            }
            long bytes = tensor.numel() * tensor.ElementSize;
            if (renamed is null)
            {
                if (stream.Length - stream.Position < bytes)
                    throw new FormatException($"tensor '{name}' needs {bytes} bytes, only {stream.Length - stream.Position} are left.");
                stream.Seek(bytes, SeekOrigin.Current);
                continue;
            }
            var buffer = new byte[(int)Math.Min(bytes, 1 << 16)];
            for (long left = bytes; left > 0;)
            {
                int read = reader.Read(buffer, 0, (int)Math.Min(buffer.Length, left));
                if (read == 0)
                    throw new FormatException($"tensor '{name}' needs {bytes} bytes, {left} of them are missing.");
                renamed.Write(buffer, 0, read);
                left -= read;
            }
        }
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
        CheckCount(ctx, count, sizeof(int), "string");
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
        CheckCount(ctx, count, sizeof(float), "float");
        var values = new float[count];
        for (int i = 0; i < count; i++)
            values[i] = ctx.Reader.ReadSingle();
        return values;
    }

    /// <summary>
    /// Writes optional key values (e.g. a label column's <c>KeyValues</c> annotation): byte 0 when
    /// <paramref name="keyValues"/> is null; byte 2 and a string array (<see cref="WriteStrings"/>) for text (since
    /// format 0x00010002); otherwise byte 1 and the type and value in ML.NET's binary codec.
    /// </summary>
    public static void WriteKeyValues(ModelSaveContext ctx, IHostEnvironment env, KeyValueAnnotation? keyValues)
    {
        ArgumentNullException.ThrowIfNull(ctx);
        ArgumentNullException.ThrowIfNull(env);
        if (keyValues is null)
        {
            ctx.Writer.Write((byte)0);
            return;
        }
        if (keyValues.Type.ItemType is TextDataViewType)
        {
            // Text as our own string array (bounded reading), not ML.NET's text codec, which sizes its character
            // buffer from a count in the file (a flipped byte asked for 4.5 GB in the fuzz test).
            ctx.Writer.Write((byte)2);
            WriteStrings(ctx, keyValues.ToStrings());
            return;
        }
        ctx.Writer.Write((byte)1);
        var saver = new BinarySaver(env, new BinarySaver.Arguments());
        if (!keyValues.TryWrite(saver, ctx.Writer.BaseStream))
            throw new InvalidOperationException($"Cannot save key values of type {keyValues.Type}: ML.NET has no codec for it.");
    }

    /// <summary>
    /// Reads the number of networks a classifier or tagger header ends with from <paramref name="ensembleVersion"/> on:
    /// 1 to <see cref="RnnOptionsValidation.MaxEnsembleSize"/>, or 0 for a model written before ensembles (one network
    /// whose weights are named as a single network's); null when the saved count is out of range.
    /// </summary>
    public static int? ReadNetworkCount(ModelLoadContext ctx, uint ensembleVersion)
    {
        if (ctx.Header.ModelVerWritten < ensembleVersion)
            return 0;
        int networks = ctx.Reader.ReadInt32();
        return networks is >= 1 and <= RnnOptionsValidation.MaxEnsembleSize ? networks : null;
    }

    /// <summary>
    /// Reads key values written by <see cref="WriteKeyValues"/>; null when none were saved. With
    /// <paramref name="expectedCount"/>, the saved vector must have exactly that many values (checked, like every
    /// size ML.NET's codec would allocate from, before the codec reads the value).
    /// </summary>
    public static KeyValueAnnotation? ReadKeyValues(ModelLoadContext ctx, IHostEnvironment env, int? expectedCount = null)
    {
        ArgumentNullException.ThrowIfNull(ctx);
        ArgumentNullException.ThrowIfNull(env);
        byte present = ctx.Reader.ReadByte();
        if (present == 0)
            return null;
        if (present == 2)
        {
            var strings = ReadStrings(ctx);
            if (expectedCount is int expected && strings.Length != expected)
                throw new FormatException($"Corrupt model: {strings.Length} key value names, expected {expected}.");
            return KeyValueAnnotation.FromStrings(strings.Select(v => v ?? "").ToArray());
        }
        if (present != 1)
            throw new FormatException($"Corrupt model: key values marker {present}.");
        var stream = ctx.Reader.BaseStream;
        if (stream.CanSeek)
        {
            long start = stream.Position;
            long left = stream.Length - start;
            var codec = CodecCheck.Read(ctx.Reader, left);
            if (codec.ItemCodec == "TextSpan" && ctx.Header.ModelVerWritten >= FeatureEncoding.MaxStepsVersion)
                throw new FormatException("Corrupt model: text key values in ML.NET's codec, which this format version never writes.");
            if (codec.Name != "VBuffer" || (expectedCount is int n && (codec.Dimensions.Length != 1 || codec.Dimensions[0] != n)))
                throw new FormatException($"Corrupt model: key values of codec '{codec.Name}' and dimensions [{string.Join(", ", codec.Dimensions)}], expected {expectedCount?.ToString() ?? "a vector"}.");
            CodecCheck.CheckValue(ctx.Reader, codec, stream.Length - stream.Position);
            stream.Position = start;
        }
        var saver = new BinarySaver(env, new BinarySaver.Arguments());
        // EndCheckedStream: ML.NET's codecs loop forever on a stream that ends before a (corrupt) count is satisfied.
        if (!saver.TryLoadTypeAndValue(new EndCheckedStream(ctx.Reader.BaseStream), out DataViewType type, out object value)
            || type is not VectorDataViewType vectorType)
            throw new FormatException("Corrupt model: cannot decode the saved key values.");
        return new KeyValueAnnotation(vectorType, value);
    }
}
