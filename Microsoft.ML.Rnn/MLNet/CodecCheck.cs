namespace Microsoft.ML.Rnn.MLNet;

/// <summary>
/// Checks an ML.NET codec definition (as written by its binary saver: name string, 7-bit encoded parameter length,
/// parameters; a vector codec's parameters are its item codec then an int array of dimensions) before ML.NET reads it:
/// ML.NET sizes arrays from these counts before reading them, so a corrupt count allocates gigabytes.
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
    /// Reads the definition at the reader's position, which must fit in <paramref name="available"/> bytes; returns the
    /// dimensions of a vector codec (empty for other codecs) and leaves the reader after the definition. Throws
    /// <see cref="FormatException"/> (or <see cref="EndOfStreamException"/>) when it does not fit.
    /// </summary>
    public static int[] Check(BinaryReader reader, long available, int depth = 0) => Check(reader, available, out _, depth);

    /// <summary>As <see cref="Check(BinaryReader, long, int)"/>, also giving the innermost item codec's name (e.g. "TextSpan").</summary>
    public static int[] Check(BinaryReader reader, long available, out string itemCodec, int depth = 0)
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
        int[] dimensions = Array.Empty<int>();
        itemCodec = name;
        if (name is "Key" or "Key2")
            Check(reader, length, out itemCodec, depth + 1);
        if (name == "VBuffer")
        {
            Check(reader, length, out itemCodec, depth + 1);
            long left = parametersStart + length - reader.BaseStream.Position;
            int count = reader.ReadInt32();
            if (count < 0 || (long)count * sizeof(int) > left - sizeof(int))
                throw new FormatException($"Corrupt model: a vector codec claims {count} dimensions in {left} bytes.");
            dimensions = new int[count];
            for (int i = 0; i < count; i++)
                dimensions[i] = reader.ReadInt32();
        }
        reader.BaseStream.Position = parametersStart + length;
        return dimensions;
    }
}
