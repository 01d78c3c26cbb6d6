using Microsoft.ML.Data;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Xunit;
using static TorchSharp.torch;

namespace Microsoft.ML.Rnn.Tests.MLNet;

/// <summary>
/// A tagger with a CRF converted to ONNX: its <c>PredictedLabel</c> is the Viterbi path, identical to the component's for
/// every row (lengths 0 to 9 and rows of 200 steps and more), through a raw ONNX Runtime session, <c>ApplyOnnxModel</c>
/// and the zip's in-process ONNX Runtime engine; its scores within 2e-5. The transition scores are set large after
/// training, so that the path differs from the best tag per step on many rows (checked): a graph that decoded per step
/// would fail.
/// </summary>
public sealed class OnnxCrfExportTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("rnn-onnx-crf-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private const float Tolerance = 2e-5f;
    private const int TagCount = 3;

    private sealed class Row
    {
        public uint[] Tokens { get; set; } = [];
        public uint[] Tags { get; set; } = [];
    }

    /// <summary>Rows of 0 to 9 tokens, and with <paramref name="longRows"/> four of 200 to 230; tags follow the previous token.</summary>
    private static IDataView Rows(MLContext ml, int count, int seed, bool longRows, bool empty = true)
    {
        var random = new Random(seed);
        var lengths = Enumerable.Range(0, count).Select(_ => random.Next(empty ? 0 : 1, 10))
            .Concat(longRows ? [200, 201, 215, 230] : []).ToArray();
        var rows = lengths.Select(length =>
        {
            var tokens = Enumerable.Range(0, length).Select(_ => (uint)random.Next(1, 13)).ToArray();
            return new Row { Tokens = tokens, Tags = tokens.Select((t, i) => (i == 0 ? 0 : tokens[i - 1]) % TagCount + 1).ToArray() };
        }).ToArray();
        var schema = SchemaDefinition.Create(typeof(Row));
        schema[nameof(Row.Tokens)].ColumnType = new VectorDataViewType(new KeyDataViewType(typeof(uint), 12));
        schema[nameof(Row.Tags)].ColumnType = new VectorDataViewType(new KeyDataViewType(typeof(uint), TagCount));
        return ml.Data.LoadFromEnumerable(rows, schema);
    }

    private static LstmTaggerTransformer FitWithStrongTransitions(MLContext ml, IDataView data, int ensembleSize, int? maxSteps)
    {
        var tagger = ml.Transforms.Rnn.LstmTagger(new LstmTagger.Options
        {
            FeatureColumnName = nameof(Row.Tokens), LabelColumnName = nameof(Row.Tags), EmbeddingSize = 4, HiddenSize = 5, Bidirectional = true,
            MaxEpochs = 1, Seed = 1, EnsembleSize = ensembleSize, UseCrf = true, MaxSequenceLength = maxSteps,
        }).Fit(data);
        using (no_grad())
        {
            var generator = new Generator(7);
            foreach (var crf in tagger.Network.Members.Select(m => m.Crf!))
            {
                crf.Transitions.copy_(randn(TagCount, TagCount, generator: generator) * 3);
                crf.StartScores.copy_(randn(TagCount, generator: generator));
                crf.EndScores.copy_(randn(TagCount, generator: generator));
            }
        }
        return tagger;
    }

    [Theory]
    [InlineData(1, null)]
    [InlineData(3, null)]
    [InlineData(1, 120)]   // the long rows keep their first 120 steps, in the graph as in the component
    public void TheViterbiPathConvertsAndScoresAsTheComponent(int ensembleSize, int? maxSteps)
    {
        var ml = new MLContext(seed: 1);
        var data = Rows(ml, 60, seed: 3, longRows: true);
        using var tagger = FitWithStrongTransitions(ml, data, ensembleSize, maxSteps);
        var input = OnnxExportTests.Only(ml, data, nameof(Row.Tokens));
        tagger.ScoringEngine = RnnScoringEngine.TorchSharp;
        var scored = tagger.Transform(input);
        var tags = OnnxExportTests.Keys(scored, "PredictedLabel");
        var scores = OnnxExportTests.Floats(scored, "Score");
        Assert.Contains(tags, t => t.Length == 0);
        Assert.Contains(tags, t => t.Length == (maxSteps ?? 230));
        int differing = tags.Zip(scores).Count(r => !r.First.SequenceEqual(PerStepBest(r.Second)));
        Assert.True(differing > 10, $"the Viterbi path differs from the best tag per step on only {differing} rows");

        string path = OnnxExportTests.Convert(ml, tagger, input, _directory, $"crf-{ensembleSize}-{maxSteps}");
        Assert.True(OnnxExportTests.HasOperator(path, "Scan"));
        var (onnxTags, onnxScores) = RunInBatches(path, input);
        Assert.Equal(tags, onnxTags);
        OnnxExportTests.AssertClose(scores, onnxScores);

        // ApplyOnnxModel (rows of no steps left out: ML.NET's ONNX transformer fails on an empty vector).
        var nonEmpty = OnnxExportTests.Only(ml, Rows(ml, 30, seed: 5, longRows: true, empty: false), nameof(Row.Tokens));
        var viaMLNet = ml.Transforms.ApplyOnnxModel(path).Fit(nonEmpty).Transform(nonEmpty);
        Assert.Equal(OnnxExportTests.Keys(tagger.Transform(nonEmpty), "PredictedLabel"), OnnxExportTests.Keys(viaMLNet, "PredictedLabel"));

        // The zip's own graph, scored in-process by ONNX Runtime, fitted and loaded.
        tagger.ScoringEngine = RnnScoringEngine.OnnxRuntime;
        Assert.Equal(tags, OnnxExportTests.Keys(tagger.Transform(input), "PredictedLabel"));
        OnnxExportTests.AssertClose(scores, OnnxExportTests.Floats(tagger.Transform(input), "Score"));
        string zip = Path.Combine(_directory, $"crf-{ensembleSize}-{maxSteps}.zip");
        ml.Model.Save(tagger, input.Schema, zip);
        var loaded = (LstmTaggerTransformer)ml.Model.Load(zip, out _);
        using (loaded)
        {
            loaded.ScoringEngine = RnnScoringEngine.OnnxRuntime;
            Assert.Equal(tags, OnnxExportTests.Keys(loaded.Transform(input), "PredictedLabel"));
        }
    }

    private static uint[] PerStepBest(float[] probabilities)
        => probabilities.Chunk(TagCount).Select(step => (uint)Array.IndexOf(step, step.Max()) + 1).ToArray();

    /// <summary>Tags and scores of every row through a raw session, rows of one length in one batch (rows of no steps too).</summary>
    /// <remarks>The steps tagged are read from the output's size: every step, or the first MaxSequenceLength.</remarks>
    private static (List<uint[]> Tags, List<float[]> Scores) RunInBatches(string path, IDataView input)
    {
        using var session = new InferenceSession(path);
        var rows = ColumnValues.Read(input, nameof(Row.Tokens)).Cast<object[]>().ToList();
        var tags = new uint[rows.Count][];
        var scores = new float[rows.Count][];
        foreach (var group in rows.Select((values, index) => (values, index)).GroupBy(r => r.values.Length))
        {
            var members = group.ToList();
            int n = members.Count, width = group.Key;
            var value = NamedOnnxValue.CreateFromTensor(nameof(Row.Tokens),
                new DenseTensor<uint>(members.SelectMany(m => m.values.Select(v => (uint)(ulong)v)).ToArray(), [n, width]));
            using var outputs = session.Run([value], ["PredictedLabel.output", "Score.output"]);
            var keys = outputs.First(o => o.Name == "PredictedLabel.output").AsTensor<uint>().ToArray();
            var probabilities = outputs.First(o => o.Name == "Score.output").AsTensor<float>().ToArray();
            int kept = keys.Length / n;
            for (int i = 0; i < n; i++)
            {
                tags[members[i].index] = keys.AsSpan(i * kept, kept).ToArray();
                scores[members[i].index] = probabilities.AsSpan(i * kept * TagCount, kept * TagCount).ToArray();
            }
        }
        return (tags.ToList(), scores.ToList());
    }
}
