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
                .Append(ml.Transforms.Text.TokenizeIntoWords("Features", "Text"))            // words, read with their characters
                .Append(ml.Transforms.Rnn.SequenceClassifier(hiddenSize: 32, maxEpochs: 5,   // BiGRU + a tf-idf word bag,
                    classWeighting: ClassWeighting.InverseFrequency));                     // rare topics weighted up
            var model = pipeline.Fit(train);
            var metrics = ml.MulticlassClassification.Evaluate(model.Transform(test));
            Console.WriteLine($"accuracy {metrics.MicroAccuracy:F3}");
            ml.Model.Save(model, train.Schema, "topics.zip");
            using (var onnx = File.Create("topics.onnx"))                   // Microsoft.ML.OnnxConverter: scoring without libtorch
                ml.Model.ConvertToOnnx(model, train, onnx);
            // end snippet

            Assert.True(metrics.MicroAccuracy > 0.25, $"accuracy {metrics.MicroAccuracy} (chance 0.125, twice chance expected)");
            Assert.StartsWith("accuracy 0.", printed.ToString());
            var loaded = new MLContext().Model.Load("topics.zip", out _);
            Assert.Equal(metrics.MicroAccuracy, ml.MulticlassClassification.Evaluate(loaded.Transform(test)).MicroAccuracy);
            // The ONNX file scores the test rows as the model does (ONNX Runtime through ApplyOnnxModel).
            var onnxScores = ml.Data.CreateEnumerable<ScoreRow>(ml.Transforms.ApplyOnnxModel("topics.onnx").Fit(test).Transform(test), false).ToList();
            var modelScores = ml.Data.CreateEnumerable<ScoreRow>(model.Transform(test), false).ToList();
            Assert.Equal(modelScores.Count, onnxScores.Count);
            for (int i = 0; i < modelScores.Count; i++)
                Assert.Equal(modelScores[i].Score, onnxScores[i].Score, Tolerances.Within(2e-5f));
        }
        finally
        {
            Console.SetOut(console);
            Directory.SetCurrentDirectory(previous);
            Directory.Delete(folder, recursive: true);
        }
    }
}

internal sealed class ScoreRow
{
    public float[] Score { get; set; } = [];
}

// snippet: text-classification-row
public class Fortune
{
    [LoadColumn(0)] public string Topic { get; set; } = "";
    [LoadColumn(1)] public string Text { get; set; } = "";
}
// end snippet
