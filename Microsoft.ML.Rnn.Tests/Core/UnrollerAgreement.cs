using Microsoft.ML.Rnn.Core;
using static TorchSharp.torch;

namespace Microsoft.ML.Rnn.Tests.Core;

/// <summary>Fused path versus step path: same outputs and states (1e-5) and same parameter gradients (1e-4).</summary>
internal static class UnrollerAgreement
{
    /// <param name="modules">Whose parameters' gradients are compared.</param>
    /// <param name="run">Runs the unroll with the given path and returns the tensors to compare.</param>
    public static void Assert(IEnumerable<nn.Module> modules, Func<UnrollPath, Tensor[]> run)
    {
        var parameters = modules.SelectMany(m => m.parameters()).ToArray();
        Xunit.Assert.NotEmpty(parameters);
        var results = new Dictionary<UnrollPath, (Tensor[] Values, Tensor[] Grads)>();
        foreach (var path in new[] { UnrollPath.Step, UnrollPath.Fused })
        {
            foreach (var p in parameters) p.grad?.zero_();
            var values = run(path);
            // A fixed random projection of everything, so that every output and state element gets a gradient.
            var g = new Generator(99);
            Tensor loss = zeros(1, dtype: values[0].dtype);
            foreach (var v in values) loss = loss + (v * randn(v.shape, dtype: v.dtype, generator: g)).sum();
            loss.backward();
            results[path] = (values.Select(v => v.detach().clone()).ToArray(),
                parameters.Select(p => p.grad is null ? zeros_like(p) : p.grad.clone()).ToArray());
        }
        var step = results[UnrollPath.Step];
        var fused = results[UnrollPath.Fused];
        for (int i = 0; i < step.Values.Length; i++) TensorAssert.Close(step.Values[i], fused.Values[i], Tolerances.Float32Unroll, $"result {i}");
        for (int i = 0; i < parameters.Length; i++) TensorAssert.Close(step.Grads[i], fused.Grads[i], Tolerances.Float32Gradient, $"gradient of parameter {i}");
        foreach (var p in parameters) p.grad?.zero_();
    }
}
