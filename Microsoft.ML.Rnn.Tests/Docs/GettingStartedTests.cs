using Microsoft.ML.Data;
using Xunit;

namespace Microsoft.ML.Rnn.Tests.Docs;

/// <summary>The README's and docs/getting-started.md's text classification, run as written from a folder holding data/.</summary>
public class GettingStartedTests
{
    [Fact]
    public void TextClassificationInTenLinesTrainsBeatsChanceAndSaves()
    {
        string folder = Path.Combine(Path.GetTempPath(), "rnn-getting-started-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(Path.Combine(folder, "data"));
        foreach (var name in new[] { "fortune-topics-train.tsv", "fortune-topics-test.tsv" })
            File.Copy(Path.Combine(AppContext.BaseDirectory, "Data", name), Path.Combine(folder, "data", name));
        string previous = Directory.GetCurrentDirectory();
        var console = Console.Out;
        var printed = new StringWriter();
        // The snippet uses paths relative to the current folder, as a user's program run from the repository root
        // does; tests in this assembly run one at a time, so changing the folder briefly is safe.
        Directory.SetCurrentDirectory(folder);
        Console.SetOut(printed);
        try
        {
            // snippet: text-classification
            var ml = new MLContext(seed: 1);
            var train = ml.Data.LoadFromTextFile<Fortune>("data/fortune-topics-train.tsv", hasHeader: true, allowQuoting: false);
            var test = ml.Data.LoadFromTextFile<Fortune>("data/fortune-topics-test.tsv", hasHeader: true, allowQuoting: false);
            var pipeline = ml.Transforms.Conversion.MapValueToKey("Label", "Topic")
                .Append(ml.Transforms.Text.NormalizeText("Normalized", "Text"))              // lower case, no punctuation
                .Append(ml.Transforms.Text.TokenizeIntoWords("Features", "Normalized"))      // words: read with their characters
                .Append(ml.Transforms.Rnn.SequenceClassifier(hiddenSize: 32, maxEpochs: 5)); // embedding + BiLSTM
            var model = pipeline.Fit(train);
            var metrics = ml.MulticlassClassification.Evaluate(model.Transform(test));
            Console.WriteLine($"accuracy {metrics.MicroAccuracy:F3}");
            ml.Model.Save(model, train.Schema, "topics.zip");
            // end snippet

            Assert.True(metrics.MicroAccuracy > 0.25, $"accuracy {metrics.MicroAccuracy} (chance 0.125, twice chance expected)");
            Assert.StartsWith("accuracy 0.", printed.ToString());
            var loaded = new MLContext().Model.Load("topics.zip", out _);
            Assert.Equal(metrics.MicroAccuracy, ml.MulticlassClassification.Evaluate(loaded.Transform(test)).MicroAccuracy);
        }
        finally
        {
            Console.SetOut(console);
            Directory.SetCurrentDirectory(previous);
            Directory.Delete(folder, recursive: true);
        }
    }
}

// snippet: text-classification-row
public class Fortune
{
    [LoadColumn(0)] public string Topic { get; set; } = "";
    [LoadColumn(1)] public string Text { get; set; } = "";
}
// end snippet
