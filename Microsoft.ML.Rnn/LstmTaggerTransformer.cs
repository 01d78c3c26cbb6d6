using Microsoft.ML.Rnn.Core;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Rnn;
using Microsoft.ML.Rnn.MLNet;
using Microsoft.ML.Rnn.Networks;
using Microsoft.ML.Runtime;
using TorchSharp;

[assembly: LoadableClass(typeof(LstmTaggerTransformer), null, typeof(SignatureLoadModel),
    LstmTaggerTransformer.UserName, LstmTaggerTransformer.LoaderSignature)]
[assembly: LoadableClass(typeof(IRowMapper), typeof(LstmTaggerTransformer), null, typeof(SignatureLoadRowMapper),
    LstmTaggerTransformer.UserName, LstmTaggerTransformer.LoaderSignature)]

namespace Microsoft.ML.Rnn;

/// <summary>
/// A fitted <see cref="LstmTagger"/>: adds <c>PredictedLabel</c> (variable vector of keys of the label's type with
/// its KeyValues, one per input step) and <c>Score</c> (variable vector of Single: for each step t and tag k, the
/// probability softmax(emissions_t)[k] at index t·T + k). Transform tags <c>BatchSize</c> rows per network call.
/// Owns a native network: dispose it when done.
/// </summary>
public sealed class LstmTaggerTransformer : RowToRowTransformerBase, ITransformer, IDisposable,
    ISequenceScorer<LstmTaggerTransformer.TagResult>
{
    internal const string UserName = "LSTM Sequence Tagger";
    internal const string LoaderSignature = "RnnLstmTagger";
    internal const string PredictedLabelColumnName = "PredictedLabel";
    internal const string ScoreColumnName = "Score";
    private const string NetworkStream = "Network";

    /// <summary>One row's tags (0-based) and flattened per-step tag probabilities.</summary>
    internal sealed record TagResult(int[] Tags, float[] Scores);

    private readonly SequenceTaggerNetwork _network;
    private readonly NetworkInference _inference;
    private readonly FeatureEncoding _features;
    private readonly KeyValueAnnotation? _tagNames;
    private bool _disposed;

    internal LstmTaggerTransformer(IHostEnvironment env, FeatureEncoding features, int tagCount, KeyValueAnnotation? tagNames,
        int batchSize, SequenceTaggerNetwork network, torch.Device device, FusedKernelPolicy? fusedKernels = null)
        : base(env.Register(nameof(LstmTaggerTransformer)))
    {
        _features = features;
        TagCount = tagCount;
        _tagNames = tagNames;
        BatchSize = batchSize;
        _network = network;
        _network.eval();
        _inference = new NetworkInference(network, device, Host, fusedKernels);
    }

    /// <summary>The input column read.</summary>
    public string FeatureColumnName => _features.Name;

    /// <summary>Number of tags T.</summary>
    public int TagCount { get; }

    /// <summary>True when tags are decoded with the CRF (Viterbi).</summary>
    public bool UsesCrf => _network.Crf is not null;

    /// <summary>Rows per network call in <see cref="Transform"/>.</summary>
    public int BatchSize { get; }

    /// <summary>Adds the tag columns; rows are tagged <see cref="BatchSize"/> at a time when read.</summary>
    public new IDataView Transform(IDataView input)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentNullException.ThrowIfNull(input);
        return new BatchedScoringView<TagResult>(input, this, Host);
    }

    IDataView ITransformer.Transform(IDataView input) => Transform(input);

    // Format history:
    // 0x00010001: initial.
    // 0x00010002: the feature column description ends with the longest sequence kept (MaxSequenceLength).
    private static VersionInfo GetVersionInfo()
        => ModelPersistence.CreateVersionInfo("RNNTAGGR", verWrittenCur: 0x00010002, verReadableCur: 0x00010002,
            verWeCanReadBack: 0x00010001, LoaderSignature, typeof(LstmTaggerTransformer).Assembly);

    /// <summary>Writes the transformer into a model zip (called by <c>mlContext.Model.Save</c>).</summary>
    public override void SaveModel(ModelSaveContext ctx)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ModelPersistence.BeginSave(ctx, GetVersionInfo());
        // *** Binary format ***
        // feature column description (FeatureEncoding.Write)
        // int: tag count T
        // key values: tag names (may be absent)
        // int: batch size
        // byte: CRF decoding
        // encoder description (EncoderOptionsPersistence.Write)
        // binary stream "Network": SequenceTaggerNetwork weights
        _features.Write(ctx);
        ctx.Writer.Write(TagCount);
        ModelPersistence.WriteKeyValues(ctx, Host, _tagNames);
        ctx.Writer.Write(BatchSize);
        ctx.Writer.Write((byte)(UsesCrf ? 1 : 0));
        EncoderOptionsPersistence.Write(ctx, _network.Encoder);
        ModelPersistence.SaveModule(ctx, NetworkStream, _network);
    }

    private static LstmTaggerTransformer Create(IHostEnvironment env, ModelLoadContext ctx)
    {
        ModelPersistence.BeginLoad(ctx, GetVersionInfo(), UserName);
        return ModelPersistence.Guard(UserName, () => CreateCore(env, ctx));
    }

    private static LstmTaggerTransformer CreateCore(IHostEnvironment env, ModelLoadContext ctx)
    {
        // *** Binary format ***: see SaveModel.
        var features = FeatureEncoding.Read(ctx, UserName);
        int tagCount = ctx.Reader.ReadInt32();
        var tagNames = ModelPersistence.ReadKeyValues(ctx, env, tagCount);
        int batchSize = ctx.Reader.ReadInt32();
        byte crf = ctx.Reader.ReadByte();
        if (tagCount < 2 || tagCount > 1 << 24 || batchSize < 1 || batchSize > 1 << 24 || crf > 1 || (tagNames is not null && tagNames.Count != tagCount))
            throw new FormatException($"{UserName}: corrupt model header.");
        var encoderOptions = EncoderOptionsPersistence.Read(ctx, UserName);
        features.CheckNetwork(encoderOptions, UserName);
        ModelPersistence.CheckNetworkFits(ctx, NetworkStream,
            EncoderOptionsPersistence.MinimumParameters(encoderOptions, headOutputs: tagCount) + (crf == 1 ? (double)tagCount * tagCount : 0),
            UserName);
        var network = ModelPersistence.LoadModule(ctx, NetworkStream,
            new SequenceTaggerNetwork(new SequenceEncoder(encoderOptions), tagCount, useCrf: crf == 1), UserName);
        return new LstmTaggerTransformer(env, features, tagCount, tagNames, batchSize, network, torch.CPU);
    }

    private static IRowMapper Create(IHostEnvironment env, ModelLoadContext ctx, DataViewSchema inputSchema)
        => Create(env, ctx).MakeRowMapper(inputSchema);

    /// <inheritdoc/>
    public override IRowMapper MakeRowMapper(DataViewSchema schema)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return new SequenceRowMapper<TagResult>(Host, schema, this, this, SaveModel);
    }

    /// <summary>Releases the network's native memory.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _network.Dispose();
    }

    MissingKeyHandling ISequenceScorer<TagResult>.MissingKeys => MissingKeyHandling.MapToUnknownIndex;

    SequenceColumn ISequenceScorer<TagResult>.BindFeatures(DataViewSchema schema) => _features.Bind(schema);

    DataViewSchema.DetachedColumn[] ISequenceScorer<TagResult>.GetOutputColumns() => new[]
    {
        new DataViewSchema.DetachedColumn(PredictedLabelColumnName,
            new VectorDataViewType(new KeyDataViewType(typeof(uint), TagCount)), _tagNames?.ToAnnotations()),
        new DataViewSchema.DetachedColumn(ScoreColumnName, new VectorDataViewType(NumberDataViewType.Single)),
    };

    /// <summary>Tags and per-step probabilities of every row, one network call for all rows.</summary>
    TagResult[] ISequenceScorer<TagResult>.Score(SequenceRows rows)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return _inference.Run(() =>
        {
            var (data, lengths) = rows.MakeBatch(Enumerable.Range(0, rows.Count).ToArray());
            var (emissions, lens) = _network.Forward(data.to(_inference.Device), lengths);
            var tags = (_network.Crf is { } crf ? crf.Decode(emissions, lens).Tags : emissions.argmax(2)).cpu().data<long>().ToArray();
            var probabilities = emissions.softmax(2).cpu().data<float>().ToArray();
            long steps = emissions.shape[1];
            var result = new TagResult[rows.Count];
            for (int i = 0; i < result.Length; i++)
            {
                int length = rows.Lengths[i];
                var rowTags = new int[length];
                for (int t = 0; t < length; t++) rowTags[t] = (int)tags[i * steps + t];
                result[i] = new TagResult(rowTags, probabilities.AsSpan((int)(i * steps * TagCount), length * TagCount).ToArray());
            }
            return result;
        });
    }

    Delegate ISequenceScorer<TagResult>.MakeGetter(int output, Func<TagResult> current)
    {
        if (output == 0)
        {
            return (ValueGetter<VBuffer<uint>>)((ref VBuffer<uint> dst) =>
            {
                var tags = current().Tags;
                var editor = VBufferEditor.Create(ref dst, tags.Length);
                // Tags are 0-based in the network, keys 1-based in ML.NET.
                for (int t = 0; t < tags.Length; t++) editor.Values[t] = (uint)tags[t] + 1;
                dst = editor.Commit();
            });
        }
        return (ValueGetter<VBuffer<float>>)((ref VBuffer<float> dst) =>
        {
            var scores = current().Scores;
            var editor = VBufferEditor.Create(ref dst, scores.Length);
            scores.CopyTo(editor.Values);
            dst = editor.Commit();
        });
    }
}
