using Microsoft.ML.Model.OnnxConverter;
using static TorchSharp.torch;

namespace Microsoft.ML.Rnn.MLNet.Onnx;

/// <summary>
/// Adds nodes and weights to the ONNX graph ML.NET's converter is writing (<see cref="OnnxContext"/>), naming every
/// intermediate value after the component so that two components in one pipeline do not collide.
/// </summary>
/// <remarks>
/// Only operators of ONNX opset 9 to 12 with one meaning across them are written (ML.NET's converter writes opset 12 at
/// most): axes go through <c>Reshape</c> rather than <c>Squeeze</c>/<c>Unsqueeze</c>, whose form changed in opset 13.
/// </remarks>
internal sealed class OnnxGraphWriter(OnnxContext context, string prefix)
{
    /// <summary>ML.NET's context.</summary>
    public OnnxContext Context { get; } = context;

    /// <summary>A new value named after <paramref name="hint"/>.</summary>
    public string NewValue(string hint) => Context.AddIntermediateVariable(null, prefix + "." + hint, skip: true);

    /// <summary>Adds <paramref name="op"/> reading <paramref name="inputs"/> ("" for an omitted optional input) and writing <paramref name="outputs"/>.</summary>
    public OnnxNode Node(string op, IEnumerable<string> inputs, IEnumerable<string> outputs)
        => Context.CreateNode(op, inputs, outputs, Context.GetNodeName(prefix + "." + op), "");

    /// <summary>Adds <paramref name="op"/> with one new output named after <paramref name="hint"/>; <paramref name="attributes"/> sets the node's attributes.</summary>
    public string Apply(string op, string hint, Action<OnnxNode>? attributes, params string[] inputs)
    {
        string output = NewValue(hint);
        var node = Node(op, inputs, [output]);
        attributes?.Invoke(node);
        return output;
    }

    /// <summary>Adds <paramref name="op"/> with one new output named after <paramref name="hint"/>.</summary>
    public string Apply(string op, string hint, params string[] inputs) => Apply(op, hint, null, inputs);

    /// <summary>A float32 weight with the shape and values of <paramref name="values"/> (any float dtype, any device).</summary>
    public string Weight(Tensor values, string hint)
    {
        using var cpu = values.detach().to(ScalarType.Float32, CPU).contiguous();
        return Context.AddInitializer(cpu.data<float>().ToArray(), cpu.shape, prefix + "." + hint);
    }

    /// <summary>An int64 constant vector.</summary>
    public string Longs(long[] values, string hint) => Context.AddInitializer(values, [values.Length], prefix + "." + hint);

    /// <summary>An int64 scalar constant.</summary>
    public string Long(long value, string hint) => Context.AddInitializer(value, prefix + "." + hint);

    /// <summary><paramref name="input"/> reshaped to <paramref name="shape"/> (0 copies a dimension, -1 infers one).</summary>
    public string Reshape(string input, long[] shape, string hint) => Apply("Reshape", hint, input, Longs(shape, hint + ".shape"));

    /// <summary><paramref name="input"/> with its axes permuted.</summary>
    public string Transpose(string input, long[] permutation, string hint)
        => Apply("Transpose", hint, node => node.AddAttribute("perm", permutation), input);
}
