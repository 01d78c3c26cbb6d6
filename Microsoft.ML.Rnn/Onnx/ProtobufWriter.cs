using System.Text;

namespace Microsoft.ML.Rnn.Onnx;

/// <summary>
/// The few parts of the protocol buffer wire format an ONNX model needs: varints, length-delimited fields (strings,
/// bytes, nested messages, packed numbers) and 32-bit floats. Nested messages are written into their own writer and
/// added whole, so every length is known when it is written.
/// </summary>
internal sealed class ProtobufWriter
{
    private readonly MemoryStream _bytes = new();

    /// <summary>The message written so far.</summary>
    public byte[] ToArray() => _bytes.ToArray();

    /// <summary>A varint field (wire type 0): int32, int64, enum, bool.</summary>
    public ProtobufWriter Varint(int field, long value)
    {
        Tag(field, 0);
        Raw((ulong)value);
        return this;
    }

    /// <summary>A 32-bit float field (wire type 5).</summary>
    public ProtobufWriter Float(int field, float value)
    {
        Tag(field, 5);
        Span<byte> buffer = stackalloc byte[4];
        BitConverter.TryWriteBytes(buffer, value);
        if (!BitConverter.IsLittleEndian) buffer.Reverse();
        _bytes.Write(buffer);
        return this;
    }

    /// <summary>A length-delimited field (wire type 2) holding <paramref name="value"/>.</summary>
    public ProtobufWriter Bytes(int field, ReadOnlySpan<byte> value)
    {
        Tag(field, 2);
        Raw((ulong)value.Length);
        _bytes.Write(value);
        return this;
    }

    /// <summary>A UTF-8 string field.</summary>
    public ProtobufWriter String(int field, string value) => Bytes(field, Encoding.UTF8.GetBytes(value));

    /// <summary>A nested message field.</summary>
    public ProtobufWriter Message(int field, ProtobufWriter message) => Bytes(field, message._bytes.GetBuffer().AsSpan(0, (int)message._bytes.Length));

    /// <summary>Packed repeated int64 values (a length-delimited run of varints).</summary>
    public ProtobufWriter PackedVarints(int field, IEnumerable<long> values)
    {
        var packed = new ProtobufWriter();
        foreach (long value in values) packed.Raw((ulong)value);
        return Message(field, packed);
    }

    private void Tag(int field, int wireType) => Raw((ulong)((field << 3) | wireType));

    private void Raw(ulong value)
    {
        while (value >= 0x80)
        {
            _bytes.WriteByte((byte)(value | 0x80));
            value >>= 7;
        }
        _bytes.WriteByte((byte)value);
    }
}
