using Microsoft.ML.Rnn.Tests.Experiments;
using Xunit;

namespace Microsoft.ML.Rnn.Tests.MLNet;

/// <summary>The per-direction stacking is an option of the estimators, and a model keeps it through its zip.</summary>
public class BidirectionalStackingComponentTests
{
    [Fact]
    public void APerDirectionClassifierSavesAndLoadsItsStacking()
    {
        var ml = new MLContext(1);
        var data = ExperimentData.Digits(ml, 80);
        var options = ExperimentData.DigitOptions(2);
        options.NumberOfLayers = 2;
        options.BidirectionalStacking = BidirectionalStacking.PerDirection;
        options.Seed = 2;
        using var model = ml.Transforms.Rnn.SequenceClassifier(options).Fit(data);
        Assert.Equal(BidirectionalStacking.PerDirection, model.Encoder.Options.Stacking);
        Assert.Equal(16, model.Encoder.Cells.Forward[1].InputSize);

        using var zip = new MemoryStream();
        ml.Model.Save(model, data.Schema, zip);
        zip.Position = 0;
        var loaded = ml.Model.Load(zip, out _);
        try
        {
            var loadedClassifier = Assert.IsType<RnnSequenceClassifierTransformer>(loaded);
            Assert.Equal(BidirectionalStacking.PerDirection, loadedClassifier.Encoder.Options.Stacking);
            Assert.Equal(ScoreColumn.Flat(ml, model, data), ScoreColumn.Flat(ml, loaded, data), Tolerances.Within(Tolerances.Float32Score));
        }
        finally
        {
            (loaded as IDisposable)?.Dispose();
        }
    }

    [Fact]
    public void AnUnknownStackingIsRefusedNamingTheOption()
    {
        var ml = new MLContext(1);
        var options = ExperimentData.DigitOptions();
        options.BidirectionalStacking = (BidirectionalStacking)7;
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => ml.Transforms.Rnn.SequenceClassifier(options));
        Assert.Equal("BidirectionalStacking", e.ParamName);
    }
}
