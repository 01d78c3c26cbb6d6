namespace Microsoft.ML.Rnn.Onnx;

/// <summary>
/// The component's own ONNX graph (<see cref="ComponentOnnxModel"/>) in its model zip: the optional binary stream
/// "OnnxGraph", which versions itself (an int, then the graph's length and bytes). A zip without it (every zip saved
/// before) or with a version this release does not know scores as before: the graph is built from the network.
/// Readers of earlier releases ignore the stream.
/// </summary>
internal static class OnnxGraphStream
{
    private const string StreamName = "OnnxGraph";
    private const int CurrentVersion = 1;

    /// <summary>Writes <paramref name="graph"/>.</summary>
    public static void Write(ModelSaveContext ctx, byte[] graph) => ctx.SaveBinaryStream(StreamName, writer =>
    {
        writer.Write(CurrentVersion);
        writer.Write(graph.Length);
        writer.Write(graph);
    });

    /// <summary>The graph, or null when the zip has none this release reads; a truncated stream fails naming the component.</summary>
    public static byte[]? Read(ModelLoadContext ctx, string componentName)
    {
        byte[]? graph = null;
        ctx.TryLoadBinaryStream(StreamName, reader =>
        {
            if (reader.ReadInt32() != CurrentVersion)
                return;
            int length = reader.ReadInt32();
            if (length <= 0 || (reader.BaseStream.CanSeek && length > reader.BaseStream.Length - reader.BaseStream.Position))
                throw new FormatException($"{componentName}: the model's ONNX graph entry is corrupt (it claims {length} bytes).");
            graph = reader.ReadBytes(length);
            if (graph.Length != length)
                throw new FormatException($"{componentName}: the model's ONNX graph entry is truncated.");
        });
        return graph;
    }
}
