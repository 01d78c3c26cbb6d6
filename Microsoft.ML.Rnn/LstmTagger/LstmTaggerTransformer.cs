using Microsoft.ML.Data;
using Microsoft.ML.Rnn.Ensembles;
using Microsoft.ML.Rnn.Features;
using Microsoft.ML.Rnn.Networks;
using Microsoft.ML.Rnn.Onnx;
using Microsoft.ML.Rnn.Persistence;
using Microsoft.ML.Rnn.Scoring;
using Microsoft.ML.Runtime;
using TorchSharp;

namespace Microsoft.ML.Rnn;

/// <summary>
/// A fitted <see cref="LstmTagger"/>: adds <c>PredictedLabel</c> (variable vector of keys of the label's type with
/// its KeyValues, one per input step) and <c>Score</c> (variable vector of Single: for each step t and tag k, the
/// probability softmax(emissions_t)[k] at index t·T + k). Transform tags <c>BatchSize</c> rows per network call.
/// Owns a native network: dispose it when done.
/// </summary>
public sealed class LstmTaggerTransformer : RnnTransformerBase, ISequenceScorer<LstmTaggerTransformer.TagResult>
{
    internal const string UserName = "LSTM Sequence Tagger";
    internal const string LoaderSignature = "RnnLstmTagger";
    internal const string PredictedLabelColumnName = "PredictedLabel";
    internal const string ScoreColumnName = "Score";
    private const string NetworkStream = "Network";

    /// <summary>One row's tags (0-based) and flattened per-step tag probabilities.</summary>
    internal sealed record TagResult(int[] Tags, float[] Scores);

    private readonly KeyValueAnnotation? _tagNames;

    internal LstmTaggerTransformer(IHostEnvironment env, FeatureEncoding features, int tagCount, KeyValueAnnotation? tagNames,
        int batchSize, SequenceTaggerEnsemble network, torch.Device device, FusedKernelPolicy? fusedKernels = null)
        : base(env, nameof(LstmTaggerTransformer), features, batchSize, network, network.Members[0].Encoder, NetworkStream, device, fusedKernels)
    {
        TagCount = tagCount;
        _tagNames = tagNames;
        UsesCrf = network.UsesCrf;
        EnsembleSize = network.Members.Count;
    }

    /// <summary>A loaded tagger (see <see cref="RnnTransformerBase"/>'s loading constructor).</summary>
    private LstmTaggerTransformer(IHostEnvironment env, FeatureEncoding features, Header header, LoadedNetwork<torch.nn.Module> network)
        : base(env, nameof(LstmTaggerTransformer), features, header.BatchSize, () =>
        {
            var read = network.Read();
            var ensemble = read as SequenceTaggerEnsemble ?? new SequenceTaggerEnsemble([(SequenceTaggerNetwork)read]);
            return (ensemble, ensemble.Members[0].Encoder);
        }, network.Onnx, NetworkStream)
    {
        TagCount = header.TagCount;
        _tagNames = header.TagNames;
        UsesCrf = header.UsesCrf;
        EnsembleSize = Math.Max(1, header.Networks);   // 0: a zip from before ensembles, one network
    }

    /// <summary>Number of tags T.</summary>
    public int TagCount { get; }

    /// <summary>True when tags are decoded with the CRF (Viterbi).</summary>
    public bool UsesCrf { get; }

    /// <summary>Networks that tag together (1 unless trained as an ensemble).</summary>
    public int EnsembleSize { get; }

    /// <summary>The trained networks (owned by this transformer).</summary>
    internal SequenceTaggerEnsemble Network => (SequenceTaggerEnsemble)NetworkModule;

    // Format: the one history of every component's entry is FormatBlocks' (0x00010001 to 0x00010008, docs/persistence.md);
    // 0x00010008 on, the shared blocks carry their own versions and this number changes only with what is this component's own.
    private static VersionInfo GetVersionInfo()
        => ModelPersistence.CreateVersionInfo("RNNTAGGR", verWrittenCur: FormatBlocks.SelfVersionedSince, verReadableCur: FormatBlocks.SelfVersionedSince,
            verWeCanReadBack: 0x00010001, LoaderSignature, typeof(LstmTaggerTransformer).Assembly);

