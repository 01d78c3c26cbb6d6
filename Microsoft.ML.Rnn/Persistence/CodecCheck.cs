namespace Microsoft.ML.Rnn.Persistence;

/// <summary>An ML.NET codec definition as read by <see cref="CodecCheck.Read"/>.</summary>
/// <param name="Name">The codec's name, e.g. "VBuffer", "TextSpan", "Single".</param>
/// <param name="ItemCodec">The innermost item codec's name (the codec itself when it has none).</param>
/// <param name="Dimensions">A vector codec's dimensions (0 = unknown); empty for other codecs.</param>
internal sealed record CodecDefinition(string Name, string ItemCodec, int[] Dimensions);

/// <summary>
/// Checks ML.NET codec definitions and values (as written by its binary saver) before ML.NET reads them: ML.NET sizes
/// arrays from the counts they hold before reading what the counts describe, so one corrupt count allocates gigabytes.
/// Every count is bounded here by the bytes that would have to hold it.
/// </summary>
internal static class CodecCheck
{
    /// <summary>
    /// Codec names ML.NET writes (its vector, key and text codecs and the primitive types'). A model saved by ML.NET
    /// never holds another; ML.NET itself would treat a column with an unknown codec as unreadable and go on.
    /// </summary>
    private static readonly HashSet<string> KnownCodecs = new(StringComparer.Ordinal)
    {
        "VBuffer", "Key", "Key2", "TextSpan", "Boolean", "SByte", "Byte", "Int16", "UInt16", "Int32", "UInt32", "Int64",
        "UInt64", "Single", "Double", "TimeSpan", "DateTime", "DateTimeOffset", "DateTimeZone", "DataViewRowId", "RowId", "UInt128",
    };

    /// <summary>
    /// Reads the definition at the reader's position (name string, 7-bit encoded parameter length, parameters; a vector
    /// codec's parameters are its item codec then an int array of dimensions), which must fit in
    /// <paramref name="available"/> bytes, and leaves the reader after it. Throws <see cref="FormatException"/> (or
    /// <see cref="EndOfStreamException"/>) when it does not fit or names an unknown codec.
    /// </summary>
    public static CodecDefinition Read(BinaryReader reader, long available, int depth = 0)
    {
        ArgumentNullException.ThrowIfNull(reader);
        if (depth > 8)
            throw new FormatException("Corrupt model: codec definitions nest too deeply.");
        long start = reader.BaseStream.Position;
        string name = reader.ReadString();
        long length = reader.Read7BitEncodedInt64();
        long parametersStart = reader.BaseStream.Position;
        if (length < 0 || parametersStart - start + length > available)
            throw new FormatException($"Corrupt model: codec '{name}' claims {length} parameter bytes, more than the entry holds.");
        if (!KnownCodecs.Contains(name))
            throw new FormatException($"Corrupt model: unknown codec '{name}'.");
        var definition = new CodecDefinition(name, name, Array.Empty<int>());
        if (name is "Key" or "Key2")
            definition = definition with { ItemCodec = Read(reader, length, depth + 1).ItemCodec };
        if (name == "VBuffer")
        {
            string itemCodec = Read(reader, length, depth + 1).ItemCodec;
            long left = parametersStart + length - reader.BaseStream.Position;
            int count = reader.ReadInt32();
            if (count < 0 || (long)count * sizeof(int) > left - sizeof(int))
                throw new FormatException($"Corrupt model: a vector codec claims {count} dimensions in {left} bytes.");
            var dimensions = new int[count];
            for (int i = 0; i < count; i++)
                dimensions[i] = reader.ReadInt32();
            definition = new CodecDefinition(name, itemCodec, dimensions);
        }
        reader.BaseStream.Position = parametersStart + length;
        return definition;
    }

    /// <summary>
    /// Walks one value of <paramref name="codec"/> at the reader's position exactly as ML.NET's reader for one item
    /// would (vector: vector count, size, length, sparse count, indices; text: entry count, end offsets, string), checking
    /// that every count fits in the <paramref name="available"/> bytes. The stream must be seekable; the reader ends
    /// somewhere inside the value.
    /// </summary>
    public static void CheckValue(BinaryReader reader, CodecDefinition codec, long available)
    {
        ArgumentNullException.ThrowIfNull(reader);
        ArgumentNullException.ThrowIfNull(codec);
        long end = reader.BaseStream.Position + available;
        long items = codec.Name == "VBuffer" ? CheckVectorHeader(reader, codec.Dimensions, end) : 1;
        long left = end - reader.BaseStream.Position;
        if (codec.ItemCodec == "TextSpan")
        {
            int entries = reader.ReadInt32();
            if (entries != items || (long)entries * sizeof(int) > left - sizeof(int))
                throw new FormatException($"Corrupt model: a text value claims {entries} strings ({items} expected) in {left} bytes.");
            Skip(reader, (long)entries * sizeof(int));
            long textBytes = reader.Read7BitEncodedInt64();
            if (textBytes < 0 || textBytes > end - reader.BaseStream.Position)
                throw new FormatException($"Corrupt model: a text value claims {textBytes} bytes of text, more than the entry holds.");
        }
        else if (codec.ItemCodec == "Boolean" ? (items + 7) / 8 > left : items * ItemBytes(codec.ItemCodec) > left)
            throw new FormatException($"Corrupt model: a value claims {items} items of codec '{codec.ItemCodec}' in {left} bytes.");
    }

    /// <summary>Reads a one-vector VBuffer block's header and returns how many item values follow it.</summary>
    private static long CheckVectorHeader(BinaryReader reader, int[] dimensions, long end)
    {
        int vectors = reader.ReadInt32();
        int size = reader.ReadInt32();
        long knownSize = dimensions.Length > 0 && dimensions.All(d => d > 0) ? dimensions.Aggregate(1L, (p, d) => p * d) : 0;
        if (vectors != 1 || (knownSize > 0 ? size != knownSize : size < 0))
            throw new FormatException($"Corrupt model: a vector value claims {vectors} vectors of size {size} (1 of size {(knownSize > 0 ? knownSize : "any")} expected).");
        // Size 0 means vectors of varying length: the length follows.
        int length = size > 0 ? size : reader.ReadInt32();
        int count = reader.ReadInt32();
        int indices = reader.ReadInt32();
        if (length < 0 || indices < 0 || (long)indices * sizeof(int) > end - reader.BaseStream.Position
            || (count != -1 && (count < 0 || count >= length || count > indices)))
            throw new FormatException($"Corrupt model: a vector value claims length {length}, {count} stored values and {indices} indices.");
        Skip(reader, (long)indices * sizeof(int));
        // Dense (-1): every slot is stored.
        return count == -1 ? length : count;
    }

    /// <summary>The fewest bytes ML.NET's codec writes per item (1 when unsure, which only loosens the bound).</summary>
    private static int ItemBytes(string codec) => codec switch
    {
        "Int16" or "UInt16" => 2,
        "Int32" or "UInt32" or "Single" => 4,
        "Int64" or "UInt64" or "Double" or "TimeSpan" or "DateTime" => 8,
        "DataViewRowId" or "RowId" or "UInt128" => 16,
        _ => 1,
    };

    private static void Skip(BinaryReader reader, long bytes) => reader.BaseStream.Seek(bytes, SeekOrigin.Current);
}
