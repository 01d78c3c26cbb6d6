using Xunit;

namespace Microsoft.ML.Rnn.Tests.Docs;

/// <summary>The README's tagging and encoding pipelines and the classifier page's stacking pipeline, run as written on the repository's real data.</summary>
public class ComponentPipelineSnippetTests
{
    [Fact]
    public void TaggingPipelineBeatsTheMajorityTagAndSaves()
    {
        var trainSentences = ConllSentences.Read(ConllSentences.DataPath("truecase-punct-train.conll"), take: 1200);
        var testSentences = ConllSentences.Read(ConllSentences.DataPath("truecase-punct-test.conll"), take: 200);
        string zip = Path.Combine(Path.GetTempPath(), "rnn-readme-punct-" + Guid.NewGuid().ToString("N")[..12] + ".zip");
        try
        {
            // snippet: tagging-pipeline
            var ml = new MLContext(seed: 1);
            var train = ml.Data.LoadFromEnumerable(trainSentences);  // rows: string[] Tokens, string[] Punct (one tag per token)
            var test = ml.Data.LoadFromEnumerable(testSentences);
            var pipeline = ml.Transforms.Conversion.MapValueToKey("Label", "Punct")            // tags -> keys
                .Append(ml.Transforms.Rnn.LstmTagger(featureColumnName: "Tokens", hiddenSize: 64, maxEpochs: 6, learningRate: 0.01f)); // words + characters, BiLSTM
            var model = pipeline.Fit(train);
            TaggingMetrics metrics = TaggingEvaluator.Evaluate(model.Transform(test));
            Console.WriteLine($"token accuracy {metrics.TokenAccuracy:F3}, PERIOD F1 {metrics.PerTag["PERIOD"].F1:F3}");
            ml.Model.Save(model, train.Schema, zip);
            // end snippet

            // "O" after every word is the majority tag; the tagger must find sentence ends to beat it.
            long tokens = testSentences.Sum(s => s.Punct.Length);
            double majority = testSentences.Sum(s => s.Punct.Count(p => p == "O")) / (double)tokens;
            Assert.True(metrics.TokenAccuracy > majority, $"token accuracy {metrics.TokenAccuracy} vs majority tag {majority}");
            Assert.True(metrics.PerTag["PERIOD"].F1 > 0.3, $"PERIOD F1 {metrics.PerTag["PERIOD"].F1}");
            var loaded = new MLContext().Model.Load(zip, out _);
            Assert.Equal(metrics.TokenAccuracy, TaggingEvaluator.Evaluate(loaded.Transform(test)).TokenAccuracy);
        }
        finally
        {
            File.Delete(zip);
        }
    }

    [Fact]
    public void EncoderFeaturesNextToNGramsTrainSdca()
    {
        var ml0 = new MLContext();
        var trainRows = ml0.Data.CreateEnumerable<Fortune>(ml0.Data.LoadFromTextFile<Fortune>(
            Path.Combine(AppContext.BaseDirectory, "Data", "fortune-topics-train.tsv"), hasHeader: true, allowQuoting: false), false).ToList();
        var testRows = ml0.Data.CreateEnumerable<Fortune>(ml0.Data.LoadFromTextFile<Fortune>(
            Path.Combine(AppContext.BaseDirectory, "Data", "fortune-topics-test.tsv"), hasHeader: true, allowQuoting: false), false).ToList();

        // snippet: encoder-pipeline
        var ml = new MLContext(seed: 1);
        var train = ml.Data.LoadFromEnumerable(trainRows);  // rows: string Topic, string Text
        var test = ml.Data.LoadFromEnumerable(testRows);
        var pipeline = ml.Transforms.Conversion.MapValueToKey("Label", "Topic")
            .Append(ml.Transforms.Text.NormalizeText("Normalized", "Text"))
            .Append(ml.Transforms.Text.TokenizeIntoWords("Words", "Normalized"))
            .Append(ml.Transforms.Rnn.BiGruEncoder("Encoding", "Words", labelColumnName: null, hiddenSize: 32, maxEpochs: 4))  // no label: no leak
            .Append(ml.Transforms.NormalizeLpNorm("Encoding"))                  // unit length, as the n-gram vector
            .Append(ml.Transforms.Text.FeaturizeText("NGrams", "Text"))
            .Append(ml.Transforms.Concatenate("Features", "Encoding", "NGrams"))
            .AppendCacheCheckpoint(ml)                                  // encode once, not once per SDCA pass
            .Append(ml.MulticlassClassification.Trainers.SdcaMaximumEntropy());
        var metrics = ml.MulticlassClassification.Evaluate(pipeline.Fit(train).Transform(test));
        Console.WriteLine($"accuracy {metrics.MicroAccuracy:F3}");
        // end snippet

        Assert.True(metrics.MicroAccuracy > 0.25, $"accuracy {metrics.MicroAccuracy} (chance 0.125)");
    }

    [Fact]
    public void CrossFittedClassifierScoresNextToNGramsTrainSdca()
    {
        // Every 5th training row and every 2nd test row (of every topic): the snippet as written, in seconds.
        var ml0 = new MLContext();
        IEnumerable<Fortune> Rows(string file, int every) => ml0.Data.CreateEnumerable<Fortune>(ml0.Data.LoadFromTextFile<Fortune>(
            Path.Combine(AppContext.BaseDirectory, "Data", file), hasHeader: true, allowQuoting: false), false).Where((_, i) => i % every == 0).ToList();
        var ml = new MLContext(seed: 1);
        var train = ml.Data.LoadFromEnumerable(Rows("fortune-topics-train.tsv", every: 5));
        var test = ml.Data.LoadFromEnumerable(Rows("fortune-topics-test.tsv", every: 2));

        // snippet: stacking-pipeline
        var pipeline = ml.Transforms.Conversion.MapValueToKey("Label", "Topic")
            .Append(ml.Transforms.Text.TokenizeIntoWords("Features", "Text"))
            .Append(ml.Transforms.Rnn.SequenceClassifier(new RnnSequenceClassifier.Options
                { HiddenSize = 32, MaxEpochs = 5, ClassWeighting = ClassWeighting.InverseFrequency, CrossFitFolds = 5 }))
            .Append(ml.Transforms.Text.FeaturizeText("NGrams", "Text"))
            .Append(ml.Transforms.Concatenate("Features", "Score", "NGrams"))   // class probabilities next to the n-grams
            .AppendCacheCheckpoint(ml)
            .Append(ml.MulticlassClassification.Trainers.SdcaMaximumEntropy()); // its Score and PredictedLabel replace the classifier's
        var metrics = ml.MulticlassClassification.Evaluate(pipeline.Fit(train).Transform(test));
        // end snippet

        Assert.True(metrics.MacroAccuracy > 0.18, $"macro accuracy {metrics.MacroAccuracy} (chance 0.125; 0.29 measured)");
    }
}