    private protected override VersionInfo Version => GetVersionInfo();

    /// <summary>The header between the feature column and the encoder (see <see cref="RnnTransformerBase.SaveModel"/>).
    /// Networks is the ensemble's size; 0 for a model written before ensembles (one network, weights named as a
    /// <see cref="SequenceTaggerNetwork"/>'s).</summary>
    private sealed record Header(int TagCount, KeyValueAnnotation? TagNames, int BatchSize, bool UsesCrf, int Networks);

    private protected override void SaveHeader(ModelSaveContext ctx)
    {
        // *** Binary format ***
        // int: tag count T
        // key values: tag names (may be absent)
        // int: batch size
        // byte: CRF decoding
        // ensemble header: networks in the ensemble (EnsembleHeader; from 0x00010007, its own version from 0x00010008)
        // then the encoder description (every network's) and the binary stream "Network": SequenceTaggerEnsemble weights
        ctx.Writer.Write(TagCount);
        SavedFields.WriteKeyValues(ctx, Host, _tagNames);
        ctx.Writer.Write(BatchSize);
        ctx.Writer.Write((byte)(UsesCrf ? 1 : 0));
        EnsembleHeader.Write(ctx, EnsembleSize);
    }

    private static LstmTaggerTransformer Create(IHostEnvironment env, ModelLoadContext ctx)
        => Load(env, ctx, GetVersionInfo(), UserName, NetworkStream,
            readHeader: () =>
            {
                int tagCount = ctx.Reader.ReadInt32();
                var tagNames = SavedFields.ReadKeyValues(ctx, env, tagCount);
                int batchSize = ctx.Reader.ReadInt32();
                byte crf = ctx.Reader.ReadByte();
                int? networks = EnsembleHeader.Read(ctx, UserName);
                if (tagCount < 2 || tagCount > 1 << 24 || batchSize < 1 || batchSize > 1 << 24 || crf > 1 || networks is null
                    || (tagNames is not null && tagNames.Count != tagCount))
                    throw new FormatException($"{UserName}: corrupt model header.");
                return new Header(tagCount, tagNames, batchSize, crf == 1, networks.Value);
            },
            minimumParameters: (header, encoder) => Math.Max(1, header.Networks) * (EncoderOptionsPersistence.MinimumParameters(encoder, headOutputs: header.TagCount)
                + (header.UsesCrf ? (double)header.TagCount * header.TagCount : 0)),
            build: (header, encoder, _) => header.Networks == 0
                ? (torch.nn.Module)new SequenceTaggerNetwork(encoder, header.TagCount, header.UsesCrf)
                : SequenceTaggerEnsemble.Create(encoder, header.Networks, header.TagCount, header.UsesCrf),
            create: (features, header, network) => new LstmTaggerTransformer(env, features, header, network));

    private static IRowMapper Create(IHostEnvironment env, ModelLoadContext ctx, DataViewSchema inputSchema)
        => Create(env, ctx).MakeRowMapper(inputSchema);

    private protected override IDataView ScoreBatched(IDataView input) => new BatchedScoringView<TagResult>(input, this, Host);

    private protected override IRowMapper MapRows(DataViewSchema schema) => new SequenceRowMapper<TagResult>(Host, schema, this, this, SaveModel);

    private protected override DataViewSchema.DetachedColumn[] OutputColumns() => new[]
    {
        new DataViewSchema.DetachedColumn(PredictedLabelColumnName,
            new VectorDataViewType(new KeyDataViewType(typeof(uint), TagCount)), _tagNames?.ToAnnotations()),
        new DataViewSchema.DetachedColumn(ScoreColumnName, new VectorDataViewType(NumberDataViewType.Single)),
    };

    /// <summary>
    /// The emissions of every step, flattened per row (N, L*T), as the component reads them (<see cref="TagsOf"/>); with
    /// a CRF, followed by the Viterbi path's tags (N, L) as floats (exact: tags are below 2^24).
    /// </summary>
    private protected override string WriteOnnxResult(OnnxGraphWriter g, OnnxEncoderInput input)
    {
        string emissions = Emissions(g, input);
        string flat = g.Apply("Flatten", "emissions_flat", n => n.AddAttribute("axis", 1L), emissions);
        if (!UsesCrf) return flat;
        string tags = g.Apply("Cast", "tags_as_floats", n => n.AddAttribute("to", typeof(float)), BestTags(g, emissions));
        return g.Apply("Concat", "emissions_and_tags", n => n.AddAttribute("axis", 1L), flat, tags);
    }

