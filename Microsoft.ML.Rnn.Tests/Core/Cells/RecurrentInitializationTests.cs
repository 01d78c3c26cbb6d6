using Microsoft.ML.Rnn.Core;
using Xunit;
using static TorchSharp.torch;

namespace Microsoft.ML.Rnn.Tests.Core.Cells;

/// <summary>Keras' initialisation as <see cref="RecurrentInitializer"/> applies it: Glorot input weights, orthogonal
/// recurrent blocks, zero biases and a forget-gate bias of 1, for every gated cell (the gate layout read from the cell);
/// PyTorch's leaves the cell as built.</summary>
public class RecurrentInitializationTests
{
    [Theory]
    [InlineData("lstm", null)]
    [InlineData("lstm", "3")]               // a projection: recurrent blocks of (H, P)
    [InlineData("gru", null)]
    [InlineData("simple_rnn", null)]
    [InlineData("cifg_lstm", null)]         // no forget gate: every bias 0
    [InlineData("layer_norm_lstm", null)]   // no biases: the weights only
    public void KerasInitialisationGivesOrthogonalBlocksGlorotInputsAndZeroBiases(string kind, string? projection)
    {
        using var scope = NewDisposeScope();
        manual_seed(4);
        const long input = 5, hidden = 7;
        var options = projection is null ? new Dictionary<string, string>() : new() { ["num_proj"] = projection };
        var cell = (GatedRnnCell)RnnCellKind.Resolve(kind, options, nameof(RecurrentInitializationTests)).Build(input, hidden);
        var wrapped = new DropoutCell(cell, outputKeepProbability: 0.9);
        RecurrentInitializer.Apply(wrapped, RecurrentInitialization.Keras);   // reaches the cell inside a wrapper
        var p = cell.named_parameters().ToDictionary(x => x.name, x => x.parameter.detach());

        int gates = cell.GatesPerUnit;
        double glorot = Math.Sqrt(6.0 / (input + gates * hidden));
        Assert.True(p["weight_ih"].abs().max().item<float>() <= glorot + 1e-6);
        long columns = p["weight_hh"].shape[1];
        for (int g = 0; g < gates; g++)
        {
            var block = p["weight_hh"].narrow(0, g * hidden, hidden);
            TensorAssert.Close(eye(columns), block.t().matmul(block), Tolerances.Float32Unroll, $"block {g}: QᵀQ");
        }
        if (kind == "layer_norm_lstm")
        {
            Assert.False(p.ContainsKey("bias_ih"));
            return;
        }
        var expectedBias = zeros(gates * hidden);
        if (kind == "lstm")
            expectedBias.narrow(0, hidden, hidden).fill_(1);   // the forget gate, the second block of i, f, g, o
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
