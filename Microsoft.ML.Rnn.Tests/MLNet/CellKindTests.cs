using Microsoft.ML.Rnn.Core;
using Microsoft.ML.Rnn.Tests.Core;
using Microsoft.ML.Rnn.Tests.Experiments;
using Xunit;

namespace Microsoft.ML.Rnn.Tests.MLNet;

/// <summary>
/// Cell kinds: the built-in kinds with TensorFlow's options, and cells of one's own registered by name, train in the
/// components, save into the zip by name and load where the name is registered.
/// </summary>
public class CellKindTests
{
    public static TheoryData<string> BuiltInKinds() => new() { "lstm-tf", "lstm-projection", "gru-tf", "rnn-relu", "cifg", "layer-norm" };

    private static RnnCellKind Kind(string name) => name switch
    {
        "lstm-tf" => RnnCellKind.Lstm(new LstmCellOptions { ForgetBias = 1, UsePeepholes = true, CellClip = 3 }),
        "lstm-projection" => RnnCellKind.Lstm(new LstmCellOptions { NumProj = 4, ProjClip = 2, UsePeepholes = true }),
        "gru-tf" => RnnCellKind.Gru(GruResetGate.BeforeRecurrentMatmul),
        "rnn-relu" => RnnCellKind.SimpleRnn(SimpleRnnActivation.Relu),
        "cifg" => RnnCellKind.CoupledInputForgetLstm(),
        _ => RnnCellKind.LayerNormLstm(forgetBias: 0.5),
    };

    [Fact]
    public void BuiltInKindsBuildCellsWithTheirOptions()
    {
        var lstm = Assert.IsType<LstmCell>(Kind("lstm-tf").Build(3, 4));
        Assert.Equal(new LstmCellOptions { ForgetBias = 1, UsePeepholes = true, CellClip = 3 }, lstm.Options);
        Assert.False(lstm.CanFuse);
        Assert.Equal(GruResetGate.BeforeRecurrentMatmul, Assert.IsType<GruCell>(Kind("gru-tf").Build(3, 4)).ResetGate);
        Assert.Equal(SimpleRnnActivation.Relu, Assert.IsType<SimpleRnnCell>(Kind("rnn-relu").Build(3, 4)).Activation);
        Assert.IsType<CoupledInputForgetLstmCell>(Kind("cifg").Build(3, 4));
        Assert.IsType<LayerNormLstmCell>(Kind("layer-norm").Build(3, 4));
        Assert.True(RnnCellKind.FromType(RnnCellType.Gru).Build(3, 4).CanFuse);
        Assert.Equal("lstm(cell_clip=3, forget_bias=1, use_peepholes=true)", Kind("lstm-tf").ToString());
        Assert.Equal(Kind("lstm-tf"), RnnCellKind.Lstm(new LstmCellOptions { CellClip = 3, UsePeepholes = true, ForgetBias = 1 }));
        Assert.Equal((4, 3, 1), (Kind("lstm-tf").GatesPerUnit, Kind("gru-tf").GatesPerUnit, Kind("rnn-relu").GatesPerUnit));
        // The registry's count is the built cell's own layout, for every built-in kind.
        foreach (var kind in new[] { RnnCellKind.Lstm(), RnnCellKind.Gru(), RnnCellKind.SimpleRnn(), RnnCellKind.CoupledInputForgetLstm(), RnnCellKind.LayerNormLstm() })
        {
            using var cell = (GatedRnnCell)kind.Build(3, 4);
            Assert.Equal(cell.GatesPerUnit, kind.GatesPerUnit);
        }
    }

    [Fact]
    public void MakingAKindLeavesLibtorchsGeneratorAlone()
    {
        TorchSharp.torch.manual_seed(9);
        float expected = TorchSharp.torch.rand(1).item<float>();
        TorchSharp.torch.manual_seed(9);
        _ = Kind("lstm-tf");
        _ = RnnCellKind.FromType(RnnCellType.Lstm);
        _ = RnnCellKind.LayerNormLstm(2.0).GatesPerUnit;
        Assert.Equal(expected, TorchSharp.torch.rand(1).item<float>());
    }

