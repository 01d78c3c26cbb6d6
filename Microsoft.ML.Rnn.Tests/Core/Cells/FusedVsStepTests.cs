using Microsoft.ML.Rnn.Core;
using TorchSharp;
using Xunit;
using static Microsoft.ML.Rnn.Tests.Core.Cells.CellTestHelpers;
using static TorchSharp.torch;

namespace Microsoft.ML.Rnn.Tests.Core.Cells;

/// <summary>ForwardFused against a masked loop over Step for every fusable cell: values and gradients.</summary>
public class FusedVsStepTests
{
    private const long InputSize = 3, Hidden = 4, N = 4, L = 5;

    public static TheoryData<string, string> Cases()
    {
        var data = new TheoryData<string, string>();
        foreach (var cell in new[] { "rnn-tanh", "rnn-relu", "gru", "lstm" })
            foreach (var lengths in new[] { "none", "varying", "varying-with-zero", "all-equal-short", "all-zero", "all-full" })
                data.Add(cell, lengths);
        return data;
    }

    private static RnnCell Make(string kind) => kind switch
    {
        "rnn-tanh" => new SimpleRnnCell(InputSize, Hidden),
        "rnn-relu" => new SimpleRnnCell(InputSize, Hidden, SimpleRnnActivation.Relu),
        "gru" => new GruCell(InputSize, Hidden),
        "lstm" => new LstmCell(InputSize, Hidden),
        _ => throw new ArgumentException(kind),
    };

    private static long[]? Lengths(string kind) => kind switch
    {
        "none" => null,
        "varying" => [5, 2, 1, 3],
        "varying-with-zero" => [5, 2, 0, 3],
        "all-equal-short" => [3, 3, 3, 3],
        "all-zero" => [0, 0, 0, 0],
        "all-full" => [5, 5, 5, 5],
        _ => throw new ArgumentException(kind),
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void FusedMatchesStepLoop(string cellKind, string lengthsKind)
    {
        using var scope = NewDisposeScope();
        manual_seed(17);
        using var cell = Make(cellKind);
        Assert.True(cell.CanFuse);
        Assert.Equal("", cell.FuseBlocker);
        var lengths = Lengths(lengthsKind);
        var inputs = randn(N, L, InputSize).requires_grad_();
        var init = cell.StateSizes.Select(s => randn(N, s).requires_grad_()).ToArray();
        var outWeights = randn(N, L, cell.OutputSize);
        var stateWeights = cell.StateSizes.Select(s => randn(N, s)).ToArray();
        var leaves = cell.parameters().Cast<Tensor>().Append(inputs).Concat(init).ToArray();

        Tensor[] Grads(Tensor outputs, Tensor[] final)
        {
            var loss = (outputs * outWeights).sum();
            for (int k = 0; k < final.Length; k++)
                loss = loss + (final[k] * stateWeights[k]).sum();
            foreach (var t in leaves) t.grad?.zero_();
            loss.backward();
            return leaves.Select(t => t.grad is null ? zeros_like(t) : t.grad.clone()).ToArray();
        }

        var (stepOut, stepFinal) = StepLoop(cell, inputs, lengths, init);
        var stepGrads = Grads(stepOut, stepFinal);
        var (fusedOut, fusedFinal) = cell.ForwardFused(inputs, lengths is null ? null : tensor(lengths), init);
        var fusedGrads = Grads(fusedOut, fusedFinal);

        AssertClose(stepOut, fusedOut, Tolerances.Float32Unroll, "outputs");
        Assert.Equal(stepFinal.Length, fusedFinal.Length);
        for (int k = 0; k < stepFinal.Length; k++)
            AssertClose(stepFinal[k], fusedFinal[k], Tolerances.Float32Unroll, $"final state {k}");
        for (int k = 0; k < leaves.Length; k++)
            AssertClose(stepGrads[k], fusedGrads[k], Tolerances.Float32Gradient, $"gradient of leaf {k}");

        if (lengths is not null)
        {
            // The reference itself must show TF semantics (guards against a reference that is wrong the same way).
            for (int b = 0; b < N; b++)
            {
                if (lengths[b] < L)
                    Assert.Equal(0.0, fusedOut[b, TensorIndex.Slice(lengths[b])].abs().sum().item<float>());
                if (lengths[b] == 0)
                    for (int k = 0; k < init.Length; k++)
                        AssertClose(init[k][b], fusedFinal[k][b], 0, "empty sequence keeps its initial state");
            }
        }
    }

    [Fact]
    public void StepPathReadsTheNativeModulesParameters()
    {
        using var scope = NewDisposeScope();
        using var cell = new LstmCell(InputSize, Hidden);
        var x = randn(2, 1, InputSize);
        var init = cell.ZeroState(2);
        using (no_grad())
        {
            cell.WeightIh.mul_(3.0);
            cell.BiasHh!.add_(0.5);
        }
        var (fused, _) = cell.ForwardFused(x, null, init);
        var (step, _) = cell.Step(x.squeeze(1), init);
        AssertClose(step, fused.squeeze(1), 1e-6, "after editing parameters in place");
        // The properties hand out the native module's tensors, not copies.
        var native = cell.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        Assert.Equal(native["weight_ih"].Handle, cell.WeightIh.Handle);
    }

    [Theory]
    [InlineData("rnn-tanh")]
    [InlineData("rnn-relu")]
    [InlineData("gru")]
    [InlineData("lstm")]
    public void FusedPathFollowsDtypeMovesAndParameterEdits(string cellKind)
    {
        using var scope = NewDisposeScope();
        manual_seed(23);
        using var cell = Make(cellKind);
        cell.to(float64);
        using (no_grad())
        {
            foreach (var p in cell.parameters())
                p.add_(0.25);
        }
        Assert.All(cell.parameters(), p => Assert.Equal(ScalarType.Float64, p.dtype));
        var inputs = randn(N, L, InputSize, dtype: float64);
        var init = cell.StateSizes.Select(s => randn(N, s, dtype: float64)).ToArray();
        long[] lengths = [5, 0, 3, 1];
        using var _ = no_grad();
        var (stepOut, stepFinal) = StepLoop(cell, inputs, lengths, init);
        var (fusedOut, fusedFinal) = cell.ForwardFused(inputs, tensor(lengths), init);
        Assert.Equal(ScalarType.Float64, fusedOut.dtype);
        AssertClose(stepOut, fusedOut, 1e-10, "outputs after a move to float64");
        for (int k = 0; k < stepFinal.Length; k++)
            AssertClose(stepFinal[k], fusedFinal[k], 1e-10, $"final state {k} after a move to float64");
    }

    [Theory]
    [InlineData("gru", "none")]
    [InlineData("lstm", "varying")]
    [InlineData("lstm", "varying-with-zero")]
    [InlineData("rnn-tanh", "all-equal-short")]
    [InlineData("rnn-relu", "all-zero")]
    public void ForwardFusedWithoutCallerScopeLeavesOnlyItsResults(string cellKind, string lengthsKind)
    {
        // Deliberately no dispose scope around the call: the kernel's temporaries must be freed by the kernel.
        using var cell = Make(cellKind);
        using var inputs = randn(N, L, InputSize);
        var lengths = Lengths(lengthsKind) is { } ls ? tensor(ls) : null;
        var init = cell.ZeroState(N);
        long before = TorchSharp.DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        var (outputs, final) = cell.ForwardFused(inputs, lengths, init);
        long after = TorchSharp.DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        Assert.Equal(before + 1 + final.Length, after);
        outputs.Dispose();
        foreach (var t in final.Concat(init)) t.Dispose();
        lengths?.Dispose();
    }
}
