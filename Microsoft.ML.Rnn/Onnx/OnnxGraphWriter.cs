using static TorchSharp.torch;

namespace Microsoft.ML.Rnn.Onnx;

/// <summary>
/// Adds nodes and weights to an ONNX graph — the one ML.NET's converter is writing, or a component's own
/// (<see cref="IOnnxGraphTarget"/>) — naming every intermediate value after the component so that two components in
/// one pipeline do not collide.
/// </summary>
/// <remarks>
/// Only operators of ONNX opset 9 to 12 with one meaning across them are written (ML.NET's converter writes opset 12 at
/// most): axes go through <c>Reshape</c> rather than <c>Squeeze</c>/<c>Unsqueeze</c>, whose form changed in opset 13.
/// </remarks>
internal sealed class OnnxGraphWriter(IOnnxGraphTarget target, string prefix)
{
    /// <summary>Where the graph is written.</summary>
    public IOnnxGraphTarget Target { get; } = target;

    /// <summary>A name for a value or weight: the component's, then <paramref name="hint"/>.</summary>
    public string Name(string hint) => prefix + "." + hint;

    /// <summary>A new value named after <paramref name="hint"/>.</summary>
    public string NewValue(string hint) => Target.NewValue(Name(hint));

    /// <summary>
    /// Adds <paramref name="op"/> of <paramref name="domain"/> (the default ONNX domain, or null for <c>ai.onnx.ml</c>)
    /// reading <paramref name="inputs"/> ("" for an omitted optional input) and writing <paramref name="outputs"/>.
    /// </summary>
    public IOnnxNode Node(string op, IEnumerable<string> inputs, IEnumerable<string> outputs, string? domain = "")
        => Target.Node(op, inputs, outputs, Name(op), domain);

    /// <summary>Adds <paramref name="op"/> with one new output named after <paramref name="hint"/>; <paramref name="attributes"/> sets the node's attributes.</summary>
    public string Apply(string op, string hint, Action<IOnnxNode>? attributes, params string[] inputs) => ApplyIn("", op, hint, attributes, inputs);

    /// <summary>As <see cref="Apply(string, string, Action{IOnnxNode}, string[])"/> for an operator of <paramref name="domain"/> (null: <c>ai.onnx.ml</c>).</summary>
    public string ApplyIn(string? domain, string op, string hint, Action<IOnnxNode>? attributes, params string[] inputs)
    {
        string output = NewValue(hint);
        var node = Node(op, inputs, [output], domain);
        attributes?.Invoke(node);
        return output;
    }

    /// <summary>Adds <paramref name="op"/> with one new output named after <paramref name="hint"/>.</summary>
    public string Apply(string op, string hint, params string[] inputs) => Apply(op, hint, null, inputs);

    /// <summary>A float32 weight with the shape and values of <paramref name="values"/> (any float dtype, any device).</summary>
    public string Weight(Tensor values, string hint)
    {
        using var cpu = values.detach().to(ScalarType.Float32, CPU).contiguous();
        return Weights(cpu.data<float>().ToArray(), cpu.shape, hint);
    }

    /// <summary>A float32 constant of shape <paramref name="dims"/>.</summary>
    public string Weights(float[] values, long[] dims, string hint) => Target.Initializer(values, dims, Name(hint));

    /// <summary>The parameter <paramref name="name"/> of <paramref name="module"/> as a weight.</summary>
    public string Parameter(nn.Module module, string name) => Weight(ParameterOf(module, name), name);

    /// <summary>The parameter <paramref name="name"/> of <paramref name="module"/>.</summary>
    public static Tensor ParameterOf(nn.Module module, string name)
    {
        foreach (var (parameterName, parameter) in module.named_parameters())
        {
            if (parameterName == name) return parameter;
        }
        throw new InvalidOperationException($"The network has no parameter '{name}'.");
    }

    /// <summary>An int64 constant vector.</summary>
    public string Longs(long[] values, string hint) => Target.Initializer(values, [values.Length], Name(hint));

    /// <summary>An int64 scalar constant.</summary>
    public string Long(long value, string hint) => Target.Initializer(value, Name(hint));

    /// <summary>A float32 scalar constant.</summary>
    public string Float(float value, string hint) => Target.Initializer(value, Name(hint));

    /// <summary>
    /// An ensemble's scores: the one member's <paramref name="logits"/> as they are, or the logarithm of the members' mean
    /// softmax over <paramref name="axis"/> (whose softmax is that mean and whose largest entry is the class it ranks first).
    /// </summary>
    public string LogMeanProbabilities(string[] logits, long axis)
    {
        if (logits.Length == 1) return logits[0];
        var probabilities = logits.Select(l => Apply("Softmax", "member_probabilities", n => n.AddAttribute("axis", axis), l)).ToArray();
        return Apply("Log", "log_mean_probabilities", Mean(probabilities, "mean_probabilities"));
    }

    /// <summary>The elementwise mean of <paramref name="values"/> (one value as it is): an ensemble's members averaged.</summary>
    public string Mean(string[] values, string hint)
        => values.Length == 1 ? values[0] : Apply("Div", hint, Apply("Sum", hint + "_sum", values), Float(values.Length, "members"));

    /// <summary><paramref name="op"/> (<c>ReduceMean</c>, <c>ReduceMax</c>, <c>ReduceSum</c>) of <paramref name="input"/> over <paramref name="axis"/>.</summary>
    public string Reduce(string op, string input, long axis, bool keepDimensions, string hint) => Apply(op, hint, node =>
    {
        node.AddAttribute("axes", new[] { axis });
        node.AddAttribute("keepdims", keepDimensions ? 1L : 0L);
    }, input);

    /// <summary><paramref name="input"/> reshaped to <paramref name="shape"/> (0 copies a dimension, -1 infers one).</summary>
    public string Reshape(string input, long[] shape, string hint) => Apply("Reshape", hint, input, Longs(shape, hint + ".shape"));

    /// <summary>
    /// A linear layer (weight (F, K), bias (F)) over the last axis of <paramref name="input"/> (..., K). The bias is
    /// added with <c>Sum</c>, not <c>Add</c>: ONNX Runtime fuses a <c>MatMul</c> followed by <c>Add</c> into a
    /// <c>Gemm</c> between reshapes sized from the graph's declared shapes, and ML.NET declares a token column
    /// (<c>TokenizeIntoWords</c>) as one token wide, which made those reshapes fail on real rows.
    /// </summary>
    public string Linear(string input, Tensor weight, Tensor bias, string hint)
    {
        using var transposed = weight.detach().t();
        return Apply("Sum", hint, Apply("MatMul", hint + ".product", input, Weight(transposed, hint + ".weight")), Weight(bias, hint + ".bias"));
    }

    /// <summary>Zeros (N, <paramref name="width"/>) for the batch of <paramref name="timeMajor"/> (L, N, ...): a Scan's initial state.</summary>
    public string BatchZeros(string timeMajor, long width, string hint)
    {
        string batch = Apply("Slice", hint + ".batch", Apply("Shape", hint + ".input_shape", timeMajor), Longs([1], hint + ".batch.start"), Longs([2], hint + ".batch.end"));
        return Apply("ConstantOfShape", hint, Apply("Concat", hint + ".shape", node => node.AddAttribute("axis", 0L), batch, Longs([width], hint + ".width")));
    }

    /// <summary><paramref name="input"/> with its axes permuted.</summary>
    public string Transpose(string input, long[] permutation, string hint)
        => Apply("Transpose", hint, node => node.AddAttribute("perm", permutation), input);
}
