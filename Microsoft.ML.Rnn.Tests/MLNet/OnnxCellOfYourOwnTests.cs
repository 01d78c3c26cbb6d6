using Microsoft.ML.Rnn.Core;
using Microsoft.ML.Rnn.Onnx;
using Microsoft.ML.Rnn.Tests.Core;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;

namespace Microsoft.ML.Rnn.Tests.MLNet;

/// <summary>
/// A cell written outside the library takes part in ONNX export by describing its step (<see cref="IOnnxStepCell"/>);
/// one that does not fails conversion saying so; a step that returns the wrong state fails naming it; and the one
/// place that writes graph attributes into ML.NET's converter fails with a message when the converter's node is not
/// what it expects.
/// </summary>
public sealed class OnnxCellOfYourOwnTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("rnn-onnx-cell-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    /// <summary>
    /// The minimal gated unit (Zhou et al. 2016), as a user would write it: one forget gate f = σ(W_f x + U_f h + b_f),
    /// h̃ = tanh(W_h x + U_h (f ⊙ h) + b_h), h' = (1 − f) ⊙ h + f ⊙ h̃. State (h).
    /// </summary>
    private sealed class MinimalGatedCell : RnnCell, IOnnxStepCell
    {
        private readonly Parameter inputWeights, recurrentForget, recurrentCandidate, bias;

        public MinimalGatedCell(long inputSize, long hiddenSize, bool wrongState = false) : base("mgu")
        {
            InputSize = inputSize;
            OutputSize = hiddenSize;
            StateSizes = [hiddenSize];
            WrongState = wrongState;
            double bound = 1 / Math.Sqrt(hiddenSize);
            inputWeights = new Parameter(empty(2 * hiddenSize, inputSize).uniform_(-bound, bound));
            recurrentForget = new Parameter(empty(hiddenSize, hiddenSize).uniform_(-bound, bound));
            recurrentCandidate = new Parameter(empty(hiddenSize, hiddenSize).uniform_(-bound, bound));
            bias = new Parameter(empty(2 * hiddenSize).uniform_(-bound, bound));
            RegisterComponents();
        }

        private bool WrongState { get; }

        public override long InputSize { get; }

        public override IReadOnlyList<long> StateSizes { get; }

        public override long OutputSize { get; }

        public override (Tensor Output, Tensor[] State) Step(Tensor input, IReadOnlyList<Tensor> state)
        {
            var h = state[0];
            var projected = nn.functional.linear(input, inputWeights, bias).chunk(2, 1);
            var f = sigmoid(projected[0] + h.matmul(recurrentForget.t()));
            var candidate = tanh(projected[1] + (f * h).matmul(recurrentCandidate.t()));
            var next = h + f * (candidate - h);
            return (next, [next]);
        }

        public (string Output, string[] State) WriteOnnxStep(OnnxStep step, string input, IReadOnlyList<string> state)
        {
            string h = state[0];
            var projected = step.Split(step.Linear(input, inputWeights, bias, "input"), 2);
            string f = step.Apply("Sigmoid", step.Apply("Add", projected[0], step.Linear(h, recurrentForget, null, "forget")));
            string candidate = step.Apply("Tanh", step.Apply("Add", projected[1], step.Linear(step.Apply("Mul", f, h), recurrentCandidate, null, "candidate")));
            string next = step.Apply("Add", h, step.Apply("Mul", f, step.Apply("Sub", candidate, h)));
            return (next, WrongState ? [next, next] : [next]);
        }
    }

    private static RnnSequenceClassifier.Options Classifier(RnnCellKind cell) => new()
    {
        FeatureColumnName = nameof(OnnxExportTests.TokenRow.Tokens), LabelColumnName = nameof(OnnxExportTests.TokenRow.Class),
        EmbeddingSize = 5, HiddenSize = 6, MaxEpochs = 2, Seed = 3, Bidirectional = true, EnsembleSize = 1, Cell = cell,
    };

    [Fact]
    public void AGatedCellOfYourOwnConvertsAndScoresAsTheComponent()
    {
        RnnCellKind.Register("test-onnx-mgu", (input, hidden, _) => new MinimalGatedCell(input, hidden));
        var ml = new MLContext(seed: 1);
        var data = OnnxExportTests.Rows(ml, 60, seed: 2);
        var options = Classifier(RnnCellKind.Custom("test-onnx-mgu"));
        using var model = ml.Transforms.Rnn.SequenceClassifier(options).Fit(data);
        var input = OnnxExportTests.Only(ml, data, options.FeatureColumnName);
        model.ScoringEngine = RnnScoringEngine.TorchSharp;
        var expected = OnnxExportTests.Floats(model.Transform(input), "Score");

        string path = Path.Combine(_directory, "mgu.onnx");
        using (var stream = File.Create(path))
            ml.Model.ConvertToOnnx(model, input, stream);
        OnnxExportTests.AssertClose(expected, OnnxExportTests.RunInBatches(path, input, options.FeatureColumnName, "Score.output"));
        model.ScoringEngine = RnnScoringEngine.OnnxRuntime;
        OnnxExportTests.AssertClose(expected, OnnxExportTests.Floats(model.Transform(input), "Score"));
    }

    [Fact]
    public void ACellThatDoesNotDescribeItsStepOrDescribesItWrongFailsSayingSo()
    {
        var ml = new MLContext(seed: 1);
        var data = OnnxExportTests.Rows(ml, 30, seed: 6);
        var input = OnnxExportTests.Only(ml, data, nameof(OnnxExportTests.TokenRow.Tokens));
        using var stream = new MemoryStream();

        RnnCellKind.Register("test-onnx-tanh-sum", (i, h, _) => new TanhSumCell(i, h));
        using (var model = ml.Transforms.Rnn.SequenceClassifier(Classifier(RnnCellKind.Custom("test-onnx-tanh-sum"))).Fit(data))
        {
            var error = Assert.Throws<NotSupportedException>(() => ml.Model.ConvertToOnnx(model, input, stream));
            Assert.Contains("feature column 'Tokens': the cell TanhSumCell does not describe its step in ONNX operators: implement IOnnxStepCell", error.Message);
            model.ScoringEngine = RnnScoringEngine.OnnxRuntime;
            var engine = Assert.Throws<InvalidOperationException>(() => OnnxExportTests.Floats(model.Transform(input), "Score"));
            Assert.Contains("implement IOnnxStepCell", engine.Message);
        }

        RnnCellKind.Register("test-onnx-wrong-state", (i, h, _) => new MinimalGatedCell(i, h, wrongState: true));
        using (var model = ml.Transforms.Rnn.SequenceClassifier(Classifier(RnnCellKind.Custom("test-onnx-wrong-state"))).Fit(data))
        {
            var error = Assert.Throws<InvalidOperationException>(() => ml.Model.ConvertToOnnx(model, input, stream));
            Assert.Contains("MinimalGatedCell.WriteOnnxStep returned 2 state values; the cell has 1 (StateSizes)", error.Message);
        }
    }

    [Fact]
    public void WritingAGraphAttributeIntoAConverterOfAnotherShapeFailsNamingWhatItFound()
    {
        var attribute = OnnxProto.GraphAttribute("body", new OnnxSubgraph([]));
        var error = Assert.Throws<NotSupportedException>(() => ConverterGraphAttribute.Add(new object(), attribute));
        Assert.Contains("ML.NET's ONNX converter has changed shape: its node System.Object holds no NodeProto message in a field '_node' (no such field)", error.Message);
        var wrongType = Assert.Throws<NotSupportedException>(() => ConverterGraphAttribute.Add(new NodeOfAnotherShape(), attribute));
        Assert.Contains("(found System.String)", wrongType.Message);
    }

    private sealed class NodeOfAnotherShape
    {
#pragma warning disable CS0414, IDE0052 // read by reflection only
        private readonly string _node = "not a NodeProto";
#pragma warning restore CS0414, IDE0052
    }
}
