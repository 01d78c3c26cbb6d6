using Microsoft.ML.Rnn.Core;
using Xunit;
using static TorchSharp.torch;

namespace Microsoft.ML.Rnn.Tests.Core.Cells;

/// <summary>Keras' initialisation as <see cref="RecurrentInitializer"/> applies it: Glorot input weights, orthogonal
/// recurrent blocks, zero biases and an LSTM forget-gate bias of 1; PyTorch's leaves the cell as built.</summary>
public class RecurrentInitializationTests
{
    [Theory]
    [InlineData("lstm", 4)]
    [InlineData("gru", 3)]
    [InlineData("rnn", 1)]
    public void KerasInitialisationGivesOrthogonalBlocksGlorotInputsAndZeroBiases(string kind, int gates)
    {
        using var scope = NewDisposeScope();
        manual_seed(4);
        const long input = 5, hidden = 7;
        RnnCell cell = kind switch { "lstm" => new LstmCell(input, hidden), "gru" => new GruCell(input, hidden), _ => new SimpleRnnCell(input, hidden) };
        var wrapped = new DropoutCell(cell, outputKeepProbability: 0.9);
        RecurrentInitializer.Apply(wrapped, RecurrentInitialization.Keras);   // reaches the cell inside a wrapper
        var p = cell.named_parameters().ToDictionary(x => x.name, x => x.parameter.detach());

        double glorot = Math.Sqrt(6.0 / (input + gates * hidden));
        Assert.True(p["weight_ih"].abs().max().item<float>() <= glorot + 1e-6);
        for (int g = 0; g < gates; g++)
        {
            var block = p["weight_hh"].narrow(0, g * hidden, hidden);
            TensorAssert.Close(eye(hidden), block.t().matmul(block), Tolerances.Float32Unroll, $"block {g}: QᵀQ");
        }
        var expectedBias = zeros(gates * hidden);
        if (kind == "lstm")
            expectedBias.narrow(0, hidden, hidden).fill_(1);
        TensorAssert.Close(expectedBias, p["bias_ih"], 0, "bias_ih");
        TensorAssert.AllZero(p["bias_hh"], "bias_hh");
    }

    [Fact]
    public void PyTorchInitialisationLeavesTheCellAsBuiltAndKerasIsSeeded()
    {
        using var scope = NewDisposeScope();
        manual_seed(9);
        var cell = new LstmCell(3, 4);
        var before = cell.parameters().Select(x => x.detach().clone()).ToArray();
        RecurrentInitializer.Apply(cell, RecurrentInitialization.PyTorch);
        Assert.All(cell.parameters().Zip(before), x => Assert.True(x.First.equal(x.Second).all().item<bool>()));

        LstmCell Keras(int seed)
        {
            manual_seed(seed);
            var c = new LstmCell(3, 4);
            RecurrentInitializer.Apply(c, RecurrentInitialization.Keras);
            return c;
        }
        Assert.True(Keras(2).WeightHh.equal(Keras(2).WeightHh).all().item<bool>());
        Assert.False(Keras(2).WeightHh.equal(Keras(3).WeightHh).all().item<bool>());
    }
}