    [Fact]
    public void AProjectedLstmFeedsItsProjectionToTheLayerAboveAndTheHead()
    {
        using var scope = TorchSharp.torch.NewDisposeScope();
        using var encoder = new Microsoft.ML.Rnn.Networks.SequenceEncoder(new Microsoft.ML.Rnn.Networks.SequenceEncoderOptions
        {
            InputSize = 3, HiddenSize = 6, NumberOfLayers = 2, Bidirectional = true, Cell = Kind("lstm-projection"),
        });
        Assert.Equal(4, encoder.DirectionOutputSize);
        Assert.Equal(8, encoder.OutputSize);
        Assert.Equal(8, encoder.Cells.Forward[1].InputSize);
        var encoded = encoder.Encode(TorchSharp.torch.randn(2, 5, 3), TorchSharp.torch.tensor(new long[] { 5, 2 }));
        Assert.Equal([2L, 5, 8], encoded.Outputs.shape);
        Assert.Equal([2L, 8], encoded.FinalHidden.shape);
        Assert.Equal(4, Kind("lstm-projection").OutputSize(6));
        Assert.Equal(6, Kind("lstm-tf").OutputSize(6));
    }

    [Fact]
    public void BadKindsFailWhereTheyAreMade()
    {
        var clip = Assert.Throws<FormatException>(() => RnnCellKind.Lstm(new LstmCellOptions { CellClip = -1 }));
        Assert.StartsWith("RnnCellKind: bad options for 'lstm': ", clip.Message);
        Assert.Contains("CellClip must be positive", clip.Message);
        var projection = Assert.Throws<FormatException>(() => RnnCellKind.Lstm(new LstmCellOptions { ProjClip = 2 }));
        Assert.Contains("ProjClip requires NumProj", projection.Message);
        var builtIn = Assert.Throws<ArgumentException>(() => RnnCellKind.Register("lstm", (i, h, _) => new LstmCell(i, h)));
        Assert.Contains("'lstm' is a built-in cell kind", builtIn.Message);
        var unknown = Assert.Throws<ArgumentException>(() => RnnCellKind.Custom("never-registered"));
        Assert.Contains("call RnnCellKind.Register(\"never-registered\", ...) first", unknown.Message);
        Assert.Throws<ArgumentException>(() => RnnCellKind.Register("has space", (i, h, _) => new LstmCell(i, h)));
    }

    [Theory]
    [MemberData(nameof(BuiltInKinds))]
    public void EveryBuiltInKindTrainsSavesAndLoadsInAComponent(string name)
    {
        var kind = Kind(name);
        var (model, scores, loadedScores, loadedKind) = FitSaveLoad(kind);
        using (model)
        {
            Assert.Equal(kind, model.Encoder.Options.Cell);
            Assert.Equal(kind, loadedKind);
            Assert.Equal(scores, loadedScores, Tolerances.Within(Tolerances.Float32Score));
        }
    }

    [Fact]
    public void ACellOfYourOwnTrainsInEveryComponentAndLoadsByName()
    {
        RnnCellKind.Register("test-tanh-sum", (input, hidden, options) => new TanhSumCell(input, hidden,
            seed: long.Parse(options.TryGetValue("seed", out var s) ? s : "1", System.Globalization.CultureInfo.InvariantCulture)));
        var kind = RnnCellKind.Custom("test-tanh-sum", new Dictionary<string, string> { ["seed"] = "3" });
        var (model, scores, loadedScores, loadedKind) = FitSaveLoad(kind);
        using (model)
        {
            Assert.IsType<TanhSumCell>(model.Encoder.Cells.Forward[0]);
            Assert.Equal(kind, loadedKind);
            Assert.Equal(scores, loadedScores, Tolerances.Within(Tolerances.Float32Score));
        }

        // The encoder and the tagger take it too.
        var ml = new MLContext(1);
        var digits = ExperimentData.Digits(ml, 60);
        using var encoder = ml.Transforms.Rnn.BiGruEncoder(new BiGruEncoder.Options
        {
            FeaturesPerStep = 8, HiddenSize = 6, MaxEpochs = 1, Cell = kind, Seed = 1,
        }).Fit(digits);
        Assert.IsType<TanhSumCell>(encoder.Encoder.Cells.Forward[0]);
        var sentences = ConllSentences.Read(ConllSentences.DataPath("truecase-punct-train.conll"), take: 30);
        var text = ml.Data.LoadFromEnumerable(sentences);
        var tagged = ml.Transforms.Conversion.MapValueToKey("Features", "Tokens").Append(ml.Transforms.Conversion.MapValueToKey("Label", "Punct"))
            .Fit(text).Transform(text);
        using var tagger = ml.Transforms.Rnn.LstmTagger(new LstmTagger.Options { EmbeddingSize = 8, HiddenSize = 6, MaxEpochs = 1, Cell = kind, Seed = 1 })
            .Fit(tagged);
        Assert.IsType<TanhSumCell>(tagger.Encoder.Cells.Forward[0]);
    }

