using TorchSharp;

namespace Microsoft.ML.Rnn.Persistence;

/// <summary>
/// A network's weights in a component's zip entry: TorchSharp's state dictionary as a binary stream of its own,
/// checked (names, types, shapes, byte counts) against the network built from the header before TorchSharp reads it,
/// and renamed on the way in from zips older than <see cref="UniformWeightNamesVersion"/>.
/// </summary>
internal static class NetworkWeights
{
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
    /// <paramref name="version"/> is the weights block's version (<see cref="FormatBlocks"/>); null: the entry's format version.
    /// </summary>
    public static T LoadModule<T>(ModelLoadContext ctx, string streamName, T module, string componentName, uint? version = null) where T : torch.nn.Module
    {
        ArgumentNullException.ThrowIfNull(ctx);
        uint written = version ?? ctx.Header.ModelVerWritten;
        return DisposedOnFailure(module, () =>
        {
            // Straight from the zip entry: a managed copy of the weights would be garbage of the network's size per load.
            if (!ctx.TryLoadBinaryStream(streamName, reader => LoadWeights(reader, written, streamName, module, componentName)))
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
    /// First version of the weights block in which a fused built-in cell's weights are named as its step
    /// path names them ("….weight_ih"); earlier zips named them after libtorch's module ("….fused.weight_ih_l0").
    /// </summary>
    public const uint UniformWeightNamesVersion = 0x00010003;

    /// <summary>The version of the weights block written now (<see cref="FormatBlocks"/>; the components write it in their entry before the weights stream).</summary>
    public const uint BlockVersion = UniformWeightNamesVersion;

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
}
