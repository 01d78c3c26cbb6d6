using Microsoft.ML.Rnn.Core;
using TorchSharp;
using Xunit;
using static Microsoft.ML.Rnn.Tests.Core.Cells.CellTestHelpers;
using static TorchSharp.torch;

namespace Microsoft.ML.Rnn.Tests.Core.Cells;

/// <summary>
/// The step loop prepares the inputs of all steps at once (<see cref="RnnCell.PrepareInputs"/>, e.g. one input
/// projection for the whole sequence) and then calls <see cref="RnnCell.StepPrepared"/>: it must compute exactly what
/// calling <see cref="RnnCell.Step"/> at every step computes, values and gradients, for every built-in cell.
/// </summary>
public class PreparedInputsTests
{
    private const long InputSize = 3, Hidden = 4, N = 4, L = 6;

    public static TheoryData<string> Cells() => new()
    {
        "lstm", "lstm-tf-options", "gru", "gru-reset-before", "rnn-tanh", "rnn-relu", "cifg", "layer-norm-lstm",
    };

    private static RnnCell Make(string kind) => kind switch
    {
        "lstm" => new LstmCell(InputSize, Hidden, dtype: float64),
        "lstm-tf-options" => new LstmCell(InputSize, Hidden,
            new LstmCellOptions { ForgetBias = 1, UsePeepholes = true, CellClip = 0.8, NumProj = 3, ProjClip = 0.5 }, dtype: float64),
        "gru" => new GruCell(InputSize, Hidden, dtype: float64),
        "gru-reset-before" => new GruCell(InputSize, Hidden, GruResetGate.BeforeRecurrentMatmul, dtype: float64),
        "rnn-tanh" => new SimpleRnnCell(InputSize, Hidden, dtype: float64),
        "rnn-relu" => new SimpleRnnCell(InputSize, Hidden, SimpleRnnActivation.Relu, dtype: float64),
        "cifg" => new CoupledInputForgetLstmCell(InputSize, Hidden, dtype: float64),
        "layer-norm-lstm" => new LayerNormLstmCell(InputSize, Hidden, dtype: float64),
        _ => throw new ArgumentException(kind),
    };

    [Theory]
    [MemberData(nameof(Cells))]
    public void StepPathEqualsStepAtEveryStep(string kind)
    {
        using var scope = NewDisposeScope();
        manual_seed(23);
        using var cell = Make(kind);
        long[] lengths = [6, 2, 0, 4];
        var inputs = randn(N, L, InputSize, dtype: float64).requires_grad_();
        var init = cell.StateSizes.Select(s => randn(N, s, dtype: float64).requires_grad_()).ToArray();
        var outWeights = randn(N, L, cell.OutputSize, dtype: float64);
        var leaves = cell.parameters().Cast<Tensor>().Append(inputs).Concat(init).ToArray();

        Tensor[] Grads(Tensor outputs, Tensor[] final)
        {
            var loss = (outputs * outWeights).sum() + final.Select(s => s.square().sum()).Aggregate((a, b) => a + b);
            return torch.autograd.grad([loss], leaves).ToArray();
        }

        var (refOut, refFinal) = StepLoop(cell, inputs, lengths, init);
        var refGrads = Grads(refOut, refFinal);
        var result = DynamicUnroller.Unroll(cell, inputs, tensor(lengths), init, path: UnrollPath.Step);
        var grads = Grads(result.Outputs, result.FinalState);

        AssertClose(refOut, result.Outputs, 1e-12, $"{kind} outputs");
        for (int k = 0; k < refFinal.Length; k++)
            AssertClose(refFinal[k], result.FinalState[k], 1e-12, $"{kind} final state {k}");
        for (int i = 0; i < leaves.Length; i++)
            AssertClose(refGrads[i], grads[i], 1e-10, $"{kind} gradient {i}");
    }

    /// <summary>Counts calls; prepares by doubling the inputs, which its prepared step halves again.</summary>
    private sealed class CountingCell(bool prepares) : RnnCell(nameof(CountingCell))
    {
        public int Prepared, PreparedSteps, Steps;
        public override long InputSize => 2;
        public override IReadOnlyList<long> StateSizes => [2];
        public override long OutputSize => 2;

        public override (Tensor Output, Tensor[] State) Step(Tensor input, IReadOnlyList<Tensor> state)
        {
            Steps++;
            var h = (input + state[0]).tanh();
            return (h, [h]);
        }

        public override Tensor PrepareInputs(Tensor inputs)
        {
            if (!prepares) return base.PrepareInputs(inputs);
            Prepared++;
            return inputs * 2.0;
        }

        public override (Tensor Output, Tensor[] State) StepPrepared(Tensor prepared, IReadOnlyList<Tensor> state)
        {
            if (!prepares) return base.StepPrepared(prepared, state);
            PreparedSteps++;
            var h = (prepared / 2.0 + state[0]).tanh();
            return (h, [h]);
        }
    }

    [Fact]
    public void UnrollersPrepareOnceAndCallThePreparedStepOfACellThatOverridesIt()
    {
        using var scope = NewDisposeScope();
        var x = randn(3, 5, 2);
        var plain = new CountingCell(prepares: false);
        var preparing = new CountingCell(prepares: true);
        var expected = DynamicUnroller.Unroll(plain, x);
        var actual = DynamicUnroller.Unroll(preparing, x);
        Assert.Equal((0, 0, 5), (plain.Prepared, plain.PreparedSteps, plain.Steps));
        Assert.Equal((1, 5, 0), (preparing.Prepared, preparing.PreparedSteps, preparing.Steps));
        AssertClose(expected.Outputs, actual.Outputs, 1e-6, "outputs");
    }
}