    [Fact]
    public void AProcessThatRegistersTheNameLoadsTheModelAndScoresAlike()
    {
        var ml = new MLContext(1);
        var data = ExperimentData.Digits(ml, 40);
        var options = ExperimentData.DigitOptions(1);
        options.Cell = RnnCellKind.Custom(TestCellKinds.TanhSum);
        using var model = ml.Transforms.Rnn.SequenceClassifier(options).Fit(data);
        string directory = Directory.CreateTempSubdirectory("rnn-cell-kind-").FullName;
        try
        {
            string path = Path.Combine(directory, "custom-cell.zip");
            ml.Model.Save(model, data.Schema, path);
            // This assembly registers the name when the loader process loads it, as an application would at start-up.
            var loaded = LoaderProcess.Run(ml, path, data, ["Score"], typeof(TestCellKinds).Assembly.Location);
            var expected = ScoreColumn.Rows(ml, model, data);
            Assert.Equal(expected.Count, loaded["Score"].Count);
            for (int i = 0; i < expected.Count; i++)
                Assert.Equal(expected[i], loaded["Score"][i], Tolerances.Within(Tolerances.Float32Score));
            // A process that does not register it is told which name to register.
            var e = Assert.Throws<LoaderFailedException>(() => LoaderProcess.Run(ml, path, data, ["Score"]));
            Assert.Contains($"call RnnCellKind.Register(\"{TestCellKinds.TanhSum}\", ...)", e.Message);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public void AModelOfAnUnregisteredCellFailsNamingTheKindToRegister()
    {
        RnnCellKind.Register("test-forgotten", (input, hidden, _) => new TanhSumCell(input, hidden));
        var ml = new MLContext(1);
        var data = ExperimentData.Digits(ml, 40);
        var options = ExperimentData.DigitOptions(1);
        options.Cell = RnnCellKind.Custom("test-forgotten");
        using var model = ml.Transforms.Rnn.SequenceClassifier(options).Fit(data);
        using var zip = new MemoryStream();
        ml.Model.Save(model, data.Schema, zip);

        Assert.True(RnnCellKind.Unregister("test-forgotten"));   // as in a process that never registered it
        zip.Position = 0;
        var e = Assert.ThrowsAny<Exception>(() => ml.Model.Load(zip, out _));
        string message = e.InnerException?.Message ?? e.Message;
        Assert.Contains("the model's cells are of kind 'test-forgotten', which is not registered in this process", message);
        Assert.Contains("RnnCellKind.Register(\"test-forgotten\", ...)", message);

        RnnCellKind.Register("test-forgotten", (input, hidden, _) => new TanhSumCell(input, hidden));
        zip.Position = 0;
        (ml.Model.Load(zip, out _) as IDisposable)?.Dispose();
    }

    /// <summary>A small digits classifier with <paramref name="kind"/> cells: fitted, its scores, and its zip's loaded scores and kind.</summary>
    private static (RnnSequenceClassifierTransformer Model, float[] Scores, float[] LoadedScores, RnnCellKind? LoadedKind) FitSaveLoad(RnnCellKind kind)
    {
        var ml = new MLContext(1);
        var data = ExperimentData.Digits(ml, 60);
        var options = ExperimentData.DigitOptions(1);
        options.HiddenSize = 6;
        options.Cell = kind;
        options.Seed = 2;
        var model = ml.Transforms.Rnn.SequenceClassifier(options).Fit(data);
        using var zip = new MemoryStream();
        ml.Model.Save(model, data.Schema, zip);
        zip.Position = 0;
        var loaded = Assert.IsType<RnnSequenceClassifierTransformer>(ml.Model.Load(zip, out _));
        using (loaded)
            return (model, ScoreColumn.Flat(ml, model, data), ScoreColumn.Flat(ml, loaded, data), loaded.Encoder.Options.Cell);
    }
}
