using static TorchSharp.torch;

namespace Microsoft.ML.Rnn.Core;

/// <summary>
/// Writes the ONNX nodes of one step of a cell (<see cref="IOnnxStepCell"/>): any ONNX operator of opset 12 through
/// <see cref="Apply(string, string[])"/>, the cell's weights through <see cref="Weight"/>, and the few compositions
/// recurrent cells share (a linear map, gate blocks, clipping, layer normalisation).
/// </summary>
/// <remarks>
/// Attribute values may be <see cref="long"/>, <see cref="int"/>, <see cref="float"/>, <see cref="double"/>,
/// <see cref="string"/>, or arrays of <see cref="long"/> or <see cref="string"/>. The step runs inside a <c>Scan</c>
/// body (what <see cref="IOnnxStepCell.WriteOnnxPrepare"/> writes, around it): an operator whose form changed after
/// opset 12 (<c>Squeeze</c>, <c>Split</c>'s sizes input, ...) must be used in its opset-12 form.
/// </remarks>
public sealed class OnnxStep
{
    private readonly IOnnxStepNodes _nodes;

    internal OnnxStep(IOnnxStepNodes nodes) => _nodes = nodes;

    /// <summary>Adds <paramref name="op"/> reading <paramref name="inputs"/>; returns its one output.</summary>
    public string Apply(string op, params string[] inputs) => Apply(op, inputs, []);

    /// <summary>Adds <paramref name="op"/> with <paramref name="attributes"/> (name, value); returns its one output.</summary>
    public string Apply(string op, string[] inputs, params (string Name, object Value)[] attributes) => Apply(op, inputs, 1, attributes)[0];

    /// <summary>Adds <paramref name="op"/> with <paramref name="outputs"/> outputs (e.g. <c>Split</c>); returns them.</summary>
    public string[] Apply(string op, string[] inputs, int outputs, params (string Name, object Value)[] attributes)
    {
        ArgumentException.ThrowIfNullOrEmpty(op);
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentOutOfRangeException.ThrowIfLessThan(outputs, 1);
        return _nodes.Node(op, inputs, outputs, attributes);
    }

    /// <summary>A float32 constant holding <paramref name="values"/> (a trained weight; any float dtype and device).</summary>
    public string Weight(Tensor values, string name)
    {
        ArgumentNullException.ThrowIfNull(values);
        using var cpu = values.detach().to(ScalarType.Float32, CPU).contiguous();
        return _nodes.Constant(cpu.data<float>().ToArray(), cpu.shape, name);
    }

    /// <summary>A float32 scalar constant.</summary>
    public string Constant(float value, string name) => _nodes.Constant(value, name);

    /// <summary>An int64 constant vector (shapes, axes, split sizes).</summary>
    public string Constant(long[] values, string name) => _nodes.Constant(values, name);

    /// <summary><c>x W^T + b</c> for <paramref name="x"/> (..., K), <paramref name="weight"/> (M, K) and an optional <paramref name="bias"/> (M).</summary>
    public string Linear(string x, Tensor weight, Tensor? bias, string name)
    {
        using var transposed = weight.detach().t();
        string product = Apply("MatMul", x, Weight(transposed, name + ".weight"));
        return bias is null ? product : Apply("Add", product, Weight(bias, name + ".bias"));
    }

    /// <summary><paramref name="x"/> (N, G·H) cut into <paramref name="parts"/> blocks (N, H) along the features.</summary>
    public string[] Split(string x, int parts) => parts == 1 ? [x] : Apply("Split", [x], parts, ("axis", 1L));

    /// <summary><paramref name="x"/> clipped to [-<paramref name="bound"/>, <paramref name="bound"/>].</summary>
    public string Clip(string x, double bound, string name)
        => Apply("Clip", x, Constant((float)-bound, name + ".min"), Constant((float)bound, name + ".max"));

    /// <summary>
    /// Layer normalisation of <paramref name="x"/> over its last axis, as PyTorch's <c>layer_norm</c> (biased variance,
    /// <paramref name="epsilon"/> added to it), then <c>* gain + shift</c> (each broadcast against <paramref name="x"/>).
    /// </summary>
    public string LayerNorm(string x, Tensor gain, Tensor shift, double epsilon, string name)
    {
        (string Name, object Value)[] lastAxis = [("axes", new[] { -1L }), ("keepdims", 1L)];
        string centred = Apply("Sub", x, Apply("ReduceMean", [x], lastAxis));
        string variance = Apply("ReduceMean", [Apply("Mul", centred, centred)], lastAxis);
        string deviation = Apply("Sqrt", Apply("Add", variance, Constant((float)epsilon, name + ".epsilon")));
        string normalised = Apply("Div", centred, deviation);
        return Apply("Add", Apply("Mul", normalised, Weight(gain, name + ".gain")), Weight(shift, name + ".shift"));
    }
}

/// <summary>Where an <see cref="OnnxStep"/> writes: the body of the <c>Scan</c> the package's ONNX writer builds, or the graph around it.</summary>
internal interface IOnnxStepNodes
{
    /// <summary>Adds a node of the default ONNX domain; returns its <paramref name="outputs"/> new output names.</summary>
    string[] Node(string op, string[] inputs, int outputs, (string Name, object Value)[] attributes);

    /// <summary>A float32 constant of shape <paramref name="dims"/> (at least one dimension).</summary>
    string Constant(float[] values, long[] dims, string name);

    /// <summary>A float32 scalar constant.</summary>
    string Constant(float value, string name);

    /// <summary>An int64 constant vector.</summary>
    string Constant(long[] values, string name);
}
