using System.IO.Compression;
using System.Text.Json;
using Microsoft.ML.Data;
using Microsoft.ML;
using Xunit;

namespace Microsoft.ML.Rnn.Tests.Reliability;

/// <summary>
/// Models saved by earlier versions (checked in under Reliability/Fixtures with their predictions) must load and
/// predict the same forever, under every ML.NET version the package supports; a model claiming a newer format fails
/// with a message saying so.
/// </summary>
/// <remarks>
/// Fixture sets: <see cref="FormatTag"/> (the first format, 0x00010002), <see cref="EnsembleFormatTag"/> (classifier
/// and tagger 0x00010007 with ensembles, encoder 0x00010006, and a classifier on token text with its word and
/// character vocabulary), both written by ML.NET 5.0.1, and <see cref="CurrentFormatTag"/> (every component
/// 0x00010008: the shared blocks with their own versions), written by ML.NET 6.0.0 (each zip's
/// TrainingInfo/Version.txt says which), all loaded here by the ML.NET the tests run on. Write a new set only when a format changes (keep the old ones):
/// <c>RNN_WRITE_FIXTURES=/path/to/Microsoft.ML.Rnn.Tests/Reliability/Fixtures dotnet test --filter FullyQualifiedName~VersionToleranceTests</c>
/// writes the <see cref="CurrentFormatTag"/> set.
/// </remarks>
public sealed class VersionToleranceTests
{
    /// <summary>The first fixtures: every component in format 0x00010002.</summary>
    internal const string FormatTag = "v00010002";

    /// <summary>The fixtures of the formats current when the package moved to ML.NET 6 (written by ML.NET 5.0.1).</summary>
    internal const string EnsembleFormatTag = "v00010007";

    /// <summary>The fixtures of the current formats, whose shared blocks carry their own versions (written by ML.NET 6.0.0).</summary>
    internal const string CurrentFormatTag = "v00010008";

    /// <summary>Each fixture set with the ML.NET version that wrote it.</summary>
    public static TheoryData<string, string> FixtureSets => new()
    {
        { FormatTag, "5.0.1" }, { EnsembleFormatTag, "5.0.1" }, { CurrentFormatTag, "6.0.0" },
    };

    internal static string FixturePath(string component, string tag = FormatTag) =>
        Path.Combine(AppContext.BaseDirectory, "Reliability", "Fixtures", $"{component}-{tag}.zip");

    private static string GoldenPath(string tag) => Path.Combine(AppContext.BaseDirectory, "Reliability", "Fixtures", $"golden-{tag}.json");

    /// <summary>The components of a fixture set (the first set has no text classifier, only the current one a regressor).</summary>
    private static string[] Components(string tag) => tag switch
    {
        FormatTag => ["classifier", "tagger", "encoder"],
        CurrentFormatTag => ["classifier", "tagger", "encoder", "text-classifier", "regressor"],
        _ => ["classifier", "tagger", "encoder", "text-classifier"],
    };

    /// <summary>Scoring inputs of the fixtures: Single steps with an empty row, tokens with a missing key (0, out of vocabulary).</summary>
    internal static IDataView StepInputs(MLContext ml) => ml.Data.LoadFromEnumerable(
        ReliabilityData.Steps(6, seed: 101).Select(r => new ReliabilityData.StepInput { Features = r.Features })
            .Append(new ReliabilityData.StepInput { Features = Array.Empty<float>() }));

    internal static IDataView TokenInputs(MLContext ml) => ml.Data.LoadFromEnumerable(
        ReliabilityData.Tokens(6, seed: 102).Select(r => new ReliabilityData.TokenInput { Features = r.Features })
            .Append(new ReliabilityData.TokenInput { Features = new uint[] { 3, 0, 7 } }));

    /// <summary>Short token texts (a word missing from training, an empty row) scored by the text classifier fixture.</summary>
    internal static IDataView TextInputs(MLContext ml) => ml.Data.LoadFromEnumerable(
        ReliabilityData.Texts(6, seed: 103).Select(r => new ReliabilityData.TextInput { Features = r.Features })
            .Append(new ReliabilityData.TextInput { Features = ["unseen", "calm"] })
            .Append(new ReliabilityData.TextInput { Features = [] }));

