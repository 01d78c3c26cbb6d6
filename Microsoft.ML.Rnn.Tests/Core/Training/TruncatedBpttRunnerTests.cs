using Microsoft.ML.Rnn.Core.Training;
using Microsoft.ML.Rnn.Core;
using Xunit;
using static TorchSharp.torch;

namespace Microsoft.ML.Rnn.Tests.Core.Training;

public class TruncatedBpttRunnerTests
{
    private static Tensor Mse(Tensor prediction, Tensor target) => nn.functional.mse_loss(prediction, target);

    [Fact]
    public void CarriesTheFinalStateDetachedIntoTheNextWindowAndBatch()
    {
        using var scope = NewDisposeScope();
        var inner = new TanhSumCell(3, 4, seed: 5);
        var cell = new RecordingCell(inner);
        var head = nn.Linear(4, 1);
        // Learning rate 0: parameters stay fixed, so window results can be recomputed independently.
        var optimizer = optim.SGD(cell.parameters().Concat(head.parameters()), 0.0);
        using var runner = new TruncatedBpttRunner(cell, head, Mse, optimizer, truncatedBackpropLength: 2);
        var x = randn(2, 4, 3, generator: new Generator(1)).requires_grad_();
        var y = randn(2, 4, 1, generator: new Generator(2));

        double mean = runner.TrainBatch(x, y);

        // Reference for window 1 alone: its final state and the gradient its loss sends to its inputs.
        var x1 = x.detach()[TensorIndex.Colon, TensorIndex.Slice(0, 2)].requires_grad_();
        var w1 = DynamicUnroller.Unroll(inner, x1);
        var loss1 = Mse(head.call(w1.Outputs), y[TensorIndex.Colon, TensorIndex.Slice(0, 2)]);
        loss1.backward();

        Assert.Equal(2, cell.InitialStates.Count);
        TensorAssert.AllZero(cell.InitialStates[0].State[1], "first window starts from zeros");
        TensorAssert.Close(w1.FinalState[0], cell.InitialStates[1].State[0], 1e-6, "window 2 starts at window 1's final h");
        TensorAssert.Close(w1.FinalState[1], cell.InitialStates[1].State[1], 1e-6, "window 2 starts at window 1's final a");
        Assert.False(cell.InitialStates[1].RequiresGrad, "the carried state is detached");
        // Window 2's loss sends nothing back into window 1: its inputs got window 1's gradient only.
        TensorAssert.Close(x1.grad!, x.grad![TensorIndex.Colon, TensorIndex.Slice(0, 2)], 1e-6, "gradient of window 1 inputs");
        Assert.NotEqual(0f, x.grad![TensorIndex.Colon, TensorIndex.Slice(2, 4)].abs().sum().item<float>());

        var w2 = DynamicUnroller.Unroll(inner, x.detach()[TensorIndex.Colon, TensorIndex.Slice(2, 4)], initialState: w1.FinalState);
        var loss2 = Mse(head.call(w2.Outputs), y[TensorIndex.Colon, TensorIndex.Slice(2, 4)]);
        Assert.Equal((loss1.item<float>() + loss2.item<float>()) / 2, mean, 5);
        TensorAssert.Close(w2.FinalState[0], runner.CarriedState![0], 1e-6);
        Assert.False(runner.CarriedState![0].requires_grad);

        // Across batches until reset.
        runner.TrainBatch(x.detach(), y);
        TensorAssert.Close(w2.FinalState[1], cell.InitialStates[2].State[1], 1e-6, "next batch starts at the carried state");
        runner.ResetState();
        Assert.Null(runner.CarriedState);
        runner.TrainBatch(x.detach(), y);
        TensorAssert.AllZero(cell.InitialStates[4].State[0], "after a reset the state starts from zeros");
    }

