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
/// A fitted <see cref="RnnSequenceClassifier"/>: adds <c>Score</c> and <c>PredictedLabel</c> (multiclass: class
/// probabilities and a key of the label's type with its KeyValues) or <c>Score</c>, <c>Probability</c> and
/// <c>PredictedLabel</c> (binary: logit margin, probability of true, Boolean); with several networks (an ensemble),
/// the probabilities are their mean and the logits its logarithm. Transform scores
/// <c>BatchSize</c> rows per network call; PredictionEngines (one per thread) may run concurrently.
/// Owns a native network: dispose it when done.
/// </summary>
public sealed class RnnSequenceClassifierTransformer : RnnTransformerBase, ISequenceScorer<float[]>
{
    internal const string UserName = "RNN Sequence Classifier";
    internal const string LoaderSignature = "RnnSeqClassifier";
    internal const string ScoreColumnName = "Score";
    internal const string ProbabilityColumnName = "Probability";
    internal const string PredictedLabelColumnName = "PredictedLabel";
    private const string NetworkStream = "Network";

    private readonly KeyValueAnnotation? _labelNames;
    private readonly SequencePooling _pooling;
    private readonly OutOfFoldScores<float[]>? _outOfFold;   // cross-fitted: the training rows' logits (not saved)

    internal RnnSequenceClassifierTransformer(IHostEnvironment env, FeatureEncoding features, bool isBinary,
        int classCount, KeyValueAnnotation? labelNames, int batchSize, SequenceClassifierEnsemble network, torch.Device device,
        FusedKernelPolicy? fusedKernels = null, OutOfFoldScores<float[]>? outOfFold = null)
        : base(env, nameof(RnnSequenceClassifierTransformer), features, batchSize, network, network.Members[0].Encoder, NetworkStream, device, fusedKernels)
    {
        _outOfFold = outOfFold;
        IsBinary = isBinary;
        ClassCount = classCount;
        _labelNames = labelNames;
        EnsembleSize = network.Members.Count;
        _pooling = network.Pooling;
    }

    /// <summary>A loaded classifier (see <see cref="RnnTransformerBase"/>'s loading constructor).</summary>
    private RnnSequenceClassifierTransformer(IHostEnvironment env, FeatureEncoding features, Header header, LoadedNetwork<torch.nn.Module> network)
        : base(env, nameof(RnnSequenceClassifierTransformer), features, header.BatchSize, () =>
        {
            var read = network.Read();
            var ensemble = read as SequenceClassifierEnsemble ?? new SequenceClassifierEnsemble([(SequenceClassifierNetwork)read]);
            return (ensemble, ensemble.Members[0].Encoder);
        }, network.Onnx, NetworkStream)
    {
        IsBinary = header.IsBinary;
        ClassCount = header.ClassCount;
        _labelNames = header.LabelNames;
        EnsembleSize = Math.Max(1, header.Networks);   // 0: a zip from before ensembles, one network
        _pooling = header.Pooling;
    }

    /// <summary>Values per step of a Single input (1 for key input).</summary>
    public int FeaturesPerStep => Features.FeaturesPerStep;

    /// <summary>True for a Boolean label (binary outputs), false for a key label (multiclass outputs).</summary>
    public bool IsBinary { get; }

    /// <summary>Number of classes C (2 for a binary classifier).</summary>
    public int ClassCount { get; }

    /// <summary>Networks whose mean class probabilities the model scores (1 unless trained as an ensemble).</summary>
    public int EnsembleSize { get; }

    /// <summary>The trained networks (owned by this transformer).</summary>
    internal SequenceClassifierEnsemble Network => (SequenceClassifierEnsemble)NetworkModule;

    // Format: the one history of every component's entry is FormatBlocks' (0x00010001 to 0x00010008, docs/persistence.md);
    // 0x00010008 on, the shared blocks carry their own versions and this number changes only with what is this component's own.
    private static VersionInfo GetVersionInfo()
        => ModelPersistence.CreateVersionInfo("RNNSQCLS", verWrittenCur: FormatBlocks.SelfVersionedSince, verReadableCur: FormatBlocks.SelfVersionedSince,
            verWeCanReadBack: 0x00010001, LoaderSignature, typeof(RnnSequenceClassifierTransformer).Assembly);

    private protected override VersionInfo Version => GetVersionInfo();

