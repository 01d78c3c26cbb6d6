using System.IO.Compression;

namespace Microsoft.ML.Rnn.Persistence;

/// <summary>
/// Checks a model zip's saved input schema (the "Schema" entry, an ML.NET binary data view with no rows) before ML.NET
/// decodes it. ML.NET's loader reads every column's codec and decodes every annotation (e.g. a key column's KeyValues)
/// in its constructor, sizing arrays from counts in the file: a flipped byte there asked for 3 GB (codec dimensions)
/// and 1.5 GB (a count inside a compressed annotation block) in the fuzz test. This walks the same structures and
/// bounds every count by the bytes that hold it.
/// </summary>
internal static class SchemaEntryCheck
{
    private const int HeaderSize = 256;

    /// <summary>Deflate expands at most about 1,032 times; a larger claim is corrupt.</summary>
    private const long MaxDeflateRatio = 1032;

    /// <summary>
    /// Walks the header (table offset at byte 24, tail offset at 32, column count at 48), the column table (per column:
    /// name, codec, compression byte, rows per block, lookup offset, annotation table offset) and every column's
    /// annotation table (count, then per annotation: kind, codec, compression byte, block offset, block size) and
    /// block. Throws <see cref="FormatException"/> or <see cref="EndOfStreamException"/> on the first bad value.
    /// </summary>
    public static void Check(byte[] content)
    {
        ArgumentNullException.ThrowIfNull(content);
        if (content.Length < HeaderSize)
            throw new FormatException("The saved input schema is shorter than its header.");
        var stream = new MemoryStream(content, writable: false);
        var reader = new BinaryReader(new EndCheckedStream(stream));
        stream.Position = 24;
        long table = reader.ReadInt64();
        long tail = reader.ReadInt64();
        stream.Position = 48;
        int columns = reader.ReadInt32();
        // A column entry takes at least 20 bytes (two one-byte strings, a codec length, compression, block size, two offsets).
        if (tail < HeaderSize || tail > content.Length || columns < 0 || (long)columns * 20 > content.Length
            || (columns > 0 && (table < HeaderSize || table >= content.Length)))
            throw new FormatException($"The saved input schema claims {columns} columns at offset {table} (tail {tail}) in {content.Length} bytes.");
        var annotationTables = new List<long>();
        stream.Position = table;
        for (int c = 0; c < columns; c++)
        {
            reader.ReadString();
            CodecCheck.Read(reader, content.Length - stream.Position);
            reader.ReadByte();
            reader.Read7BitEncodedInt64();
            reader.ReadInt64();
            long annotations = reader.ReadInt64();
            if (annotations != 0)
                annotationTables.Add(annotations);
        }
        // Legitimate blocks do not overlap, so together they never expand beyond this.
        long budget = MaxDeflateRatio * content.Length;
        foreach (long offset in annotationTables)
            CheckAnnotationTable(content, reader, offset, tail, ref budget);
    }

    private static void CheckAnnotationTable(byte[] content, BinaryReader reader, long offset, long tail, ref long budget)
    {
        if (offset < HeaderSize || offset >= tail)
            throw new FormatException($"The saved input schema has an annotation table at offset {offset}, outside its {tail} bytes.");
        var stream = reader.BaseStream;
        stream.Position = offset;
        long count = reader.Read7BitEncodedInt64();
        // An annotation entry takes at least 13 bytes (kind, codec, compression, offset, size).
        if (count <= 0 || count * 13 > tail - offset)
            throw new FormatException($"The saved input schema claims {count} annotations at offset {offset}.");
        for (long i = 0; i < count; i++)
        {
            string kind = reader.ReadString();
            var codec = CodecCheck.Read(reader, tail - stream.Position);
            byte compression = reader.ReadByte();
            long blockOffset = reader.ReadInt64();
            long blockSize = reader.Read7BitEncodedInt64();
            if (blockOffset < HeaderSize || blockSize <= 0 || blockOffset > tail - blockSize)
                throw new FormatException($"The saved input schema's annotation '{kind}' claims {blockSize} bytes at offset {blockOffset}, outside its {tail} bytes.");
            // ML.NET skips (does not decode) annotations of a compression it does not know.
            if (compression > 1)
                continue;
            long next = stream.Position;
            try
            {
                using var value = new BinaryReader(new EndCheckedStream(Decompress(content, blockOffset, blockSize, compression == 1, ref budget)));
                CodecCheck.CheckValue(value, codec, value.BaseStream.Length);
            }
            catch (Exception e) when (e is FormatException or EndOfStreamException)
            {
                throw new FormatException($"The saved input schema's annotation '{kind}' is corrupt: {e.Message}", e);
            }
            stream.Position = next;
        }
    }

    private static MemoryStream Decompress(byte[] content, long offset, long size, bool deflate, ref long budget)
    {
        var raw = new MemoryStream(content, (int)offset, (int)size, writable: false);
        if (!deflate)
            return raw;
        long limit = Math.Min(budget, MaxDeflateRatio * size);
        var output = new MemoryStream();
        try
        {
            using var inflater = new DeflateStream(raw, CompressionMode.Decompress);
            var buffer = new byte[16384];
            int read;
            while ((read = inflater.Read(buffer, 0, buffer.Length)) > 0)
            {
                if (output.Length + read > limit)
                    throw new FormatException($"it expands beyond {limit} bytes.");
                output.Write(buffer, 0, read);
            }
        }
        catch (InvalidDataException e)
        {
            throw new FormatException($"it is not valid compressed data ({e.Message})", e);
        }
        budget -= output.Length;
        output.Position = 0;
        return output;
    }
}
