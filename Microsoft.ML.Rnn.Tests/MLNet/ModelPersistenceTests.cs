using Microsoft.ML.Data;
using Microsoft.ML.Rnn.Features;
using Microsoft.ML.Rnn.Persistence;
using Microsoft.ML.Runtime;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Microsoft.ML.Rnn.Tests.MLNet;

/// <summary>
/// ModelPersistence's pieces written into a real ML.NET repository (a zip in memory) and read back through
/// ModelLoadContext, without a transformer around them.
/// </summary>
public sealed class ModelPersistenceTests
{
    private static readonly IHostEnvironment Env = ((IInternalCatalog)new MLContext(seed: 1).Transforms).Environment;

    private static VersionInfo Version(uint written = 0x00010002, uint readable = 0x00010001) =>
        ModelPersistence.CreateVersionInfo("RNNPTEST", written, readable, verWeCanReadBack: 0x00010001, "RnnPersistTest",
            typeof(ModelPersistenceTests).Assembly);

    /// <summary>Saves with <paramref name="save"/> into a model zip in memory, then loads with <paramref name="load"/>.</summary>
    private static T RoundTrip<T>(Action<ModelSaveContext> save, Func<ModelLoadContext, T> load)
    {
        using var stream = new MemoryStream();
        using (var repository = RepositoryWriter.CreateNew(stream, Env))
        {
            using (var ctx = new ModelSaveContext(repository, "Probe", ModelLoadContext.ModelStreamName))
            {
                save(ctx);
                ctx.Done();
            }
            repository.Commit();
        }
        stream.Position = 0;
        using var reader = RepositoryReader.Open(stream, Env);
        using var entry = reader.OpenEntry("Probe", ModelLoadContext.ModelStreamName);
        using var loadContext = new ModelLoadContext(reader, entry, "Probe");
        return load(loadContext);
    }

    [Fact]
    public void StringsSinglesAndKeyValuesRoundTripInOrder()
    {
        var vocabulary = KeyValueAnnotation.FromStrings(new[] { "the", "cat", "" });
        var (strings, singles, keyValues, none, tail) = RoundTrip(
            ctx =>
            {
                ModelPersistence.BeginSave(ctx, Version());
                SavedFields.WriteStrings(ctx, new[] { "Tokens", null, "", "Tokens" });
                SavedFields.WriteSingles(ctx, new[] { 1.5f, float.NaN, -0f, float.MaxValue });
                SavedFields.WriteKeyValues(ctx, Env, vocabulary);
                SavedFields.WriteKeyValues(ctx, Env, null);
                ctx.Writer.Write(42);
            },
            ctx =>
            {
                ModelPersistence.BeginLoad(ctx, Version(), "Test");
                return (SavedFields.ReadStrings(ctx), SavedFields.ReadSingles(ctx),
                    SavedFields.ReadKeyValues(ctx, Env), SavedFields.ReadKeyValues(ctx, Env), ctx.Reader.ReadInt32());
            });

        Assert.Equal(new[] { "Tokens", null, "", "Tokens" }, strings);
        Assert.Equal(new[] { 1.5f, float.NaN, -0f, float.MaxValue }, singles);
        Assert.True(BitConverter.SingleToInt32Bits(singles[2]) == BitConverter.SingleToInt32Bits(-0f), "-0 kept bit-exact");
        Assert.NotNull(keyValues);
        Assert.Equal(new VectorDataViewType(TextDataViewType.Instance, 3), keyValues.Type);
        Assert.Equal(new[] { "the", "cat", "" }, keyValues.ToStrings());
        Assert.Null(none);
        Assert.Equal(42, tail);
    }