    /// <summary>The header between the feature column and the encoder (see <see cref="RnnTransformerBase.SaveModel"/>).
    /// Networks is the ensemble's size; 0 for a model written before ensembles (one network, weights named as a
    /// <see cref="SequenceClassifierNetwork"/>'s).</summary>
    private sealed record Header(bool IsBinary, int ClassCount, KeyValueAnnotation? LabelNames, int BatchSize, SequencePooling Pooling, int Networks);

    private protected override void SaveHeader(ModelSaveContext ctx)
    {
        // *** Binary format ***
        // byte: label kind (0 key, 1 Boolean)
        // int: class count C
        // key values: label names (may be absent)
        // int: batch size
        // int: pooling (SequencePooling)
        // ensemble header: networks in the ensemble (EnsembleHeader; from 0x00010007, its own version from 0x00010008)
        // then the encoder description (every network's) and the binary stream "Network": SequenceClassifierEnsemble weights
        ctx.Writer.Write((byte)(IsBinary ? 1 : 0));
        ctx.Writer.Write(ClassCount);
        SavedFields.WriteKeyValues(ctx, Host, _labelNames);
        ctx.Writer.Write(BatchSize);
        ctx.Writer.Write((int)_pooling);
        EnsembleHeader.Write(ctx, EnsembleSize);
    }

    private static RnnSequenceClassifierTransformer Create(IHostEnvironment env, ModelLoadContext ctx)
        => Load(env, ctx, GetVersionInfo(), UserName, NetworkStream,
            readHeader: () =>
            {
                byte labelKind = ctx.Reader.ReadByte();
                int classCount = ctx.Reader.ReadInt32();
                var labelNames = SavedFields.ReadKeyValues(ctx, env, classCount);
                int batchSize = ctx.Reader.ReadInt32();
                int pooling = ctx.Reader.ReadInt32();
                int? networks = EnsembleHeader.Read(ctx, UserName);
                if (labelKind > 1 || classCount < 2 || classCount > 1 << 24 || batchSize < 1 || batchSize > 1 << 24 || networks is null
                    || !Enum.IsDefined((SequencePooling)pooling) || (labelNames is not null && labelNames.Count != classCount))
                    throw new FormatException($"{UserName}: corrupt model header.");
                return new Header(labelKind == 1, classCount, labelNames, batchSize, (SequencePooling)pooling, networks.Value);
            },
            minimumParameters: (header, encoder) => Math.Max(1, header.Networks) * EncoderOptionsPersistence.MinimumParameters(encoder, headOutputs: header.ClassCount),
            build: (header, encoder, features) =>
            {
                // A word bag is the vocabulary's; its idf and weights are read with the network's.
                Func<WordBagPath>? words = features.Vocabulary?.Bag is { } bag ? () => new WordBagPath(new float[bag.Words.Count], header.ClassCount) : null;
                return header.Networks == 0
                    ? (torch.nn.Module)new SequenceClassifierNetwork(encoder, header.ClassCount, header.Pooling, words: words?.Invoke())
                    : SequenceClassifierEnsemble.Create(encoder, header.Networks, header.ClassCount, header.Pooling, words: words);
            },
            create: (features, header, network) => new RnnSequenceClassifierTransformer(env, features, header, network));

    private static IRowMapper Create(IHostEnvironment env, ModelLoadContext ctx, DataViewSchema inputSchema)
        => Create(env, ctx).MakeRowMapper(inputSchema);

    /// <summary>The data a cross-fitted classifier was fitted on gets its rows' out-of-fold scores (<see cref="RnnSequenceClassifier.Options.CrossFitFolds"/>).</summary>
    private protected override IDataView ScoreBatched(IDataView input) => new BatchedScoringView<float[]>(input, this, Host, _outOfFold?.For(input));

    private protected override IRowMapper MapRows(DataViewSchema schema) => new SequenceRowMapper<float[]>(Host, schema, this, this, SaveModel);

    private protected override DataViewSchema.DetachedColumn[] OutputColumns()
    {
        if (IsBinary)
        {
            return new[]
            {
                new DataViewSchema.DetachedColumn(ScoreColumnName, NumberDataViewType.Single),
                new DataViewSchema.DetachedColumn(ProbabilityColumnName, NumberDataViewType.Single),
                new DataViewSchema.DetachedColumn(PredictedLabelColumnName, BooleanDataViewType.Instance),
            };
        }
        return new[]
        {
            new DataViewSchema.DetachedColumn(ScoreColumnName, new VectorDataViewType(NumberDataViewType.Single, ClassCount)),
            new DataViewSchema.DetachedColumn(PredictedLabelColumnName, new KeyDataViewType(typeof(uint), ClassCount),
                _labelNames?.ToAnnotations()),
        };
    }

