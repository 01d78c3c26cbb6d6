using Microsoft.ML.Rnn.Core;
using Xunit;
using static TorchSharp.torch;

namespace Microsoft.ML.Rnn.Tests.Core;

/// <summary>The unrollers and wrappers with the real fusable cells: the seeds' example and fused versus step paths.</summary>
public class LstmUnrollerTests
{
    [Theory]
    [InlineData(UnrollPath.Step)]
    [InlineData(UnrollPath.Fused)]
    public void SeedExampleTwoSequencesOfFourStepsWithLengthsFourAndOne(UnrollPath path)
    {
        using var scope = NewDisposeScope();
        var cell = new LstmCell(5, 3);
        var x = randn(2, 4, 5, generator: new Generator(8));
        var result = DynamicUnroller.Unroll(cell, x, tensor(new long[] { 4, 1 }), path: path);
        Assert.Equal(new long[] { 2, 4, 3 }, result.Outputs.shape);
        TensorAssert.AllZero(result.Outputs[1, TensorIndex.Slice(1)], "second sequence after its first step");
        Assert.NotEqual(0f, result.Outputs[1, 0].abs().sum().item<float>());
        var h = result.FinalState[1]; // LSTM state is (c, h)
        TensorAssert.Close(result.Outputs[0, 3], h[0], 1e-6, "final h of sequence 0");
        TensorAssert.Close(result.Outputs[1, 0], h[1], 1e-6, "final h of sequence 1");
    }

    // A method, not a static field: a tensor created inside one test's dispose scope dies with it.
    private static Tensor Lengths => tensor(new long[] { 5, 0, 2, 4 });

    private static Tensor Inputs(long features) => randn(4, 5, features, generator: new Generator(21));

    [Fact]
    public void DynamicFusedMatchesStepWithAZeroLength()
    {
        using var scope = NewDisposeScope();
        var cell = new LstmCell(3, 4);
        Assert.True(cell.CanFuse);
        var x = Inputs(3);
        var c0 = randn(4, 4, generator: new Generator(22));
        var h0 = randn(4, 4, generator: new Generator(23));
        UnrollerAgreement.Assert([cell], p => DynamicUnroller.Unroll(cell, x, Lengths, [c0, h0], path: p) is var r
            ? [r.Outputs, .. r.FinalState] : []);
        var gru = new GruCell(3, 4);
        UnrollerAgreement.Assert([gru], p => DynamicUnroller.Unroll(gru, x, Lengths, path: p) is var r
            ? [r.Outputs, .. r.FinalState] : []);
    }

    [Fact]
    public void BidirectionalFusedMatchesStep()
    {
        using var scope = NewDisposeScope();
        var fw = new LstmCell(3, 4);
        var bw = new GruCell(3, 2);
        var x = Inputs(3);
        UnrollerAgreement.Assert([fw, bw], p => BidirectionalUnroller.Unroll(fw, bw, x, Lengths, path: p) is var r
            ? [r.Outputs!, .. r.ForwardFinalState, .. r.BackwardFinalState] : []);
    }

    [Fact]
    public void StackedFusedMatchesStep()
    {
        using var scope = NewDisposeScope();
        var stacked = new StackedCell([new LstmCell(3, 4), new GruCell(4, 4), new LstmCell(4, 2)]);
        Assert.True(stacked.CanFuse);
        var x = Inputs(3);
        UnrollerAgreement.Assert([stacked], p => DynamicUnroller.Unroll(stacked, x, Lengths, path: p) is var r
            ? [r.Outputs, .. r.FinalState] : []);

        RnnCell[] fws = [new LstmCell(3, 2), new LstmCell(5, 2)];
        RnnCell[] bws = [new LstmCell(3, 3), new LstmCell(5, 2)];
        UnrollerAgreement.Assert([.. fws, .. bws], p => StackedBidirectionalUnroller.Unroll(fws, bws, x, Lengths, path: p) is var r
            ? [r.Outputs, .. r.ForwardFinalStates.SelectMany(s => s), .. r.BackwardFinalStates.SelectMany(s => s)] : []);
    }

    [Fact]
    public void DropoutAndResidualWrappersFusedMatchStep()
    {
        using var scope = NewDisposeScope();
        var dropout = new DropoutCell(new LstmCell(3, 4), inputKeepProbability: 0.6, outputKeepProbability: 0.7);
        dropout.eval();
        Assert.True(dropout.CanFuse);
        var x = Inputs(3);
        UnrollerAgreement.Assert([dropout], p => DynamicUnroller.Unroll(dropout, x, Lengths, path: p) is var r
            ? [r.Outputs, .. r.FinalState] : []);

        var residual = new ResidualCell(new LstmCell(3, 3));
        Assert.True(residual.CanFuse);
        UnrollerAgreement.Assert([residual], p => DynamicUnroller.Unroll(residual, x, Lengths, path: p) is var r
            ? [r.Outputs, .. r.FinalState] : []);
    }

    [Fact]
    public void ForcedFusedOnAPeepholeLstmNamesItsBlockerAndAutoFallsBackToSteps()
    {
        using var scope = NewDisposeScope();
        var cell = new StackedCell([new LstmCell(3, 3), new LstmCell(3, 3, new LstmCellOptions { UsePeepholes = true })]);
        Assert.False(cell.CanFuse);
        var e = Assert.Throws<NotSupportedException>(() => DynamicUnroller.Unroll(cell, Inputs(3), Lengths, path: UnrollPath.Fused));
        Assert.StartsWith("DynamicUnroller: UnrollPath.Fused was requested but cell 'StackedCell' cannot run fused: layer 1 (LstmCell): ", e.Message);
        Assert.Contains(cell.Layers[1].FuseBlocker, e.Message);
        var auto = DynamicUnroller.Unroll(cell, Inputs(3), Lengths);
        TensorAssert.AllZero(auto.Outputs[1]);
    }

    [Fact]
    public void WrappedLstmGradientsMatchFiniteDifferences()
    {
        using var scope = NewDisposeScope();
        var cell = new StackedCell([new ResidualCell(new LstmCell(2, 2, dtype: float64)), new LstmCell(2, 3, dtype: float64)]);
        var x = randn(3, 3, 2, dtype: float64).requires_grad_();
        var lengths = tensor(new long[] { 3, 0, 2 });
        foreach (var path in new[] { UnrollPath.Step, UnrollPath.Fused })
        {
            GradientCheck.AssertGradientsMatch(() =>
            {
                var r = DynamicUnroller.Unroll(cell, x, lengths, path: path);
                return r.Outputs.pow(2).sum() + r.FinalState[0].sum() + r.FinalState[3].pow(2).sum();
            }, [.. cell.parameters(), x]);
        }
    }
}
