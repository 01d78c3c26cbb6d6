using Microsoft.ML.Rnn.Core;
using Microsoft.ML.Rnn.Onnx;
using Microsoft.ML.Rnn.Tests.Core;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;

namespace Microsoft.ML.Rnn.Tests.MLNet;

/// <summary>
/// Cells of your own and ONNX (the one that describes its step is docs/core-api.md's, <c>CustomCellDocTests</c>): one
/// that does not describe its step fails conversion saying so; a step that returns the wrong state fails naming it;
/// and the one place that writes graph attributes into ML.NET's converter fails with a message when the converter's
/// node is not what it expects.
/// </summary>
public sealed class OnnxCellOfYourOwnTests
{
    /// <summary>A cell of two states whose ONNX step returns one: a mistake conversion must name.</summary>
    private sealed class ForgetfulCell : RnnCell, IOnnxStepCell
    {
        private readonly Parameter weights;

        public ForgetfulCell(long inputSize, long hiddenSize) : base("forgetful")
        {
            InputSize = inputSize;
            OutputSize = hiddenSize;
            StateSizes = [hiddenSize, hiddenSize];
            weights = new Parameter(empty(hiddenSize, inputSize).uniform_(-0.5, 0.5));
            RegisterComponents();
        }

        public override long InputSize { get; }

        public override IReadOnlyList<long> StateSizes { get; }

        public override long OutputSize { get; }

        public override (Tensor Output, Tensor[] State) Step(Tensor input, IReadOnlyList<Tensor> state)
        {
            var h = tanh(input.matmul(weights.t()) + state[0]);
            return (h, [h, state[1] + h]);
        }

        public (string Output, string[] State) WriteOnnxStep(OnnxStep step, string input, IReadOnlyList<string> state)
        {
            string h = step.Apply("Tanh", step.Apply("Add", step.Linear(input, weights, null, "input"), state[0]));
            return (h, [h]);
        }
    }

    private static RnnSequenceClassifier.Options Classifier(RnnCellKind cell) => new()
    {
        FeatureColumnName = nameof(OnnxExportTests.TokenRow.Tokens), LabelColumnName = nameof(OnnxExportTests.TokenRow.Class),
        EmbeddingSize = 5, HiddenSize = 6, MaxEpochs = 2, Seed = 3, Bidirectional = true, EnsembleSize = 1, Cell = cell,
    };

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

        RnnCellKind.Register("test-onnx-wrong-state", (i, h, _) => new ForgetfulCell(i, h));
        using (var model = ml.Transforms.Rnn.SequenceClassifier(Classifier(RnnCellKind.Custom("test-onnx-wrong-state"))).Fit(data))
        {
            var error = Assert.Throws<InvalidOperationException>(() => ml.Model.ConvertToOnnx(model, input, stream));
            Assert.Contains("ForgetfulCell.WriteOnnxStep returned 1 state values; the cell has 2 (StateSizes)", error.Message);
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