    private protected override void WriteOnnxOutputs(OnnxGraphWriter g, OnnxEncoderInput input, string[] outputs)
    {
        string emissions = Emissions(g, input);
        // PredictedLabel: the best tag per step as a 1-based key; Score: every step's tag probabilities, row-major.
        g.Node("Cast", [g.Apply("Add", "key", BestTags(g, emissions), g.Long(1, "one"))], [outputs[0]]).AddAttribute("to", typeof(uint));
        string probabilities = g.Apply("Softmax", "probabilities", n => n.AddAttribute("axis", 2L), emissions);
        g.Node("Reshape", [probabilities, g.Longs([0, -1], "flat")], [outputs[1]]);
    }

    /// <summary>
    /// (N, L, T) emissions: each network's from every step's outputs, then batch-major; an ensemble's are the logarithm
    /// of the networks' mean probabilities, or with a CRF their mean, as <see cref="SequenceTaggerEnsemble"/> computes them.
    /// </summary>
    private string Emissions(OnnxGraphWriter g, OnnxEncoderInput input)
    {
        var members = Network.Members.Select(member => g.Transpose(
            g.Linear(input.Encode(member.Encoder).Outputs, OnnxGraphWriter.ParameterOf(member, "output.weight"), OnnxGraphWriter.ParameterOf(member, "output.bias"), "emissions"),
            [1, 0, 2], "emissions_by_row")).ToArray();
        return UsesCrf ? g.Mean(members, "mean_emissions") : g.LogMeanProbabilities(members, axis: 2);
    }

    /// <summary>
    /// (N, L) int64 tags from <paramref name="emissions"/>: the best per step, or with a CRF the Viterbi path under the
    /// networks' mean transition, start and end scores (<see cref="SequenceTaggerEnsemble.Decode"/>).
    /// </summary>
    private string BestTags(OnnxGraphWriter g, string emissions)
    {
        if (!UsesCrf)
            return g.Apply("ArgMax", "best", n => { n.AddAttribute("axis", 2L); n.AddAttribute("keepdims", 0L); }, emissions);
        using var scope = torch.NewDisposeScope();
        var (transitions, start, end) = Network.MeanCrfScores();
        return OnnxViterbi.Write(g, emissions, transitions, start, end, "viterbi");
    }

    /// <summary>Tags and per-step probabilities of every row, one network call for all rows.</summary>
    TagResult[] ISequenceScorer<TagResult>.Score(SequenceRows rows)
    {
        ThrowIfDisposed();
        if (ScoreThroughOnnxRuntime(rows) is { } emissions)
            return emissions.Select((e, i) => TagsOf(e, rows.Lengths[i])).ToArray();
        return Inference.Run(() =>
        {
            var batch = rows.MakeBatch(Enumerable.Range(0, rows.Count).ToArray());
            var (emissions, lens) = Network.Forward(batch.To(Inference.Device));
            var tags = Network.Decode(emissions, lens).data<long>().ToArray();
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

    /// <summary>
    /// A row's tags and per-step probabilities from its result in the component's own graph: (L*T) emissions, then with
    /// a CRF the (L) Viterbi tags; without one the best tag per step.
    /// </summary>
    private TagResult TagsOf(float[] result, int length)
    {
        var tags = new int[length];
        var probabilities = new float[length * TagCount];
        for (int t = 0; t < length; t++)
        {
            var step = result.AsSpan(t * TagCount, TagCount);
            tags[t] = UsesCrf ? (int)result[length * TagCount + t] : ClassProbabilities.ArgMax(step);
            ClassProbabilities.Softmax(step, probabilities.AsSpan(t * TagCount, TagCount));
        }
        return new TagResult(tags, probabilities);
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
                for (int t = 0; t < tags.Length; t++) editor.Values[t] = KeyNumbering.ToKey(tags[t]);
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
