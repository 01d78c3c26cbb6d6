using Examples.Shared;

namespace Microsoft.ML.Rnn.EndToEndTests;

/// <summary>The examples' shared helpers: progress display, confusion counts and the images.</summary>
[TestClass]
public sealed class ExampleHelpersTests
{
    private static EpochProgress Epoch(int epoch, double loss, double? metric, bool best, int max = 10) =>
        new(epoch, max, loss, metric, best, TimeSpan.FromSeconds(2 * (epoch + 1)), TimeSpan.FromSeconds(2 * (max - epoch - 1)));

    [TestMethod]
    public void RedirectedProgressWritesOnePlainLinePerEpochAndASummary()
    {
        var text = new StringWriter();
        var progress = new TrainingProgress("BiLSTM", "val acc", text);
        progress.Report(Epoch(0, 1.5, 0.5, true));
        progress.Report(Epoch(1, 0.75, 0.8, true));
        progress.Report(Epoch(2, 0.5, 0.7, false));
        progress.Done();
        progress.Done(); // a second call for the same run prints nothing more

        string[] lines = text.ToString().Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries);
        CollectionAssert.AreEqual(new[]
        {
            "  BiLSTM epoch  1/10  loss 1.5000  val acc 0.5000 *  2.0s elapsed, ~18.0s left",
            "  BiLSTM epoch  2/10  loss 0.7500  val acc 0.8000 *  4.0s elapsed, ~16.0s left",
            "  BiLSTM epoch  3/10  loss 0.5000  val acc 0.7000    6.0s elapsed, ~14.0s left",
            "  BiLSTM: early stopping after 3/10 epochs in 6.0s, kept epoch 2",
        }, lines);
        Assert.AreEqual(1, progress.Best!.Epoch);
    }

    [TestMethod]
    public void LiveProgressRedrawsOneLineWithABar()
    {
        var text = new StringWriter();
        var progress = new TrainingProgress("GRU", "val", text, live: true);
        progress.Report(Epoch(0, 2, null, true, max: 4));
        progress.Report(Epoch(3, 1, null, true, max: 4));
        progress.Done();
        string output = text.ToString();
        StringAssert.StartsWith(output, "\r[######..................]  GRU epoch 1/4  loss 2.0000 *  2.0s elapsed");
        StringAssert.Contains(output, "\r[########################]  GRU epoch 4/4  loss 1.0000 *");
        StringAssert.Contains(output, Environment.NewLine + "  GRU: 4 epochs in 8.0s, kept epoch 4");
    }

    [TestMethod]
    public void HandWrittenLoopsNameTheirUnit()
    {
        var text = new StringWriter();
        var progress = new TrainingProgress("HM-LSTM", output: text, unit: "step");
        progress.Report(Epoch(299, 3.25, null, false, max: 300));
        progress.Done();
        StringAssert.Contains(text.ToString(), "  HM-LSTM step 300/300  loss 3.2500    10m00s elapsed, ~0.0s left");
        StringAssert.Contains(text.ToString(), "  HM-LSTM: 300 steps in 10m00s" + Environment.NewLine);
    }

    [TestMethod]
    public void AnEpochZeroReportStartsANewRun()
    {
        var progress = new TrainingProgress("encoder", output: TextWriter.Null);
        progress.Report(Epoch(0, 3, null, true));
        progress.Report(Epoch(1, 2, null, true));
        progress.Report(Epoch(0, 9, null, true));
        Assert.HasCount(1, progress.History);
        Assert.AreEqual(9, progress.History[0].TrainLoss);
    }

    [TestMethod]
    public void ConfusionCountsPairGoldAndPredictedTagsByText()
    {
        var ml = new MLContext(seed: 1);
        // Gold and predicted tags use different key orders: the counts must follow the tag text, not the key index.
        var rows = new[]
        {
            new TagPair { Gold = ["A", "B", "B"], Predicted = ["B", "B", "A"] },
            new TagPair { Gold = ["A", "C"], Predicted = ["A", "C"] },
        };
        var view = ml.Data.LoadFromEnumerable(rows);
        var scored = ml.Transforms.Conversion.MapValueToKey("Label", "Gold")
            .Append(ml.Transforms.Conversion.MapValueToKey("PredictedLabel", "Predicted"))
            .Fit(view).Transform(view);

        var (tags, counts) = ConfusionMatrixPlot.FromTaggerOutput(scored);
        CollectionAssert.AreEqual(new[] { "A", "B", "C" }, tags);
        long[,] expected = { { 1, 1, 0 }, { 1, 1, 0 }, { 0, 0, 1 } };
        CollectionAssert.AreEqual(expected, counts);

        string png = Path.Combine(Path.GetTempPath(), $"rnn-confusion-{Guid.NewGuid():N}.png");
        try
        {
            ConfusionMatrixPlot.Save(png, "test", tags, counts);
            CollectionAssert.AreEqual(new byte[] { 0x89, 0x50, 0x4E, 0x47 }, File.ReadAllBytes(png)[..4]);
            Assert.ThrowsExactly<ArgumentException>(() => ConfusionMatrixPlot.Save(png, "test", ["A", "B"], counts));
        }
        finally
        {
            File.Delete(png);
        }
    }

    private sealed class TagPair
    {
        public string[] Gold { get; set; } = [];
        public string[] Predicted { get; set; } = [];
    }
}
