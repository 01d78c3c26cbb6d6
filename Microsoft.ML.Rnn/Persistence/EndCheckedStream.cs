namespace Microsoft.ML.Rnn.Persistence;

/// <summary>
/// A read-only view of a seekable stream whose reads throw <see cref="EndOfStreamException"/> instead of returning 0
/// at the end. Some of ML.NET's bulk readers (arrays above a size threshold, reached from a corrupt count) loop until
/// they have read every byte asked for, and so spin forever on a stream that ends early; given this stream they fail.
/// </summary>
internal sealed class EndCheckedStream(Stream inner) : Stream
{
    public override bool CanRead => true;
    public override bool CanSeek => inner.CanSeek;
    public override bool CanWrite => false;
    public override long Length => inner.Length;

    public override long Position
    {
        get => inner.Position;
        set => inner.Position = value;
    }

    public override int Read(byte[] buffer, int offset, int count) => Checked(inner.Read(buffer, offset, count), count);

    public override int Read(Span<byte> buffer) => Checked(inner.Read(buffer), buffer.Length);

    public override int ReadByte() => inner.ReadByte();

    private static int Checked(int read, int requested)
        => read == 0 && requested > 0 ? throw new EndOfStreamException("Read past the end of the model entry: the file is corrupt.") : read;

    public override long Seek(long offset, SeekOrigin origin) => inner.Seek(offset, origin);
    public override void Flush() { }
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
