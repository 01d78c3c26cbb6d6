using Microsoft.ML.Rnn.Core;
using Xunit;
using static TorchSharp.torch;

namespace Microsoft.ML.Rnn.Tests.Core.Cells;

/// <summary>An independent step-by-step reference unroll and comparison helpers for the cell tests.</summary>
internal static class CellTestHelpers
{
    /// <summary>
    /// Plain loop over <see cref="RnnCell.Step"/> with TF dynamic_rnn masking: outputs past a length are zero and
    /// the state is carried unchanged through the padding.
    /// </summary>
    public static (Tensor Outputs, Tensor[] Final) StepLoop(RnnCell cell, Tensor inputs, long[]? lengths, IReadOnlyList<Tensor> init)
    {
        long n = inputs.shape[0], l = inputs.shape[1];
        var state = init.ToArray();
        var xs = inputs.unbind(1);
        var outs = new List<Tensor>();
        for (int t = 0; t < l; t++)
        {
            var (o, s) = cell.Step(xs[t], state);
            if (lengths is null)
            {
                outs.Add(o);
                state = s;
                continue;
            }
            var valid = tensor(lengths.Select(len => len > t).ToArray()).view(n, 1);
            outs.Add(where(valid, o, zeros_like(o)));
            for (int k = 0; k < s.Length; k++)
                state[k] = where(valid, s[k], state[k]);
        }
        return (stack(outs, 1), state);
    }

    /// <summary>Asserts max |a - b| &lt;= tol, with a readable message.</summary>
    public static void AssertClose(Tensor expected, Tensor actual, double tol, string what)
    {
        Assert.Equal(expected.shape, actual.shape);
        double diff = expected.numel() == 0 ? 0 : (expected.to(float64) - actual.to(float64)).abs().max().item<double>();
        Assert.True(diff <= tol, $"{what}: max abs difference {diff:G6} exceeds {tol:G3}");
    }

    /// <summary>Copies <paramref name="values"/> into a parameter without recording the copy.</summary>
    public static void Set(Tensor parameter, float[] values)
    {
        using var _ = no_grad();
        using var v = tensor(values, dtype: parameter.dtype).view(parameter.shape);
        parameter.copy_(v);
    }
}
