using Xunit;

namespace Microsoft.ML.Rnn.Tests.MLNet;

/// <summary>
/// "Anywhere ONNX Runtime runs", beyond .NET: a converted classifier (an ensemble of bidirectional GRUs over keys) and a
/// converted tagger (text words with their characters — ONNX Runtime's contrib Tokenizer —, layer-normalised LSTMs as
/// Scans, CRF decoding as Scans) and a converted text classifier with its word bag (the Tokenizer's word expression)
/// score in ONNX Runtime for Node.js and in ONNX Runtime Web under headless Chromium as the component does: the same
/// tags, scores within 2e-5.
/// </summary>
public sealed class OnnxJavaScriptTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("rnn-onnx-js-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private const double Tolerance = 2e-5;

    [JavaScriptOnnxRuntimeFact("node")]
    public void ExportedModelsScoreTheSameInOnnxRuntimeForNodeJs() => ScoreInJavaScript("node");

    [JavaScriptOnnxRuntimeFact("web")]
    public void ExportedModelsScoreTheSameInOnnxRuntimeWeb() => ScoreInJavaScript("web");

    private sealed class Sentence
    {
        public string[] Words { get; set; } = [];
        public string[] Tags { get; set; } = [];
    }

    private sealed class LongSentence
    {
        public string[] Words { get; set; } = [];
        public bool Label { get; set; }
    }

    private void ScoreInJavaScript(string runtime)
    {
        var ml = new MLContext(seed: 1);

        var data = OnnxExportTests.Rows(ml, 60, seed: 2);
        var options = OnnxExportTests.ClassifierOptions("gru bidirectional ensemble");
        using (var classifier = ml.Transforms.Rnn.SequenceClassifier(options).Fit(data))
        {
            var input = OnnxExportTests.Only(ml, data, options.FeatureColumnName);
            string path = OnnxExportTests.Convert(ml, classifier, input, _directory, "classifier");
            var rows = ColumnValues.Read(input, options.FeatureColumnName).Cast<object[]>().ToList();
            var scores = OnnxExportTests.Floats(classifier.Transform(input), "Score");
            var labels = OnnxExportTests.Keys(classifier.Transform(input), "PredictedLabel");
            foreach (int length in new[] { 1, 6 })
            {
                var members = Enumerable.Range(0, rows.Count).Where(i => rows[i].Length == length).ToArray();
                var tokens = new JavaScriptOnnxRuntime.Input("uint32", [members.Length, length], members.SelectMany(i => rows[i].Select(v => (object)(uint)(ulong)v)).ToArray());
                var outputs = JavaScriptOnnxRuntime.Score(runtime, path, new Dictionary<string, JavaScriptOnnxRuntime.Input> { [options.FeatureColumnName] = tokens }, _directory);
                AssertClose(members.SelectMany(i => scores[i]), outputs["Score.output"], $"classifier, rows of {length}");
                Assert.Equal(members.SelectMany(i => labels[i]).Select(k => (double)k), outputs["PredictedLabel.output"]);
            }
        }

        var sentences = ConllSentences.Read(ConllSentences.DataPath("truecase-punct-train.conll"), take: 60)
            .Select(s => new Sentence { Words = s.Tokens, Tags = s.Case }).ToList();
        sentences.Add(new Sentence { Words = ["naïve", "zyxwvutsrqponmlkjihgfedcbaqq", "café"], Tags = ["L", "L", "L"] });   // unseen words, long token
        var text = ml.Data.LoadFromEnumerable(sentences);
        var keyed = ml.Transforms.Conversion.MapValueToKey("Label", nameof(Sentence.Tags)).Fit(text).Transform(text);
        using (var tagger = ml.Transforms.Rnn.LstmTagger(new LstmTagger.Options
               {
                   FeatureColumnName = nameof(Sentence.Words), EmbeddingSize = 6, HiddenSize = 5, CharacterFeatures = 4, Bidirectional = true,
                   Cell = RnnCellKind.LayerNormLstm(), UseCrf = true, MaxEpochs = 1, Seed = 2, EnsembleSize = 1,
               }).Fit(keyed))
        {
            var input = OnnxExportTests.Only(ml, text, nameof(Sentence.Words));
            string path = OnnxExportTests.Convert(ml, tagger, input, _directory, "tagger");
            var scored = tagger.Transform(input);
            ScoreWords(runtime, path, sentences, OnnxExportTests.Floats(scored, "Score"), OnnxExportTests.Keys(scored, "PredictedLabel"), 3, "tagger");
        }

        // A binary text classifier with its word bag (the default): words with punctuation, capitals and letters beyond ASCII.
        sentences.Add(new Sentence { Words = ["Naïve,", "CAFÉ", "Zürich's", "(3.14)"], Tags = ["L", "L", "L", "L"] });
        var labelled = ml.Data.LoadFromEnumerable(sentences.Select(s => new LongSentence { Words = s.Words, Label = s.Words.Length > 12 }));
        using (var bagClassifier = ml.Transforms.Rnn.SequenceClassifier(new RnnSequenceClassifier.Options
               {
                   FeatureColumnName = nameof(LongSentence.Words), EmbeddingSize = 4, HiddenSize = 4, CharacterFeatures = 3, MaxEpochs = 1,
                   Seed = 3, EnsembleSize = 1,
               }).Fit(labelled))
        {
            Assert.NotNull(bagClassifier.Network.Members[0].Words);
            var input = OnnxExportTests.Only(ml, labelled, nameof(LongSentence.Words));
            string path = OnnxExportTests.Convert(ml, bagClassifier, input, _directory, "bag-classifier");
            ScoreWords(runtime, path, sentences, OnnxExportTests.Floats(bagClassifier.Transform(input), "Score"), null, 4, "text classifier with a word bag");
        }
    }

    /// <summary>
    /// Scores the rows of <paramref name="sentences"/> of <paramref name="length"/> words, then the longest rows, in
    /// the JavaScript runtime (input "Words"): the same scores, and the same predicted keys when <paramref name="keys"/> are given.
    /// </summary>
    private void ScoreWords(string runtime, string path, List<Sentence> sentences, List<float[]> scores, List<uint[]>? keys, int length, string what)
    {
        foreach (int rowLength in new[] { length, sentences.Max(s => s.Words.Length) })
        {
            var members = Enumerable.Range(0, sentences.Count).Where(i => sentences[i].Words.Length == rowLength).ToArray();
            Assert.NotEmpty(members);
            var words = new JavaScriptOnnxRuntime.Input("string", [members.Length, rowLength], members.SelectMany(i => sentences[i].Words.Cast<object>()).ToArray());
            var outputs = JavaScriptOnnxRuntime.Score(runtime, path, new Dictionary<string, JavaScriptOnnxRuntime.Input> { [nameof(Sentence.Words)] = words }, _directory);
            AssertClose(members.SelectMany(i => scores[i]), outputs["Score.output"], $"{what}, rows of {rowLength}");
            if (keys is not null)
                Assert.Equal(members.SelectMany(i => keys[i]).Select(k => (double)k), outputs["PredictedLabel.output"]);
        }
    }

    private static void AssertClose(IEnumerable<float> expected, double[] actual, string what)
    {
        var values = expected.ToArray();
        Assert.Equal(values.Length, actual.Length);
        for (int i = 0; i < values.Length; i++)
            Assert.True(Math.Abs(values[i] - actual[i]) <= Tolerance, $"{what}: value {i}: component {values[i]}, ONNX Runtime {actual[i]}");
    }
}
