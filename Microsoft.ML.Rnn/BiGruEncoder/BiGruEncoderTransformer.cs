using Microsoft.ML.Data;
using Microsoft.ML.Rnn.Features;
using Microsoft.ML.Rnn.Networks;
using Microsoft.ML.Rnn.Onnx;
using Microsoft.ML.Rnn.Persistence;
using Microsoft.ML.Rnn.Scoring;
using Microsoft.ML.Runtime;
using TorchSharp;

namespace Microsoft.ML.Rnn;

/// <summary>
/// A fitted <see cref="BiGruEncoder"/>: adds one known-size vector of Single (D·H values: the pooled outputs of the
/// trained encoder) per row. Transform encodes <c>BatchSize</c> rows per network call. Owns a native network:
/// dispose it when done.
/// </summary>
public sealed class BiGruEncoderTransformer : RnnTransformerBase, ISequenceScorer<float[]>
{
    internal const string UserName = "Recurrent Sequence Encoder";
    internal const string LoaderSignature = "RnnBiGruEncoder";
    private const string NetworkStream = "Encoder";

    internal BiGruEncoderTransformer(IHostEnvironment env, FeatureEncoding features, string outputColumnName, SequencePooling pooling,
        int batchSize, SequenceEncoder encoder, torch.Device device, FusedKernelPolicy? fusedKernels = null)
        : base(env, nameof(BiGruEncoderTransformer), features, batchSize, encoder, encoder, NetworkStream, device, fusedKernels)
    {
        OutputColumnName = outputColumnName;
        Pooling = pooling;
        OutputSize = (int)encoder.OutputSize;
    }

    /// <summary>A loaded encoder (see <see cref="RnnTransformerBase"/>'s loading constructor).</summary>
    private BiGruEncoderTransformer(IHostEnvironment env, FeatureEncoding features, Header header, LoadedNetwork<SequenceEncoder> network)
        : base(env, nameof(BiGruEncoderTransformer), features, header.BatchSize, () =>
        {
            var encoder = network.Read();
            return (encoder, encoder);
        }, network.Onnx, NetworkStream)
    {
        OutputColumnName = header.OutputColumnName;
        Pooling = header.Pooling;
        // A deferred network converts to ONNX, so its cells are LSTM (without a projection), GRU or simple RNN: D*H.
        var o = network.EncoderOptions;
        OutputSize = network.Defer ? (o.Bidirectional ? 2 : 1) * (int)o.HiddenSize : (int)Encoder.OutputSize;
    }

    /// <summary>The vector column added.</summary>
    public string OutputColumnName { get; }

    /// <summary>How per-step outputs are pooled into the output vector.</summary>
    public SequencePooling Pooling { get; }

    /// <summary>Size of the output vector: directions × hidden size.</summary>
    public int OutputSize { get; }

    // Format: the one history of every component's entry is FormatBlocks' (0x00010001 to 0x00010008, docs/persistence.md);
    // 0x00010008 on, the shared blocks carry their own versions and this number changes only with what is this component's own.
    private static VersionInfo GetVersionInfo()
        => ModelPersistence.CreateVersionInfo("RNNBIENC", verWrittenCur: FormatBlocks.SelfVersionedSince, verReadableCur: FormatBlocks.SelfVersionedSince,
            verWeCanReadBack: 0x00010001, LoaderSignature, typeof(BiGruEncoderTransformer).Assembly);

    private protected override VersionInfo Version => GetVersionInfo();

    /// <summary>The header between the feature column and the encoder (see <see cref="RnnTransformerBase.SaveModel"/>).</summary>
    private sealed record Header(string OutputColumnName, SequencePooling Pooling, int BatchSize);

    private protected override void SaveHeader(ModelSaveContext ctx)
    {
        // *** Binary format ***
        // int: id of the output column name
        // int: pooling (SequencePooling)
        // int: batch size
        // then the encoder description and the binary stream "Encoder": SequenceEncoder weights (the training head is not kept)
        ctx.SaveNonEmptyString(OutputColumnName);
        ctx.Writer.Write((int)Pooling);
        ctx.Writer.Write(BatchSize);
    }

    private static BiGruEncoderTransformer Create(IHostEnvironment env, ModelLoadContext ctx)
        => Load(env, ctx, GetVersionInfo(), UserName, NetworkStream,
            readHeader: () =>
            {
                string output = ctx.LoadNonEmptyString();
                int pooling = ctx.Reader.ReadInt32();
                int batchSize = ctx.Reader.ReadInt32();
                if (!Enum.IsDefined((SequencePooling)pooling) || batchSize < 1 || batchSize > 1 << 24)
                    throw new FormatException($"{UserName}: corrupt model header.");
                return new Header(output, (SequencePooling)pooling, batchSize);
            },
            minimumParameters: (_, encoder) => EncoderOptionsPersistence.MinimumParameters(encoder),
            build: (_, encoder, _) => encoder,
            create: (features, header, network) => new BiGruEncoderTransformer(env, features, header, network));

    private static IRowMapper Create(IHostEnvironment env, ModelLoadContext ctx, DataViewSchema inputSchema)
        => Create(env, ctx).MakeRowMapper(inputSchema);

    private protected override IDataView ScoreBatched(IDataView input) => new BatchedScoringView<float[]>(input, this, Host);

    private protected override IRowMapper MapRows(DataViewSchema schema) => new SequenceRowMapper<float[]>(Host, schema, this, this, SaveModel);

    private protected override DataViewSchema.DetachedColumn[] OutputColumns() => new[]
    {
        new DataViewSchema.DetachedColumn(OutputColumnName, new VectorDataViewType(NumberDataViewType.Single, OutputSize)),
    };

    /// <summary>The pooled encodings (N, D).</summary>
    private protected override string WriteOnnxResult(OnnxGraphWriter g, OnnxEncoderInput input)
        => OnnxEncoderExport.Pool(g, input.Encode(Encoder), Pooling);

    private protected override void WriteOnnxOutputs(OnnxGraphWriter g, OnnxEncoderInput input, string[] outputs)
        => g.Node("Identity", [WriteOnnxResult(g, input)], [outputs[0]]);

    /// <summary>Pooled encodings of every row, one network call for all rows.</summary>
    float[][] ISequenceScorer<float[]>.Score(SequenceRows rows)
    {
        ThrowIfDisposed();
        return ScoreThroughOnnxRuntime(rows) ?? Inference.Run(() =>
        {
            var batch = rows.MakeBatch(Enumerable.Range(0, rows.Count).ToArray());
            var pooled = SequenceEncoder.Pool(Encoder.Encode(batch.To(Inference.Device)), Pooling).cpu().data<float>().ToArray();
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
