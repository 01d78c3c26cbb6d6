using Microsoft.ML.Rnn.Core;
using TorchSharp;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;

namespace Microsoft.ML.Rnn.Tests.Docs;

/// <summary>docs/core-api.md's "writing your own cell" example: it runs under every unroller and trains.</summary>
public class CustomCellDocTests
{
    [Fact]
    public void ConstantGatesFollowTheClosedForm()
    {
        // With zero weights, f = sigmoid(b_f) and the candidate is tanh(b_c) at every step, so from h_0 = 0:
        // h_t = tanh(b_c) * (1 - (1 - f)^t).
        using var scope = NewDisposeScope();
        using var cell = new MinimalGatedCell(inputSize: 2, hiddenSize: 3);
        using (no_grad())
        {
            foreach (var p in cell.parameters()) p.zero_();
            cell.get_parameter("inputGate.bias")!.fill_(0.4);
            cell.get_parameter("inputCandidate.bias")!.fill_(0.7);
        }
        var inputs = randn(1, 5, 2);
        var (outputs, _) = DynamicUnroller.Unroll(cell, inputs);
        double f = 1 / (1 + Math.Exp(-0.4)), c = Math.Tanh(0.7);
        for (int t = 1; t <= 5; t++)
            Assert.Equal(c * (1 - Math.Pow(1 - f, t)), outputs[0, t - 1, 0].item<float>(), 5);
        Assert.Equal(6, cell.parameters().Count()); // W_f, b_f, W_c, b_c, U_f, U_c: none registered twice
    }

    [Fact]
    public void UnrollsWithLengthsAndRefusesAForcedFusedPath()
    {
        using var scope = NewDisposeScope();
        manual_seed(3);
        using var cell = new MinimalGatedCell(inputSize: 4, hiddenSize: 3);
        var inputs = randn(2, 5, 4);
        var lengths = tensor(new long[] { 5, 2 });
        var (outputs, finalState) = DynamicUnroller.Unroll(cell, inputs, lengths);
        Assert.Equal(0f, outputs[1, 2..].abs().sum().item<float>());
        Assert.True(finalState[0].allclose(stack([outputs[0, 4], outputs[1, 1]])));
        var scan = ScanUnroller.Scan(cell, inputs, lengths);
        Assert.True(scan.Outputs.allclose(outputs));
        var error = Assert.Throws<NotSupportedException>(() => DynamicUnroller.Unroll(cell, inputs, lengths, path: UnrollPath.Fused));
        Assert.Equal("DynamicUnroller: UnrollPath.Fused was requested but cell 'MinimalGatedCell' cannot run fused: MinimalGatedCell has no fused kernel.", error.Message);
    }

    [Fact]
    public void GradientsMatchFiniteDifferences()
    {
        using var scope = NewDisposeScope();
        manual_seed(4);
        using var cell = new MinimalGatedCell(inputSize: 2, hiddenSize: 2);
        cell.to(float64);
        var inputs = randn(2, 3, 2, dtype: float64).requires_grad_();
        var weights = randn(2, 3, 2, dtype: float64);
        var lengths = tensor(new long[] { 3, 1 });
        GradientCheck.AssertGradientsMatch(() => (DynamicUnroller.Unroll(cell, inputs, lengths).Outputs * weights).sum(),
            cell.parameters().Cast<Tensor>().Append(inputs).ToList());
    }