    [Fact]
    public void ModuleWeightsRoundTripBitExactAndLeaveTheMainStreamUsable()
    {
        torch.manual_seed(5);
        using var saved = nn.Sequential(("embed", nn.Embedding(4, 3)), ("proj", nn.Linear(3, 2)));
        var expected = saved.named_parameters().ToDictionary(p => p.name, p => p.parameter.data<float>().ToArray());

        torch.manual_seed(6);
        using var loaded = nn.Sequential(("embed", nn.Embedding(4, 3)), ("proj", nn.Linear(3, 2)));
        int tail = RoundTrip(
            ctx =>
            {
                ModelPersistence.BeginSave(ctx, Version());
                NetworkWeights.SaveModule(ctx, "Network", saved);
                ctx.Writer.Write(7); // the main stream must still be open after the module was written
            },
            ctx =>
            {
                ModelPersistence.BeginLoad(ctx, Version(), "Test");
                NetworkWeights.LoadModule(ctx, "Network", loaded, "Test");
                return ctx.Reader.ReadInt32();
            });

        Assert.Equal(7, tail);
        foreach (var (name, parameter) in loaded.named_parameters())
            Assert.Equal(expected[name], parameter.data<float>().ToArray());
    }

    [Fact]
    public void LoadingWeightsIntoADifferentNetworkFailsClearly()
    {
        using var saved = nn.Linear(3, 2);
        using var other = nn.Linear(4, 2);
        var error = Assert.Throws<FormatException>(() => RoundTrip(
            ctx =>
            {
                ModelPersistence.BeginSave(ctx, Version());
                NetworkWeights.SaveModule(ctx, "Network", saved);
            },
            ctx =>
            {
                ModelPersistence.BeginLoad(ctx, Version(), "LstmTagger");
                NetworkWeights.LoadModule(ctx, "Network", other, "LstmTagger");
                return 0;
            }));
        Assert.StartsWith("LstmTagger: the network weights in the model ('Network') do not match the network described by the model:", error.Message);
    }

    [Fact]
    public void MissingWeightsStreamFailsClearly()
    {
        using var module = nn.Linear(3, 2);
        var error = Assert.Throws<FormatException>(() => RoundTrip(
            ctx => ModelPersistence.BeginSave(ctx, Version()),
            ctx =>
            {
                ModelPersistence.BeginLoad(ctx, Version(), "BiGruEncoder");
                NetworkWeights.LoadModule(ctx, "Network", module, "BiGruEncoder");
                return 0;
            }));
        Assert.Equal("BiGruEncoder: the model has no 'Network' entry with the network weights; the file is incomplete or not a BiGruEncoder model.", error.Message);
    }

    [Fact]
    public void NewerFormatFailsNamingTheComponentAndVersions()
    {
        var error = Assert.Throws<FormatException>(() => RoundTrip(
            ctx => ModelPersistence.BeginSave(ctx, Version(written: 0x00020001, readable: 0x00020001)),
            ctx =>
            {
                ModelPersistence.BeginLoad(ctx, Version(), "RnnSequenceClassifier");
                return 0;
            }));
        Assert.StartsWith("RnnSequenceClassifier: cannot load this model: it was saved in format version 0x00020001 by a newer Microsoft.ML.Rnn", error.Message);
        Assert.EndsWith("reads format versions up to 0x00010002. Update the Microsoft.ML.Rnn package to load it.", error.Message);
    }

    [Fact]
    public void NewerButStillReadableFormatLoads()
    {
        // Written by a newer version that declared this reader able to read it (verReadableCur unchanged).
        int value = RoundTrip(
            ctx =>
            {
                ModelPersistence.BeginSave(ctx, Version(written: 0x00010005, readable: 0x00010001));
                ctx.Writer.Write(3);
            },
            ctx =>
            {
                ModelPersistence.BeginLoad(ctx, Version(), "Test");
                return ctx.Reader.ReadInt32();
            });
        Assert.Equal(3, value);
    }

    [Theory]
    [InlineData("SHORT")]
    [InlineData("TOOLONGSIG")]
    [InlineData("RNNÜTEST")]
    public void ModelSignatureMustBeEightAsciiCharacters(string signature)
    {
        var error = Assert.Throws<ArgumentException>(() => ModelPersistence.CreateVersionInfo(signature, 1, 1, 1, "X", typeof(ModelPersistenceTests).Assembly));
        Assert.Equal("modelSignature", error.ParamName);
    }
}
