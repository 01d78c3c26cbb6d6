namespace Microsoft.ML.Rnn.Onnx;

/// <summary>
/// The body of a <c>Scan</c> node: its own inputs, nodes and outputs, inside the graph being written
/// (<paramref name="outer"/>). Value names come from the outer graph, so they are unique in both scopes (ONNX forbids
/// a body to shadow an outer name); constants are the outer graph's initializers, which the body reads from the outer
/// scope as ONNX allows. Nodes are of the default ONNX domain only: another domain would have to be imported by the
/// outer model, which ML.NET's converter decides.
/// </summary>
internal sealed class OnnxSubgraphBuilder(IOnnxGraphTarget outer) : IOnnxGraphTarget
{
    private readonly List<ProtobufWriter> _nodes = [];
    private readonly List<ProtobufWriter> _inputs = [];
    private readonly List<ProtobufWriter> _outputs = [];

    /// <summary>Declares the next body input: a tensor of <paramref name="elementType"/> of any shape.</summary>
    public string Input(string hint, Type elementType)
    {
        string name = outer.NewValue(hint);
        _inputs.Add(OnnxProto.ValueInfo(name, elementType, dims: null));
        return name;
    }

    /// <summary>Declares the next body output: <paramref name="value"/> under a name of its own (a value may be output twice).</summary>
    public void Output(string value, string hint, Type elementType)
    {
        string name = outer.NewValue(hint);
        Node("Identity", [value], [name], hint, "");
        _outputs.Add(OnnxProto.ValueInfo(name, elementType, dims: null));
    }

    /// <summary>The body as written.</summary>
    public OnnxSubgraph ToGraph(string name) => new(OnnxProto.Graph(name, _nodes, [], _inputs, _outputs).ToArray());

    public string NewValue(string hint) => outer.NewValue(hint);

    public IOnnxNode Node(string op, IEnumerable<string> inputs, IEnumerable<string> outputs, string nameHint, string? domain)
    {
        if (domain != "")
            throw new InvalidOperationException($"ONNX graph: the body of a Scan holds operators of the default domain only; '{op}' is of '{domain ?? OnnxProto.MLDomain}'.");
        var node = OnnxProto.Node(op, inputs, outputs, outer.NewValue(nameHint), "");
        _nodes.Add(node);
        return new OnnxProto.NodeAttributes(node);
    }

    public string Initializer(float[] values, long[] dims, string hint) => outer.Initializer(values, dims, hint);

    public string Initializer(long[] values, long[] dims, string hint) => outer.Initializer(values, dims, hint);

    public string Initializer(float value, string hint) => outer.Initializer(value, hint);

    public string Initializer(long value, string hint) => outer.Initializer(value, hint);

    public void RequireOpset(int version, string component) => outer.RequireOpset(version, component);
}