    /// <summary>Its ONNX step: a classifier of it converts and scores through ONNX Runtime as through libtorch.</summary>
    [Fact]
    public void ItsOnnxStepScoresAsItsStepInAClassifier()
    {
        RnnCellKind.Register("doc-minimal-gated", (input, hidden, _) => new MinimalGatedCell(input, hidden));
        var ml = new MLContext(seed: 1);
        var data = MLNet.OnnxExportTests.Rows(ml, 60, seed: 2);
        var options = MLNet.OnnxExportTests.ClassifierOptions("rnn bidirectional");
        options.Cell = RnnCellKind.Custom("doc-minimal-gated");
        using var model = ml.Transforms.Rnn.SequenceClassifier(options).Fit(data);
        var input = MLNet.OnnxExportTests.Only(ml, data, options.FeatureColumnName);
        model.ScoringEngine = RnnScoringEngine.TorchSharp;
        var expected = MLNet.OnnxExportTests.Floats(model.Transform(input), "Score");
        string path = MLNet.OnnxExportTests.Convert(ml, model, input, Path.GetTempPath(), $"doc-minimal-gated-{Guid.NewGuid():N}");
        try
        {
            MLNet.OnnxExportTests.AssertClose(expected, MLNet.OnnxExportTests.RunInBatches(path, input, options.FeatureColumnName, "Score.output"));
        }
        finally
        {
            File.Delete(path);
        }
        model.ScoringEngine = RnnScoringEngine.OnnxRuntime;
        MLNet.OnnxExportTests.AssertClose(expected, MLNet.OnnxExportTests.Floats(model.Transform(input), "Score"));
    }
}

// snippet: custom-cell
/// <summary>Minimal gated unit (Zhou et al., 2016): h' = (1 - f) h + f tanh(W_c x + U_c (f h) + b_c), f = σ(W_f x + U_f h + b_f).</summary>
public sealed partial class MinimalGatedCell : RnnCell
{
    private readonly Linear inputGate, inputCandidate, recurrentGate, recurrentCandidate;
    private readonly long hiddenSize;

    public MinimalGatedCell(long inputSize, long hiddenSize) : base(nameof(MinimalGatedCell))
    {
        InputSize = inputSize;
        this.hiddenSize = hiddenSize;
        inputGate = nn.Linear(inputSize, hiddenSize);
        inputCandidate = nn.Linear(inputSize, hiddenSize);
        recurrentGate = nn.Linear(hiddenSize, hiddenSize, hasBias: false);
        recurrentCandidate = nn.Linear(hiddenSize, hiddenSize, hasBias: false);
        RegisterComponents(); // the Linear fields become submodules: parameters(), to(device), save/load
    }

    public override long InputSize { get; }
    public override IReadOnlyList<long> StateSizes => [hiddenSize];   // one state tensor h, (N, H)
    public override long OutputSize => hiddenSize;

    public override (Tensor Output, Tensor[] State) Step(Tensor input, IReadOnlyList<Tensor> state)
    {
        var h = state[0];                                                        // (N, H)
        var f = sigmoid(inputGate.forward(input) + recurrentGate.forward(h));    // input (N, H_in) -> (N, H)
        var candidate = tanh(inputCandidate.forward(input) + recurrentCandidate.forward(f * h));
        var next = (1 - f) * h + f * candidate;
        return (next, [next]);                                                   // output = new state
    }
}
// end snippet

// snippet: onnx-step-cell
/// <summary>The same cell's step in ONNX operators: what lets a model of it convert to ONNX and score through ONNX Runtime.</summary>
public sealed partial class MinimalGatedCell : IOnnxStepCell
{
    public (string Output, string[] State) WriteOnnxStep(OnnxStep step, string input, IReadOnlyList<string> state)
    {
        string h = state[0];                                                     // (N, H), as in Step
        string f = step.Apply("Sigmoid", step.Apply("Add",
            step.Linear(input, inputGate.weight!, inputGate.bias, "input_gate"),  // x W^T + b, the weights as constants
            step.Linear(h, recurrentGate.weight!, null, "recurrent_gate")));
        string candidate = step.Apply("Tanh", step.Apply("Add",
            step.Linear(input, inputCandidate.weight!, inputCandidate.bias, "input_candidate"),
            step.Linear(step.Apply("Mul", f, h), recurrentCandidate.weight!, null, "recurrent_candidate")));
        string next = step.Apply("Add", h, step.Apply("Mul", f, step.Apply("Sub", candidate, h)));   // (1 - f) h + f candidate
        return (next, [next]);
    }
}
// end snippet
