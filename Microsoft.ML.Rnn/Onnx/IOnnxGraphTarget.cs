using Microsoft.ML.Model.OnnxConverter;

namespace Microsoft.ML.Rnn.Onnx;

/// <summary>
/// Where <see cref="OnnxGraphWriter"/> writes: the graph of a whole pipeline that ML.NET's converter is building
/// (<see cref="MLNetOnnxTarget"/>), or a component's own graph (<see cref="OnnxModelBuilder"/>, scored in-process by
/// ONNX Runtime). Names given here are hints; each call returns the name it used.
/// </summary>
internal interface IOnnxGraphTarget
{
    /// <summary>A new, unique value name starting with <paramref name="hint"/>.</summary>
    string NewValue(string hint);

    /// <summary>Adds a node of <paramref name="domain"/> ("" the default ONNX domain, null <c>ai.onnx.ml</c>, or a named one).</summary>
    IOnnxNode Node(string op, IEnumerable<string> inputs, IEnumerable<string> outputs, string nameHint, string? domain);

    /// <summary>A float32 tensor constant.</summary>
    string Initializer(float[] values, long[] dims, string hint);

    /// <summary>An int64 tensor constant.</summary>
    string Initializer(long[] values, long[] dims, string hint);

    /// <summary>A float32 scalar constant.</summary>
    string Initializer(float value, string hint);

    /// <summary>An int64 scalar constant.</summary>
    string Initializer(long value, string hint);

    /// <summary>Records that <paramref name="component"/> writes operators of opset <paramref name="version"/> or later.</summary>
    void RequireOpset(int version, string component);
}

/// <summary>A node's attributes, in the types the package's ONNX writers use.</summary>
internal interface IOnnxNode
{
    void AddAttribute(string name, long value);

    void AddAttribute(string name, bool value);

    void AddAttribute(string name, float value);

    void AddAttribute(string name, string value);

    void AddAttribute(string name, IEnumerable<long> values);

    void AddAttribute(string name, IEnumerable<string> values);

    /// <summary>A tensor element type (the <c>to</c> of <c>Cast</c>).</summary>
    void AddAttribute(string name, Type type);

    /// <summary>A graph: the body of a <c>Scan</c> or <c>Loop</c>.</summary>
    void AddAttribute(string name, OnnxSubgraph graph);
}

/// <summary>ML.NET's ONNX export context (<c>mlContext.Model.ConvertToOnnx</c>) as a target.</summary>
internal sealed class MLNetOnnxTarget(OnnxContext context) : IOnnxGraphTarget
{
    public string NewValue(string hint) => context.AddIntermediateVariable(null, hint, skip: true);

    public IOnnxNode Node(string op, IEnumerable<string> inputs, IEnumerable<string> outputs, string nameHint, string? domain)
        => new Attributes(context.CreateNode(op, inputs, outputs, context.GetNodeName(nameHint), domain));

    public string Initializer(float[] values, long[] dims, string hint) => context.AddInitializer(values, dims, hint);

    public string Initializer(long[] values, long[] dims, string hint) => context.AddInitializer(values, dims, hint);

    public string Initializer(float value, string hint) => context.AddInitializer(value, hint);

    public string Initializer(long value, string hint) => context.AddInitializer(value, hint);

    public void RequireOpset(int version, string component) => context.CheckOpSetVersion(version, component);

    private sealed class Attributes(OnnxNode node) : IOnnxNode
    {
        public void AddAttribute(string name, long value) => node.AddAttribute(name, value);

        public void AddAttribute(string name, bool value) => node.AddAttribute(name, value);

        public void AddAttribute(string name, float value) => node.AddAttribute(name, (double)value);   // written as ONNX's float

        public void AddAttribute(string name, string value) => node.AddAttribute(name, value);

        public void AddAttribute(string name, IEnumerable<long> values) => node.AddAttribute(name, values);

        public void AddAttribute(string name, IEnumerable<string> values) => node.AddAttribute(name, values);

        public void AddAttribute(string name, Type type) => node.AddAttribute(name, type);

        public void AddAttribute(string name, OnnxSubgraph graph) => ConverterGraphAttribute.Add(node, OnnxProto.GraphAttribute(name, graph));
    }
}
