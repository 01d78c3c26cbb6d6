using System.Text;
using Microsoft.ML.Rnn.Persistence;
using Xunit;

namespace Microsoft.ML.Rnn.Tests.MLNet;

/// <summary>
/// <see cref="CodecCheck"/> on values laid out as ML.NET's binary codecs write them (VBuffer: vector count, size,
/// [length when the size is 0], stored count (-1 dense), index count, indices, items; text: string count, end offsets,
/// the UTF-8 text). Well-formed values pass; every count that would make ML.NET allocate more than the bytes hold fails.
/// The fixtures' saved schemas (VersionToleranceTests) and the fuzz test run the same check on files ML.NET wrote.
/// </summary>
public sealed class CodecCheckTests
{
    private static readonly CodecDefinition TextVector3 = new("VBuffer", "TextSpan", [3]);
    private static readonly CodecDefinition FloatVectorAnySize = new("VBuffer", "Single", [0]);

    private static byte[] Bytes(Action<BinaryWriter> write)
    {
        var stream = new MemoryStream();
        using (var writer = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true))
            write(writer);
        return stream.ToArray();
    }

    private static void Ints(BinaryWriter w, params int[] values)
    {
        foreach (int v in values)
            w.Write(v);
    }

    /// <summary>["ab", "", "cde"] as a dense text vector of size 3, with its header fields overridable.</summary>
    private static byte[] TextVector(int vectors = 1, int size = 3, int count = -1, int indices = 0, int strings = 3, long textBytes = 5)
        => Bytes(w =>
        {
            Ints(w, vectors, size, count, indices);
            Ints(w, strings, 2, 2, 5);
            w.Write7BitEncodedInt64(textBytes);
            w.Write(Encoding.UTF8.GetBytes("abcde"));
        });

    private static void Check(CodecDefinition codec, byte[] value)
        => CodecCheck.CheckValue(new BinaryReader(new MemoryStream(value)), codec, value.Length);

    [Fact]
    public void WellFormedValuesPass()
    {
        Check(TextVector3, TextVector());
        // Sparse, varying size: length 10, 2 stored values at indices 1 and 7.
        Check(FloatVectorAnySize, Bytes(w => { Ints(w, 1, 0, 10, 2, 2, 1, 7); w.Write(0.5f); w.Write(-1f); }));
        // Dense booleans: 10 values in 2 bytes of bits.
        Check(new CodecDefinition("VBuffer", "Boolean", [10]), Bytes(w => { Ints(w, 1, 10, -1, 0); w.Write((short)0x2a5); }));
        // A single text value.
        Check(new CodecDefinition("TextSpan", "TextSpan", []), Bytes(w => { Ints(w, 1, 3); w.Write("abc"); }));
    }

    [Theory]
    [InlineData(2, 3, -1, 0, 3, 5L, "2 vectors")]
    [InlineData(1, 4, -1, 0, 3, 5L, "size 4")]
    [InlineData(1, 3, -1, int.MaxValue, 3, 5L, "2147483647 indices")]
    [InlineData(1, 3, 3, 3, 3, 5L, "3 stored values")]
    [InlineData(1, 3, -1, 0, int.MaxValue, 5L, "2147483647 strings")]
    [InlineData(1, 3, -1, 0, 3, 1L << 31, "2147483648 bytes of text")]
    public void AbsurdCountsFail(int vectors, int size, int count, int indices, int strings, long textBytes, string expected)
    {
        var error = Assert.Throws<FormatException>(() => Check(TextVector3, TextVector(vectors, size, count, indices, strings, textBytes)));
        Assert.Contains(expected, error.Message);
    }

    [Fact]
    public void ADenseVectorLongerThanItsBytesFails()
    {
        // Varying size, claimed length 2^31 - 1, dense: ML.NET would allocate 8 GB of floats.
        var error = Assert.Throws<FormatException>(() => Check(FloatVectorAnySize, Bytes(w => { Ints(w, 1, 0, int.MaxValue, -1, 0); w.Write(1f); })));
        Assert.Contains("2147483647 items of codec 'Single'", error.Message);
    }

    [Fact]
    public void DefinitionsAreReadWithTheirItemCodecAndDimensions()
    {
        // VBuffer(Key2(UInt32)) of dimensions [7], as ML.NET writes a key vector column.
        byte[] uint32 = Bytes(w => { w.Write("UInt32"); w.Write7BitEncodedInt64(0); });
        byte[] key = Bytes(w => { w.Write("Key2"); w.Write7BitEncodedInt64(uint32.Length + 8); w.Write(uint32); w.Write(9UL); });
        byte[] vector = Bytes(w => { w.Write("VBuffer"); w.Write7BitEncodedInt64(key.Length + 8); w.Write(key); Ints(w, 1, 7); });
        var reader = new BinaryReader(new MemoryStream(vector));
        var codec = CodecCheck.Read(reader, vector.Length);
        Assert.Equal(("VBuffer", "UInt32"), (codec.Name, codec.ItemCodec));
        Assert.Equal([7], codec.Dimensions);
        Assert.Equal(vector.Length, reader.BaseStream.Position);
        Assert.Throws<FormatException>(() => CodecCheck.Read(new BinaryReader(new MemoryStream(vector)), vector.Length - 1));
    }
}
