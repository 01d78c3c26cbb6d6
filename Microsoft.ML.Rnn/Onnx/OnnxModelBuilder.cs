using System.Runtime.InteropServices;

namespace Microsoft.ML.Rnn.Onnx;

/// <summary>
/// A component's own ONNX model, written without ML.NET's converter: inputs and outputs named by the component, the
/// nodes and weights <see cref="OnnxGraphWriter"/> writes, serialised as an ONNX <c>ModelProto</c> (IR version 7,
/// opset 12 — the opset ML.NET's converter writes, so both graphs use the same operator forms).
/// </summary>
internal sealed class OnnxModelBuilder : IOnnxGraphTarget
{
    private const int Opset = 12;
    private const string MLDomain = "ai.onnx.ml";

    // onnx.proto field numbers and TensorProto.DataType values.
    private const int Float32 = 1, Int32Type = 6, Int64Type = 7, BoolType = 9, DoubleType = 11, UInt32Type = 12;

    private readonly List<ProtobufWriter> _nodes = [];
    private readonly List<ProtobufWriter> _initializers = [];
    private readonly List<ProtobufWriter> _inputs = [];
    private readonly List<ProtobufWriter> _outputs = [];
    private readonly HashSet<string> _names = new(StringComparer.Ordinal);
    private readonly HashSet<string> _nodeNames = new(StringComparer.Ordinal);
    private readonly HashSet<string> _domains = new(StringComparer.Ordinal);

    /// <summary>Declares a graph input of <paramref name="elementType"/> with dimensions named (symbolic) or numbered.</summary>
    public string Input(string name, Type elementType, params string[] dims)
    {
        if (!_names.Add(name)) throw new InvalidOperationException($"ONNX graph: the input name '{name}' is taken.");
        _inputs.Add(ValueInfo(name, elementType, dims));
        return name;
    }

    /// <summary>Declares <paramref name="value"/> a graph output named <paramref name="name"/>.</summary>
    public void Output(string value, string name, Type elementType, params string[] dims)
    {
        if (value != name)
        {
            if (!_names.Add(name)) throw new InvalidOperationException($"ONNX graph: the output name '{name}' is taken.");
            Node("Identity", [value], [name], name, "");
        }
        _outputs.Add(ValueInfo(name, elementType, dims));
    }

    /// <summary>The serialised model.</summary>
    public byte[] ToBytes(string graphName)
    {
        var graph = new ProtobufWriter();
        foreach (var node in _nodes) graph.Message(1, node);
        graph.String(2, graphName);
        foreach (var initializer in _initializers) graph.Message(5, initializer);
        foreach (var input in _inputs) graph.Message(11, input);
        foreach (var output in _outputs) graph.Message(12, output);

        var model = new ProtobufWriter().Varint(1, 7).String(2, "Microsoft.ML.Rnn");
        model.Message(8, new ProtobufWriter().String(1, "").Varint(2, Opset));
        foreach (string domain in _domains)
            model.Message(8, new ProtobufWriter().String(1, domain).Varint(2, domain == MLDomain ? 2 : 1));
        return model.Message(7, graph).ToArray();
    }

    public string NewValue(string hint) => Unique(_names, hint);

    public IOnnxNode Node(string op, IEnumerable<string> inputs, IEnumerable<string> outputs, string nameHint, string? domain)
    {
        var node = new ProtobufWriter();
        foreach (string input in inputs) node.String(1, input);
        foreach (string output in outputs) node.String(2, output);
        node.String(3, Unique(_nodeNames, nameHint)).String(4, op);
        string resolved = domain ?? MLDomain;
        if (resolved.Length > 0)
        {
            node.String(7, resolved);
            _domains.Add(resolved);
        }
        _nodes.Add(node);
        return new Attributes(node);
    }

    public string Initializer(float[] values, long[] dims, string hint) => Tensor(hint, Float32, dims, MemoryMarshal.AsBytes(values.AsSpan()));

    public string Initializer(long[] values, long[] dims, string hint) => Tensor(hint, Int64Type, dims, MemoryMarshal.AsBytes(values.AsSpan()));

    public string Initializer(float value, string hint) => Initializer([value], [], hint);

    public string Initializer(long value, string hint) => Initializer([value], [], hint);

    public void RequireOpset(int version, string component)
    {
        if (version > Opset)
            throw new NotSupportedException($"{component}: needs ONNX opset {version}; the component's own graph is written in opset {Opset}.");
    }

    private string Tensor(string hint, int dataType, long[] dims, ReadOnlySpan<byte> littleEndian)
    {
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("ONNX raw tensor data is little-endian.");
        string name = Unique(_names, hint);
        _initializers.Add(new ProtobufWriter().PackedVarints(1, dims).Varint(2, dataType).String(8, name).Bytes(9, littleEndian));
        return name;
    }

    private static ProtobufWriter ValueInfo(string name, Type elementType, string[] dims)
    {
        var shape = new ProtobufWriter();
        foreach (string dim in dims)
            shape.Message(1, long.TryParse(dim, out long size) ? new ProtobufWriter().Varint(1, size) : new ProtobufWriter().String(2, dim));
        var tensor = new ProtobufWriter().Varint(1, DataType(elementType)).Message(2, shape);
        return new ProtobufWriter().String(1, name).Message(2, new ProtobufWriter().Message(1, tensor));
    }

    private static int DataType(Type type) =>
        type == typeof(float) ? Float32 : type == typeof(long) ? Int64Type : type == typeof(int) ? Int32Type
        : type == typeof(uint) ? UInt32Type : type == typeof(bool) ? BoolType : type == typeof(double) ? DoubleType
        : throw new NotSupportedException($"ONNX graph: no tensor element type for {type}.");

    private static string Unique(HashSet<string> taken, string hint)
    {
        string name = hint;
        for (int i = 1; !taken.Add(name); i++)
            name = $"{hint}_{i}";
        return name;
    }

    /// <summary>AttributeProto fields: name 1, i 3, s 4, ints 8, strings 9, type 20 (INT 2, STRING 3, INTS 7, STRINGS 8).</summary>
    private sealed class Attributes(ProtobufWriter node) : IOnnxNode
    {
        public void AddAttribute(string name, long value) => Add(new ProtobufWriter().String(1, name).Varint(3, value).Varint(20, 2));

        public void AddAttribute(string name, bool value) => AddAttribute(name, value ? 1L : 0L);

        public void AddAttribute(string name, string value) => Add(new ProtobufWriter().String(1, name).String(4, value).Varint(20, 3));

        public void AddAttribute(string name, IEnumerable<long> values) => Add(new ProtobufWriter().String(1, name).PackedVarints(8, values).Varint(20, 7));

        public void AddAttribute(string name, IEnumerable<string> values)
        {
            var attribute = new ProtobufWriter().String(1, name);
            foreach (string value in values) attribute.String(9, value);
            Add(attribute.Varint(20, 8));
        }

        public void AddAttribute(string name, Type type) => AddAttribute(name, (long)DataType(type));

        private void Add(ProtobufWriter attribute) => node.Message(5, attribute);
    }
}