    [Fact]
    public void PredictCarriesStateWithoutGradientsLikeOneLongUnroll()
    {
        using var scope = NewDisposeScope();
        var cell = new TanhSumCell(3, 4);
        var head = nn.Linear(4, 2);
        var optimizer = optim.SGD(cell.parameters().Concat(head.parameters()), 0.1);
        using var runner = new TruncatedBpttRunner(cell, head, Mse, optimizer, truncatedBackpropLength: 3);
        var x = randn(2, 7, 3);
        var predictions = runner.Predict(x);
        Assert.Equal(new long[] { 2, 7, 2 }, predictions.shape);
        Assert.False(predictions.requires_grad);
        Assert.False(cell.training);
        var full = DynamicUnroller.Unroll(cell, x);
        TensorAssert.Close(head.call(full.Outputs), predictions, Tolerances.Float32Unroll);
        TensorAssert.Close(full.FinalState[1], runner.CarriedState![1], Tolerances.Float32Unroll);
    }

    [Fact]
    public void ClipsTheGradientNorm()
    {
        using var scope = NewDisposeScope();
        var cell = new TanhSumCell(3, 4);
        var head = nn.Linear(4, 1);
        var parameters = cell.parameters().Concat(head.parameters()).ToArray();
        var before = parameters.Select(p => p.detach().clone()).ToArray();
        var optimizer = optim.SGD(parameters, 1.0);
        using var runner = new TruncatedBpttRunner(cell, head, Mse, optimizer, truncatedBackpropLength: 5, maxGradientNorm: 1e-3);
        runner.TrainBatch(randn(2, 5, 3) * 3, randn(2, 5, 1) * 10);
        double moved = Math.Sqrt(parameters.Zip(before, (p, b) => (p.detach() - b).pow(2).sum().item<float>()).Sum());
        Assert.InRange(moved, 1e-4, 1.0001e-3);
    }

    [Fact]
    public void LearnsTheEchoTask()
    {
        using var scope = NewDisposeScope();
        random.manual_seed(0);
        const int echo = 3, series = 5, batchLength = 45, batches = 80;
        var cell = new TanhSumCell(1, 8, seed: 3);
        var head = nn.Linear(8, 2);
        var optimizer = optim.Adam(cell.parameters().Concat(head.parameters()), 0.02);
        Func<Tensor, Tensor, Tensor> loss = (p, t) => nn.functional.cross_entropy(p.reshape(-1, 2), t.reshape(-1));
        using var runner = new TruncatedBpttRunner(cell, head, loss, optimizer, truncatedBackpropLength: 15, maxGradientNorm: 5);

        // One long binary series per row; the target is the input delayed by `echo` steps.
        var g = new Generator(4);
        var bits = randint(0, 2, [series, batchLength * batches], generator: g, dtype: ScalarType.Int64);
        var targets = roll(bits, echo, 1);
        targets[TensorIndex.Colon, TensorIndex.Slice(0, echo)] = 0;
        var inputs = bits.to(float32).unsqueeze(2);
        var losses = new List<double>();
        for (int b = 0; b < batches; b++)
        {
            var slice = TensorIndex.Slice(b * batchLength, (b + 1) * batchLength);
            losses.Add(runner.TrainBatch(inputs[TensorIndex.Colon, slice], targets[TensorIndex.Colon, slice]));
        }
        double early = losses.Take(5).Average(), late = losses.TakeLast(5).Average();
        Assert.True(early > 0.6, $"early loss {early}");
        Assert.True(late < 0.3, $"loss went from {early} to {late}");
    }

    [Fact]
    public void ErrorsArePinned()
    {
        using var scope = NewDisposeScope();
        var cell = new TanhSumCell(3, 4);
        var head = nn.Linear(4, 1);
        using var runner = new TruncatedBpttRunner(cell, head, Mse, optim.SGD(cell.parameters(), 0.1), 2);
        runner.TrainBatch(randn(2, 4, 3), randn(2, 4, 1));
        var batch = Assert.Throws<ArgumentException>(() => runner.TrainBatch(randn(3, 4, 3), randn(3, 4, 1)));
        Assert.Equal("TruncatedBpttRunner: the carried state is for 2 sequences but the inputs have 3; call ResetState() to start new sequences. (Parameter 'inputs')", batch.Message);
        var targets = Assert.Throws<ArgumentException>(() => runner.TrainBatch(randn(2, 4, 3), randn(2, 3, 1)));
        Assert.Equal("TruncatedBpttRunner: expected targets of shape (2, 4, ...), got (2, 3, 1). (Parameter 'targets')", targets.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new TruncatedBpttRunner(cell, head, Mse, optim.SGD(cell.parameters(), 0.1), 0));
    }
}
