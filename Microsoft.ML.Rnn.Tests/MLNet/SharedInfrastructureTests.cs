using Microsoft.ML.Rnn.Features;
using Microsoft.ML.Rnn.Scoring;
using Microsoft.ML.Rnn.Training;
using Xunit;

namespace Microsoft.ML.Rnn.Tests.MLNet;

/// <summary>The shared component pieces: option checks, the validation split, word-vector files, device fallback.</summary>
public sealed class SharedInfrastructureTests
{
    private sealed class TestOptions : RnnOptionsBase;

    [Theory]
    [InlineData(nameof(RnnOptionsBase.HiddenSize), "X: HiddenSize must be at least 1, got 0.")]
    [InlineData(nameof(RnnOptionsBase.BatchSize), "X: BatchSize must be at least 1, got 0.")]
    [InlineData(nameof(RnnOptionsBase.MaxEpochs), "X: MaxEpochs must be at least 1, got 0.")]
    [InlineData(nameof(RnnOptionsBase.FeaturesPerStep), "X: FeaturesPerStep must be at least 1, got 0.")]
    public void ValidationNamesTheFieldAndValue(string field, string message)
    {
        var options = new TestOptions();
        typeof(RnnOptionsBase).GetField(field)!.SetValue(options, 0);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => RnnOptionsValidation.Validate(options, "X"));
        Assert.Equal(field, e.ParamName);
        Assert.StartsWith(message, e.Message);
    }

    [Theory]
    [InlineData(nameof(RnnOptionsBase.BidirectionalStacking))]
    [InlineData(nameof(RnnOptionsBase.LearningRateSchedule))]
    [InlineData(nameof(RnnOptionsBase.Initialization))]
    [InlineData(nameof(RnnOptionsBase.FusedKernels))]
    [InlineData(nameof(RnnOptionsBase.Device))]
    public void AnEnumOptionOutsideItsValuesFailsNamingTheOptionAndItsValues(string field)
    {
        var options = new TestOptions();
        var info = typeof(RnnOptionsBase).GetField(field)!;
        var type = Nullable.GetUnderlyingType(info.FieldType) ?? info.FieldType;
        info.SetValue(options, Enum.ToObject(type, 97));
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => RnnOptionsValidation.Validate(options, "X"));
        Assert.Equal(field, e.ParamName);
        Assert.StartsWith($"X: unknown {field} 97; expected one of {string.Join(", ", Enum.GetNames(type))}.", e.Message);
    }

    [Fact]
    public void ANullCellFailsNamingTheOptionAndTheFlatOverloadAnUnknownCellType()
    {
        var e = Assert.Throws<ArgumentNullException>(() => RnnOptionsValidation.Validate(new TestOptions { Cell = null! }, "X"));
        Assert.Equal(nameof(RnnOptionsBase.Cell), e.ParamName);
        Assert.StartsWith("X: Cell must be a cell kind", e.Message);
        var flat = Assert.Throws<ArgumentOutOfRangeException>(() => new MLContext(1).Transforms.Rnn.SequenceClassifier(cellType: (RnnCellType)97));
        Assert.Equal("cellType", flat.ParamName);
        Assert.StartsWith("SequenceClassifier: unknown cellType 97; expected one of Lstm, Gru, SimpleRnn.", flat.Message);
    }

    [Fact]
    public void ValidationRejectsOutOfRangeFractions()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => RnnOptionsValidation.Validate(new TestOptions { Dropout = 1 }, "X"));
        Assert.Throws<ArgumentOutOfRangeException>(() => RnnOptionsValidation.Validate(new TestOptions { ValidationFraction = -0.1f }, "X"));
        Assert.Throws<ArgumentOutOfRangeException>(() => RnnOptionsValidation.Validate(new TestOptions { LearningRate = 0 }, "X"));
        Assert.Throws<ArgumentOutOfRangeException>(() => RnnOptionsValidation.Validate(new TestOptions { EarlyStoppingPatience = -1 }, "X"));
        Assert.Throws<ArgumentException>(() => RnnOptionsValidation.Validate(new TestOptions { WordVectorsFile = "/no/such/file.txt" }, "X"));
        RnnOptionsValidation.Validate(new TestOptions(), "X");
    }

    [Fact]
    public void AutomaticPatienceIsAThirdOfTheEpochsAndAtLeastThree()
    {
        Assert.Equal(RnnOptionsBase.AutomaticPatience, new TestOptions().EarlyStoppingPatience);
        Assert.Equal(4, new TestOptions { MaxEpochs = 10 }.ResolvedPatience);
        Assert.Equal(10, new TestOptions { MaxEpochs = 30 }.ResolvedPatience);
        Assert.Equal(3, new TestOptions { MaxEpochs = 2 }.ResolvedPatience);
        Assert.Equal(5, new TestOptions { MaxEpochs = 30, EarlyStoppingPatience = 5 }.ResolvedPatience);
        Assert.Null(new TestOptions { EarlyStoppingPatience = null }.ResolvedPatience);
    }

    [Fact]
    public void SplitIsSeededDisjointAndComplete()
    {
        var (train, validation) = SequenceTrainingDriver.Split(100, 0.2, seed: 5);
        Assert.Equal(80, train.Length);
        Assert.Equal(20, validation.Length);
        Assert.Equal(Enumerable.Range(0, 100), train.Concat(validation).Order());
        Assert.Equal(validation, SequenceTrainingDriver.Split(100, 0.2, seed: 5).Validation);
        Assert.NotEqual(validation, SequenceTrainingDriver.Split(100, 0.2, seed: 6).Validation);
        Assert.Empty(SequenceTrainingDriver.Split(10, 0, 1).Validation);
        Assert.Single(SequenceTrainingDriver.Split(3, 0.01, 1).Validation);     // a positive fraction holds out at least one row
        Assert.Empty(SequenceTrainingDriver.Split(1, 0.5, 1).Validation);       // ... but never the only training row
    }

    [Fact]
    public void WordVectorFileFillsKnownWordsAndSeedsTheRest()
    {
        string path = Path.GetTempFileName();
        try
        {
            File.WriteAllLines(path, new[] { "3 2", "cat 1 2", "Dog 3.5 -4", "bird 5 6" });
            using var matrix = WordVectorFile.Load(path, new[] { "dog", "cat", "fish" }, rows: 4, seed: 3, out int found);
            Assert.Equal(new long[] { 4, 2 }, matrix.shape);
            Assert.Equal(2, found);
            var values = matrix.data<float>().ToArray();
            Assert.Equal(new[] { 3.5f, -4f, 1f, 2f }, values[..4]);
            Assert.All(values[4..], v => Assert.True(Math.Abs(v) < 1 && v != 0));
            using var again = WordVectorFile.Load(path, new[] { "dog", "cat", "fish" }, rows: 4, seed: 3, out _);
            Assert.Equal(values, again.data<float>().ToArray());

            File.WriteAllLines(path, new[] { "cat 1 2", "dog 1" });
            var e = Assert.Throws<FormatException>(() => WordVectorFile.Load(path, new[] { "cat" }, 1, 0, out _));
            Assert.Contains("line 2 has 1 values, expected 2", e.Message);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void CudaFallsBackToTheCpuWithoutCuda()
    {
        if (TorchSharp.torch.cuda.is_available()) return;
        Assert.Equal(TorchSharp.DeviceType.CPU, DeviceSelection.Resolve(RnnDevice.Cuda, null, "X").type);
        Assert.Equal(RnnCellKind.Lstm(), new TestOptions().Cell);
    }
}
