using System.IO.Compression;

namespace Microsoft.ML.Rnn.Tests.Reliability;

/// <summary>
/// Seeded corruptions of a model zip: raw byte flips and truncation of the file (mostly caught by the zip CRCs), and
/// edits of an entry's decompressed content re-zipped with valid CRCs (the hostile case: the zip is fine, its content
/// is not) — byte flips, absurd integers written over aligned fields, truncated or removed or swapped entries.
/// </summary>
internal static class ZipMutation
{
    private static readonly long[] Absurd = { 0, -1, 1, int.MaxValue, int.MinValue, 1L << 31, uint.MaxValue, long.MaxValue, long.MinValue, 1L << 40, 255, 65536 };

    /// <summary>Index of <paramref name="pattern"/> in <paramref name="data"/>, or -1.</summary>
    public static int IndexOf(byte[] data, byte[] pattern)
    {
        for (int i = 0; i + pattern.Length <= data.Length; i++)
        {
            if (data.AsSpan(i, pattern.Length).SequenceEqual(pattern))
                return i;
        }
        return -1;
    }

    /// <summary>
    /// Where the sequence classifier's model payload starts in a zip entry (the model header's FpModel, a long at offset
    /// 16): its first block, the feature column description, begins with that block's version. Null for any entry that
    /// is not the classifier's <c>Model.key</c>.
    /// </summary>
    public static int? ClassifierPayload(string name, byte[] content)
        => name.EndsWith("Model.key", StringComparison.Ordinal) && IndexOf(content, "RNNSQCLS"u8.ToArray()) >= 0
            ? checked((int)BitConverter.ToInt64(content, 16))
            : null;

    /// <summary>
    /// Rewrites the zip at <paramref name="path"/>, passing each entry's name and content to <paramref name="edit"/>
    /// (which edits the bytes in place and returns true when it did); returns the number of entries edited.
    /// </summary>
    public static int EditEntries(string path, Func<string, byte[], bool> edit)
    {
        var entries = Read(File.ReadAllBytes(path));
        int edited = entries.Count(e => edit(e.Name, e.Content));
        File.WriteAllBytes(path, Write(entries));
        return edited;
    }

    /// <summary>The entries (name, decompressed content) of a zip, in order.</summary>
    public static List<(string Name, byte[] Content)> Read(byte[] zip)
    {
        using var archive = new ZipArchive(new MemoryStream(zip), ZipArchiveMode.Read);
        return archive.Entries.Select(e =>
        {
            using var source = e.Open();
            var buffer = new MemoryStream();
            source.CopyTo(buffer);
            return (e.FullName, buffer.ToArray());
        }).ToList();
    }

    /// <summary>A zip holding <paramref name="entries"/>.</summary>
    public static byte[] Write(IEnumerable<(string Name, byte[] Content)> entries)
    {
        var output = new MemoryStream();
        using (var archive = new ZipArchive(output, ZipArchiveMode.Create, leaveOpen: true))
        {
            foreach (var (name, content) in entries)
            {
                using var target = archive.CreateEntry(name, CompressionLevel.Fastest).Open();
                target.Write(content);
            }
        }
        return output.ToArray();
    }

    /// <summary>One seeded corruption of <paramref name="zip"/> and a description of it (for failure messages).</summary>
    public static (byte[] Zip, string What) Mutate(byte[] zip, Random random)
    {
        int kind = random.Next(8);
        if (kind == 0)
        {
            var bytes = (byte[])zip.Clone();
            int flips = random.Next(1, 9);
            for (int i = 0; i < flips; i++)
                bytes[random.Next(bytes.Length)] ^= (byte)random.Next(1, 256);
            return (bytes, $"{flips} raw byte flip(s)");
        }
        if (kind == 1)
        {
            int length = random.Next(zip.Length);
            return (zip[..length], $"file truncated to {length} of {zip.Length} bytes");
        }

        var entries = Read(zip);
        int target = random.Next(entries.Count);
        var (name, content) = entries[target];
        switch (kind)
        {
            case 2 or 3:
            {
                var bytes = (byte[])content.Clone();
                int flips = random.Next(1, 5);
                for (int i = 0; i < flips && bytes.Length > 0; i++)
                    bytes[random.Next(bytes.Length)] ^= (byte)random.Next(1, 256);
                entries[target] = (name, bytes);
                return (Write(entries), $"{flips} byte flip(s) in entry '{name}'");
            }
            case 4 or 5:
            {
                var bytes = (byte[])content.Clone();
                long value = Absurd[random.Next(Absurd.Length)];
                int width = random.Next(2) == 0 ? 4 : 8;
                if (bytes.Length < width) return (Write(entries), $"entry '{name}' too short to overwrite");
                int at = random.Next(bytes.Length - width + 1) & ~3;
                (width == 4 ? BitConverter.GetBytes((int)value) : BitConverter.GetBytes(value)).CopyTo(bytes, at);
                entries[target] = (name, bytes);
                return (Write(entries), $"{width}-byte value {value} written at offset {at} of entry '{name}'");
            }
            case 6:
            {
                int length = content.Length == 0 ? 0 : random.Next(content.Length);
                entries[target] = (name, content[..length]);
                return (Write(entries), $"entry '{name}' truncated to {length} of {content.Length} bytes");
            }
            default:
            {
                if (random.Next(2) == 0 || entries.Count < 2)
                {
                    entries.RemoveAt(target);
                    return (Write(entries), $"entry '{name}' removed");
                }
                int other = (target + 1 + random.Next(entries.Count - 1)) % entries.Count;
                var otherContent = entries[other].Content;
                entries[other] = (entries[other].Name, content);
                entries[target] = (name, otherContent);
                return (Write(entries), $"contents of entries '{name}' and '{entries[other].Name}' swapped");
            }
        }
    }
}
