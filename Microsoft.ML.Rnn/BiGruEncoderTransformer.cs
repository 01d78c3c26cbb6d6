using Microsoft.ML.Rnn.Core;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Rnn;
using Microsoft.ML.Rnn.MLNet;
using Microsoft.ML.Rnn.Networks;
using Microsoft.ML.Runtime;
using TorchSharp;

[assembly: LoadableClass(typeof(BiGruEncoderTransformer), null, typeof(SignatureLoadModel),
    BiGruEncoderTransformer.UserName, BiGruEncoderTransformer.LoaderSignature)]
[assembly: LoadableClass(typeof(IRowMapper), typeof(BiGruEncoderTransformer), null, typeof(SignatureLoadRowMapper),
    BiGruEncoderTransformer.UserName, BiGruEncoderTransformer.LoaderSignature)]

namespace Microsoft.ML.Rnn;

/// <summary>
/// A fitted <see cref="BiGruEncoder"/>: adds one known-size vector of Single (D·H values: the pooled outputs of the
/// trained encoder) per row. Transform encodes <c>BatchSize</c> rows per network call. Owns a native network:
/// dispose it when done.
/// </summary>
public sealed class BiGruEncoderTransformer : RowToRowTransformerBase, ITransformer, IDisposable, ISequenceScorer<float[]>
{
    internal const string UserName = "Recurrent Sequence Encoder";
    internal const string LoaderSignature = "RnnBiGruEncoder";
    private const string NetworkStream = "Encoder";

    private readonly SequenceEncoder _encoder;
    private readonly NetworkInference _inference;
    private readonly FeatureEncoding _features;
    private bool _disposed;

    internal BiGruEncoderTransformer(IHostEnvironment env, FeatureEncoding features, string outputColumnName, SequencePooling pooling,
        int batchSize, SequenceEncoder encoder, torch.Device device, FusedKernelPolicy? fusedKernels = null)
        : base(env.Register(nameof(BiGruEncoderTransformer)))
    {
        _features = features;
        OutputColumnName = outputColumnName;
        Pooling = pooling;
        BatchSize = batchSize;
        _encoder = encoder;
        _encoder.eval();
        _inference = new NetworkInference(encoder, device, Host, fusedKernels);
    }

    /// <summary>The input column read.</summary>
    public string FeatureColumnName => _features.Name;

    /// <summary>The vector column added.</summary>
    public string OutputColumnName { get; }

    /// <summary>How per-step outputs are pooled into the output vector.</summary>
    public SequencePooling Pooling { get; }

    /// <summary>Size of the output vector: directions × hidden size.</summary>
    public int OutputSize => (int)_encoder.OutputSize;

    /// <summary>Rows per network call in <see cref="Transform"/>.</summary>
    public int BatchSize { get; }

    /// <summary>The trained encoder (tests inspect its parameters).</summary>
    internal SequenceEncoder Encoder => _encoder;