    /// <summary>
    /// Outputs compared with the golden file: classifier Score, tagger PredictedLabel and Score, encoder Encoding, and
    /// (when given) the text classifier's and the regressor's Score.
    /// </summary>
    internal static Dictionary<string, float[][]> Predict(MLContext ml, ITransformer classifier, ITransformer tagger, ITransformer encoder,
        ITransformer? textClassifier = null, ITransformer? regressor = null)
    {
        float[][] Read(IDataView data, string column) => ColumnValues.Read(data, column)
            .Select(v => v is object[] a ? a.Select(ToFloat).ToArray() : new[] { ToFloat(v) }).ToArray();
        var tagged = tagger.Transform(TokenInputs(ml));
        var outputs = new Dictionary<string, float[][]>
        {
            ["classifier.Score"] = Read(classifier.Transform(StepInputs(ml)), "Score"),
            ["tagger.PredictedLabel"] = Read(tagged, "PredictedLabel"),
            ["tagger.Score"] = Read(tagged, "Score"),
            ["encoder.Encoding"] = Read(encoder.Transform(StepInputs(ml)), "Encoding"),
        };
        if (textClassifier is not null)
            outputs["text-classifier.Score"] = Read(textClassifier.Transform(TextInputs(ml)), "Score");
        if (regressor is not null)
            outputs["regressor.Score"] = Read(regressor.Transform(StepInputs(ml)), "Score");
        return outputs;
    }

    private static float ToFloat(object value) => value switch
    {
        float f => f,
        ulong k => k,
        bool b => b ? 1 : 0,
        _ => throw new InvalidOperationException($"Unexpected value type {value.GetType()}"),
    };

    private sealed class NamedTagRow
    {
        [KeyType(10)] public uint[] Features = Array.Empty<uint>();
        public string[] Tags = Array.Empty<string>();
    }

    [Fact]
    public void WriteFixturesWhenAsked()
    {
        // Writes the current set only when RNN_WRITE_FIXTURES names the source Fixtures folder; otherwise checks that
        // every checked-in set is present (a missing fixture would make the golden test vacuous).
        if (Environment.GetEnvironmentVariable("RNN_WRITE_FIXTURES") is not { Length: > 0 } folder)
        {
            foreach (string set in new[] { FormatTag, EnsembleFormatTag, CurrentFormatTag })
            {
                Assert.True(File.Exists(GoldenPath(set)), $"missing {GoldenPath(set)}");
                foreach (var component in Components(set))
                    Assert.True(File.Exists(FixturePath(component, set)), $"missing fixture {component}-{set}");
            }
            return;
        }
        var ml = new MLContext(seed: 1);
        var steps = ml.Data.LoadFromEnumerable(ReliabilityData.Steps(60, seed: 100));
        // Tag names as KeyValues, so the tagger model carries an ML.NET-encoded annotation (fuzzed too).
        var rawTokens = ml.Data.LoadFromEnumerable(ReliabilityData.Tokens(60, seed: 100)
            .Select(r => new NamedTagRow { Features = r.Features, Tags = r.Label.Select(k => $"T{k}").ToArray() }));
        var tokens = ml.Transforms.Conversion.MapValueToKey("Label", "Tags",
                keyData: ml.Data.LoadFromEnumerable(new[] { "T1", "T2", "T3" }.Select(t => new { Tags = t })))
            .Fit(rawTokens).Transform(rawTokens);
        var texts = ml.Data.LoadFromEnumerable(ReliabilityData.Texts(60, seed: 100));
        using var classifier = ReliabilityData.Classifier(ml, steps);
        using var tagger = ReliabilityData.Tagger(ml, tokens);
        using var encoder = ReliabilityData.Encoder(ml, steps);
        using var textClassifier = ReliabilityData.TextClassifier(ml, texts);
        using var regressor = ReliabilityData.Regressor(ml, steps);
        string tag = CurrentFormatTag;
        ml.Model.Save(classifier, steps.Schema, Path.Combine(folder, $"classifier-{tag}.zip"));
        ml.Model.Save(tagger, tokens.Schema, Path.Combine(folder, $"tagger-{tag}.zip"));
        ml.Model.Save(encoder, steps.Schema, Path.Combine(folder, $"encoder-{tag}.zip"));
        ml.Model.Save(textClassifier, texts.Schema, Path.Combine(folder, $"text-classifier-{tag}.zip"));
        ml.Model.Save(regressor, steps.Schema, Path.Combine(folder, $"regressor-{tag}.zip"));
        File.WriteAllText(Path.Combine(folder, $"golden-{tag}.json"),
            JsonSerializer.Serialize(Predict(ml, classifier, tagger, encoder, textClassifier, regressor), new JsonSerializerOptions { WriteIndented = true }));
    }