    /// <summary>The logits (N, C) the network returns: one member's, or the logarithm of the members' mean probabilities.</summary>
    private protected override string WriteOnnxResult(OnnxGraphWriter g, OnnxEncoderInput input)
    {
        var members = Network.Members.Select(member =>
        {
            string pooled = OnnxEncoderExport.Pool(g, input.Encode(member.Encoder), member.Pooling);
            string logits = g.Apply("Gemm", "logits", n => n.AddAttribute("transB", 1L), pooled, g.Parameter(member, "output.weight"), g.Parameter(member, "output.bias"));
            return member.Words is null ? logits : g.Apply("Add", "wide_and_deep", logits, OnnxWordBagExport.Logits(g, member.Words, input.WordBag));
        }).ToArray();
        // An ensemble's logits: the logarithm of the members' mean probabilities, as SequenceClassifierEnsemble computes them.
        return g.LogMeanProbabilities(members, axis: 1);
    }

    private protected override void WriteOnnxOutputs(OnnxGraphWriter g, OnnxEncoderInput input, string[] outputs)
    {
        string logits = WriteOnnxResult(g, input);
        if (IsBinary)
        {
            // Score: the margin logit(true) - logit(false), as (N, 1); Probability: its sigmoid; PredictedLabel: margin > 0.
            string margin = g.Apply("MatMul", "margin", logits, g.Weights([-1f, 1f], [2, 1], "margin"));
            g.Node("Identity", [margin], [outputs[0]]);
            g.Node("Sigmoid", [margin], [outputs[1]]);
            g.Node("Greater", [margin, g.Float(0f, "zero")], [outputs[2]]);
            return;
        }
        g.Node("Softmax", [logits], [outputs[0]]).AddAttribute("axis", 1L);
        // Classes are 0-based in the network, keys 1-based in ML.NET.
        string best = g.Apply("ArgMax", "best", n => { n.AddAttribute("axis", 1L); n.AddAttribute("keepdims", 1L); }, logits);
        string key = g.Apply("Add", "key", best, g.Long(1, "one"));
        g.Node("Cast", [key], [outputs[1]]).AddAttribute("to", typeof(uint));
    }

    /// <summary>Logits (C) of each row, one network call for all rows.</summary>
    float[][] ISequenceScorer<float[]>.Score(SequenceRows rows)
    {
        ThrowIfDisposed();
        return ScoreThroughOnnxRuntime(rows) ?? Inference.Run(() =>
        {
            var batch = rows.MakeBatch(Enumerable.Range(0, rows.Count).ToArray());
            var logits = Network.Forward(batch.To(Inference.Device)).cpu().data<float>().ToArray();
            var result = new float[rows.Count][];
            for (int i = 0; i < result.Length; i++)
                result[i] = logits.AsSpan(i * ClassCount, ClassCount).ToArray();
            return result;
        });
    }

    Delegate ISequenceScorer<float[]>.MakeGetter(int output, Func<float[]> current)
    {
        if (IsBinary)
        {
            return output switch
            {
                0 => (ValueGetter<float>)((ref float dst) => dst = Margin(current())),
                1 => (ValueGetter<float>)((ref float dst) => dst = 1f / (1f + MathF.Exp(-Margin(current())))),
                _ => (ValueGetter<bool>)((ref bool dst) => dst = Margin(current()) > 0),
            };
        }
        if (output == 0)
        {
            return (ValueGetter<VBuffer<float>>)((ref VBuffer<float> dst) =>
            {
                var logits = current();
                var editor = VBufferEditor.Create(ref dst, logits.Length);
                ClassProbabilities.Softmax(logits, editor.Values);
                dst = editor.Commit();
            });
        }
        return (ValueGetter<uint>)((ref uint dst) =>
        {
            // Classes are 0-based in the network, keys 1-based in ML.NET.
            dst = KeyNumbering.ToKey(ClassProbabilities.ArgMax(current()));
        });
    }

    /// <summary>Binary: logit of true minus logit of false, so sigmoid(margin) is the two-class softmax probability of true.</summary>
    private static float Margin(float[] logits) => logits[1] - logits[0];
}