    /// <summary>Adds the encoding column; rows are encoded <see cref="BatchSize"/> at a time when read.</summary>
    public new IDataView Transform(IDataView input)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentNullException.ThrowIfNull(input);
        return new BatchedScoringView<float[]>(input, this, Host);
    }

    IDataView ITransformer.Transform(IDataView input) => Transform(input);

    // Format history:
    // 0x00010001: initial.
    // 0x00010002: the feature column description ends with the longest sequence kept (MaxSequenceLength).
    private static VersionInfo GetVersionInfo()
        => ModelPersistence.CreateVersionInfo("RNNBIENC", verWrittenCur: 0x00010002, verReadableCur: 0x00010002,
            verWeCanReadBack: 0x00010001, LoaderSignature, typeof(BiGruEncoderTransformer).Assembly);

    /// <summary>Writes the transformer into a model zip (called by <c>mlContext.Model.Save</c>).</summary>
    public override void SaveModel(ModelSaveContext ctx)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ModelPersistence.BeginSave(ctx, GetVersionInfo());
        // *** Binary format ***
        // feature column description (FeatureEncoding.Write)
        // int: id of the output column name
        // int: pooling (SequencePooling)
        // int: batch size
        // encoder description (EncoderOptionsPersistence.Write)
        // binary stream "Encoder": SequenceEncoder weights (the training head is not kept)
        _features.Write(ctx);
        ctx.SaveNonEmptyString(OutputColumnName);
        ctx.Writer.Write((int)Pooling);
        ctx.Writer.Write(BatchSize);
        EncoderOptionsPersistence.Write(ctx, _encoder);
        ModelPersistence.SaveModule(ctx, NetworkStream, _encoder);
    }

    private static BiGruEncoderTransformer Create(IHostEnvironment env, ModelLoadContext ctx)
    {
        ModelPersistence.BeginLoad(ctx, GetVersionInfo(), UserName);
        return ModelPersistence.Guard(UserName, () => CreateCore(env, ctx));
    }

    private static BiGruEncoderTransformer CreateCore(IHostEnvironment env, ModelLoadContext ctx)
    {
        // *** Binary format ***: see SaveModel.
        var features = FeatureEncoding.Read(ctx, UserName);
        string output = ctx.LoadNonEmptyString();
        int pooling = ctx.Reader.ReadInt32();
        int batchSize = ctx.Reader.ReadInt32();
        if (!Enum.IsDefined((SequencePooling)pooling) || batchSize < 1 || batchSize > 1 << 24)
            throw new FormatException($"{UserName}: corrupt model header.");
        var encoderOptions = EncoderOptionsPersistence.Read(ctx, UserName);
        features.CheckNetwork(encoderOptions, UserName);
        ModelPersistence.CheckNetworkFits(ctx, NetworkStream, EncoderOptionsPersistence.MinimumParameters(encoderOptions), UserName);
        var encoder = ModelPersistence.LoadModule(ctx, NetworkStream, new SequenceEncoder(encoderOptions), UserName);
        return new BiGruEncoderTransformer(env, features, output, (SequencePooling)pooling, batchSize, encoder, torch.CPU);
    }

    private static IRowMapper Create(IHostEnvironment env, ModelLoadContext ctx, DataViewSchema inputSchema)
        => Create(env, ctx).MakeRowMapper(inputSchema);

    /// <inheritdoc/>
    public override IRowMapper MakeRowMapper(DataViewSchema schema)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return new SequenceRowMapper<float[]>(Host, schema, this, this, SaveModel);
    }

    /// <summary>Releases the network's native memory.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _encoder.Dispose();
    }

    MissingKeyHandling ISequenceScorer<float[]>.MissingKeys => MissingKeyHandling.MapToUnknownIndex;

    SequenceColumn ISequenceScorer<float[]>.BindFeatures(DataViewSchema schema) => _features.Bind(schema);

    DataViewSchema.DetachedColumn[] ISequenceScorer<float[]>.GetOutputColumns() => new[]
    {
        new DataViewSchema.DetachedColumn(OutputColumnName, new VectorDataViewType(NumberDataViewType.Single, OutputSize)),
    };

    /// <summary>Pooled encodings of every row, one network call for all rows.</summary>
    float[][] ISequenceScorer<float[]>.Score(SequenceRows rows)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return _inference.Run(() =>
        {
            var (data, lengths) = rows.MakeBatch(Enumerable.Range(0, rows.Count).ToArray());
            var pooled = SequenceEncoder.Pool(_encoder.Encode(data.to(_inference.Device), lengths), Pooling).cpu().data<float>().ToArray();
            var result = new float[rows.Count][];
            for (int i = 0; i < result.Length; i++)
                result[i] = pooled.AsSpan(i * OutputSize, OutputSize).ToArray();
            return result;
        });
    }

    Delegate ISequenceScorer<float[]>.MakeGetter(int output, Func<float[]> current)
        => (ValueGetter<VBuffer<float>>)((ref VBuffer<float> dst) =>
        {
            var values = current();
            var editor = VBufferEditor.Create(ref dst, values.Length);
            values.CopyTo(editor.Values);
            dst = editor.Commit();
        });
}