    [Theory]
    [MemberData(nameof(FixtureSets))]
    public void CheckedInModelsLoadAndPredictTheGoldenValues(string tag, string writtenByMLNet)
    {
        // The set was written by the ML.NET version it claims (ML.NET records it in every zip), whatever runs now.
        foreach (var component in Components(tag))
        {
            using var zip = ZipFile.OpenRead(FixturePath(component, tag));
            using var version = new StreamReader(zip.GetEntry("TrainingInfo/Version.txt")!.Open());
            Assert.StartsWith(writtenByMLNet + "+", version.ReadToEnd());
        }
        var golden = JsonSerializer.Deserialize<Dictionary<string, float[][]>>(File.ReadAllText(GoldenPath(tag)))!;
        var ml = new MLContext(seed: 1);
        var classifier = ml.Model.Load(FixturePath("classifier", tag), out _);
        var tagger = ml.Model.LoadUntrusted(FixturePath("tagger", tag), out _);
        var encoder = ml.Model.LoadUntrusted(FixturePath("encoder", tag), out _); // the checked loader accepts valid files
        var textClassifier = tag == FormatTag ? null : ml.Model.Load(FixturePath("text-classifier", tag), out _);
        var regressor = tag == CurrentFormatTag ? ml.Model.LoadUntrusted(FixturePath("regressor", tag), out _) : null;
        var actual = Predict(ml, classifier, tagger, encoder, textClassifier, regressor);
        Assert.Equal(golden.Keys.Order(), actual.Keys.Order());
        foreach (var (key, rows) in golden)
        {
            Assert.True(rows.Length == actual[key].Length, $"{key}: {rows.Length} rows vs {actual[key].Length}");
            for (int i = 0; i < rows.Length; i++)
            {
                Assert.True(rows[i].Length == actual[key][i].Length, $"{key}, row {i}: {rows[i].Length} values vs {actual[key][i].Length}");
                for (int j = 0; j < rows[i].Length; j++)
                    Assert.True(Math.Abs(rows[i][j] - actual[key][i][j]) <= Tolerances.Float32Score, $"{key}, row {i}, value {j}: golden {rows[i][j]}, got {actual[key][i][j]}");
            }
        }
        foreach (var model in new[] { classifier, tagger, encoder, textClassifier, regressor })
            (model as IDisposable)?.Dispose();
    }

    [Theory]
    [InlineData("classifier", "RNNSQCLS", "RNN Sequence Classifier")]
    [InlineData("tagger", "RNNTAGGR", "LSTM Sequence Tagger")]
    [InlineData("encoder", "RNNBIENC", "Recurrent Sequence Encoder")]
    public void NewerFormatVersionFailsSayingSo(string component, string signature, string userName)
    {
        // The model header holds the 8-byte model signature followed by the written and readable format versions.
        string path = Path.Combine(Path.GetTempPath(), $"rnn-newer-{component}-{Guid.NewGuid():N}.zip");
        File.Copy(FixturePath(component), path);
        try
        {
            byte[] signatureBytes = System.Text.Encoding.ASCII.GetBytes(signature);
            int edited = ZipMutation.EditEntries(path, (name, bytes) =>
            {
                int at = ZipMutation.IndexOf(bytes, signatureBytes);
                if (!name.EndsWith("Model.key", StringComparison.Ordinal) || at < 0) return false;
                Assert.Equal(0x00010002u, BitConverter.ToUInt32(bytes, at + 8));
                Assert.Equal(0x00010002u, BitConverter.ToUInt32(bytes, at + 12));
                BitConverter.GetBytes(0x00020001u).CopyTo(bytes, at + 8);
                BitConverter.GetBytes(0x00020001u).CopyTo(bytes, at + 12);
                return true;
            });
            Assert.Equal(1, edited);
            var error = Assert.Throws<InvalidDataException>(() => new MLContext().Model.LoadUntrusted(path, out _));
            Assert.StartsWith($"{userName}: cannot load this model: it was saved in format version 0x00020001 by a newer Microsoft.ML.Rnn", error.Message);
            Assert.Contains("reads format versions up to 0x00010008. Update the Microsoft.ML.Rnn package to load it.", error.Message);
            // Plain Model.Load: the same message in a FormatException, wrapped by ML.NET's reflection-based loader.
            var plain = Assert.ThrowsAny<Exception>(() => new MLContext().Model.Load(path, out _));
            Assert.Equal(error.Message, Assert.IsType<FormatException>(plain.InnerException).Message);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Theory]
    [InlineData(0x00010099u, "RNN Sequence Classifier: cannot load this model: its feature column description was saved in format version 0x00010099 by a newer Microsoft.ML.Rnn")]
    [InlineData(0u, "RNN Sequence Classifier: corrupt model: the feature column description has format version 0x00000000.")]
    public void ABlockOfANewerOrUnknownVersionFailsNamingTheBlock(uint version, string message)
    {
        string path = Path.Combine(Path.GetTempPath(), $"rnn-newer-block-{Guid.NewGuid():N}.zip");
        File.Copy(FixturePath("classifier", CurrentFormatTag), path);
        try
        {
            int edited = ZipMutation.EditEntries(path, (name, bytes) =>
            {
                if (ZipMutation.ClassifierPayload(name, bytes) is not int payload) return false;
                Assert.Equal(Microsoft.ML.Rnn.Features.FeatureEncoding.TokensVersion, BitConverter.ToUInt32(bytes, payload));   // the fixture's (a model without a word bag)
                BitConverter.GetBytes(version).CopyTo(bytes, payload);
                return true;
            });
            Assert.Equal(1, edited);
            var error = Assert.Throws<InvalidDataException>(() => new MLContext().Model.LoadUntrusted(path, out _));
            Assert.StartsWith(message, error.Message);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
