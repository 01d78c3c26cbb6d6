namespace Microsoft.ML.Rnn.Onnx;

/// <summary>
/// A component's own ONNX model, written without ML.NET's converter: inputs and outputs named by the component, the
/// nodes and weights <see cref="OnnxGraphWriter"/> writes, serialised as an ONNX <c>ModelProto</c> (IR version 7,
/// opset 12 — the opset ML.NET's converter writes, so both graphs use the same operator forms).
/// </summary>
internal sealed class OnnxModelBuilder : IOnnxGraphTarget
{
    private const int Opset = 12;

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
        _inputs.Add(OnnxProto.ValueInfo(name, elementType, dims));
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
        _outputs.Add(OnnxProto.ValueInfo(name, elementType, dims));
    }

    /// <summary>The serialised model.</summary>
    public byte[] ToBytes(string graphName)
    {
        var model = new ProtobufWriter().Varint(1, 7).String(2, "Microsoft.ML.Rnn");
        model.Message(8, new ProtobufWriter().String(1, "").Varint(2, Opset));
        foreach (string domain in _domains)
            model.Message(8, new ProtobufWriter().String(1, domain).Varint(2, domain == OnnxProto.MLDomain ? 2 : 1));
        return model.Message(7, OnnxProto.Graph(graphName, _nodes, _initializers, _inputs, _outputs)).ToArray();
    }

    public string NewValue(string hint) => Unique(_names, hint);

    public IOnnxNode Node(string op, IEnumerable<string> inputs, IEnumerable<string> outputs, string nameHint, string? domain)
    {
        string resolved = domain ?? OnnxProto.MLDomain;
        if (resolved.Length > 0) _domains.Add(resolved);
        var node = OnnxProto.Node(op, inputs, outputs, Unique(_nodeNames, nameHint), resolved);
        _nodes.Add(node);
        return new OnnxProto.NodeAttributes(node);
    }

    public string Initializer(float[] values, long[] dims, string hint) => Add(OnnxProto.Tensor, values, dims, hint);

    public string Initializer(long[] values, long[] dims, string hint) => Add(OnnxProto.Tensor, values, dims, hint);

    public string Initializer(float value, string hint) => Initializer([value], [], hint);

    public string Initializer(long value, string hint) => Initializer([value], [], hint);

    public void RequireOpset(int version, string component)
    {
        if (version > Opset)
            throw new NotSupportedException($"{component}: needs ONNX opset {version}; the component's own graph is written in opset {Opset}.");
    }

    private string Add<T>(Func<string, T[], long[], ProtobufWriter> tensor, T[] values, long[] dims, string hint)
    {
        string name = Unique(_names, hint);
        _initializers.Add(tensor(name, values, dims));
        return name;
    }

    private static string Unique(HashSet<string> taken, string hint)
    {
        string name = hint;
        for (int i = 1; !taken.Add(name); i++)
            name = $"{hint}_{i}";
        return name;
    }
}
