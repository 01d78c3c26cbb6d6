using System.Runtime.InteropServices;

namespace Microsoft.ML.Rnn.Onnx;

/// <summary>
/// The ONNX protobuf messages the package writes itself (field numbers of onnx.proto): nodes and their attributes,
/// tensors, typed values and graphs — for a component's own model (<see cref="OnnxModelBuilder"/>) and for the
/// bodies of <c>Scan</c> nodes (<see cref="OnnxSubgraphBuilder"/>).
/// </summary>
internal static class OnnxProto
{
    /// <summary>The <c>ai.onnx.ml</c> domain (a null domain in <see cref="IOnnxGraphTarget.Node"/>).</summary>
    public const string MLDomain = "ai.onnx.ml";

    // TensorProto.DataType values.
    private const int Float32 = 1, Int32Type = 6, Int64Type = 7, BoolType = 9, DoubleType = 11, UInt32Type = 12;

    /// <summary>A NodeProto; attributes are added through <see cref="NodeAttributes"/>.</summary>
    public static ProtobufWriter Node(string op, IEnumerable<string> inputs, IEnumerable<string> outputs, string name, string domain)
    {
        var node = new ProtobufWriter();
        foreach (string input in inputs) node.String(1, input);
        foreach (string output in outputs) node.String(2, output);
        node.String(3, name).String(4, op);
        if (domain.Length > 0) node.String(7, domain);
        return node;
    }

    /// <summary>A float32 initializer.</summary>
    public static ProtobufWriter Tensor(string name, float[] values, long[] dims) => Tensor(name, Float32, dims, MemoryMarshal.AsBytes(values.AsSpan()));

    /// <summary>An int64 initializer.</summary>
    public static ProtobufWriter Tensor(string name, long[] values, long[] dims) => Tensor(name, Int64Type, dims, MemoryMarshal.AsBytes(values.AsSpan()));

    private static ProtobufWriter Tensor(string name, int dataType, long[] dims, ReadOnlySpan<byte> littleEndian)
    {
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("ONNX raw tensor data is little-endian.");
        return new ProtobufWriter().PackedVarints(1, dims).Varint(2, dataType).String(8, name).Bytes(9, littleEndian);
    }

    /// <summary>A ValueInfoProto of <paramref name="elementType"/> with dimensions named (symbolic) or numbered; no shape when <paramref name="dims"/> is null.</summary>
    public static ProtobufWriter ValueInfo(string name, Type elementType, string[]? dims)
    {
        var tensor = new ProtobufWriter().Varint(1, DataType(elementType));
        if (dims is not null)
        {
            var shape = new ProtobufWriter();
            foreach (string dim in dims)
                shape.Message(1, long.TryParse(dim, out long size) ? new ProtobufWriter().Varint(1, size) : new ProtobufWriter().String(2, dim));
            tensor.Message(2, shape);
        }
        return new ProtobufWriter().String(1, name).Message(2, new ProtobufWriter().Message(1, tensor));
    }

    /// <summary>A GraphProto.</summary>
    public static ProtobufWriter Graph(string name, IEnumerable<ProtobufWriter> nodes, IEnumerable<ProtobufWriter> initializers,
        IEnumerable<ProtobufWriter> inputs, IEnumerable<ProtobufWriter> outputs)
    {
        var graph = new ProtobufWriter();
        foreach (var node in nodes) graph.Message(1, node);
        graph.String(2, name);
        foreach (var initializer in initializers) graph.Message(5, initializer);
        foreach (var input in inputs) graph.Message(11, input);
        foreach (var output in outputs) graph.Message(12, output);
        return graph;
    }

    /// <summary>An AttributeProto holding a graph (type GRAPH, field g).</summary>
    public static ProtobufWriter GraphAttribute(string name, OnnxSubgraph graph)
        => new ProtobufWriter().String(1, name).Bytes(6, graph.GraphProto).Varint(20, 5);

    /// <summary>The TensorProto.DataType of <paramref name="type"/>.</summary>
    public static int DataType(Type type) =>
        type == typeof(float) ? Float32 : type == typeof(long) ? Int64Type : type == typeof(int) ? Int32Type
        : type == typeof(uint) ? UInt32Type : type == typeof(bool) ? BoolType : type == typeof(double) ? DoubleType
        : throw new NotSupportedException($"ONNX graph: no tensor element type for {type}.");

    /// <summary>
    /// A node's attributes written as AttributeProto fields: name 1, f 2, i 3, s 4, g 6, ints 8, strings 9, type 20
    /// (FLOAT 1, INT 2, STRING 3, GRAPH 5, INTS 7, STRINGS 8).
    /// </summary>
    public sealed class NodeAttributes(ProtobufWriter node) : IOnnxNode
    {
        public void AddAttribute(string name, long value) => Add(new ProtobufWriter().String(1, name).Varint(3, value).Varint(20, 2));

        public void AddAttribute(string name, bool value) => AddAttribute(name, value ? 1L : 0L);

        public void AddAttribute(string name, float value) => Add(new ProtobufWriter().String(1, name).Float(2, value).Varint(20, 1));

        public void AddAttribute(string name, string value) => Add(new ProtobufWriter().String(1, name).String(4, value).Varint(20, 3));

        public void AddAttribute(string name, IEnumerable<long> values) => Add(new ProtobufWriter().String(1, name).PackedVarints(8, values).Varint(20, 7));

        public void AddAttribute(string name, IEnumerable<string> values)
        {
            var attribute = new ProtobufWriter().String(1, name);
            foreach (string value in values) attribute.String(9, value);
            Add(attribute.Varint(20, 8));
        }

        public void AddAttribute(string name, Type type) => AddAttribute(name, (long)DataType(type));

        public void AddAttribute(string name, OnnxSubgraph graph) => Add(GraphAttribute(name, graph));

        private void Add(ProtobufWriter attribute) => node.Message(5, attribute);
    }
}

/// <summary>A serialised GraphProto: the body of a <c>Scan</c> or <c>Loop</c> node (<see cref="OnnxSubgraphBuilder"/>).</summary>
internal sealed record OnnxSubgraph(byte[] GraphProto);
