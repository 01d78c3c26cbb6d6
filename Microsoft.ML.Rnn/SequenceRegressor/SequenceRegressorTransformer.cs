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
/// A fitted <see cref="SequenceRegressor"/>: adds <c>Score</c>, the predicted value (Single) or values (a vector of the
/// label's size), in the label's units; with several networks (an ensemble), their mean. Transform scores
/// <c>BatchSize</c> rows per network call; PredictionEngines (one per thread) may run concurrently.
/// Owns a native network: dispose it when done.
/// </summary>
public sealed class SequenceRegressorTransformer : RnnTransformerBase, ISequenceScorer<float[]>
{
    internal const string UserName = "RNN Sequence Regressor";
    internal const string LoaderSignature = "RnnSeqRegressor";
    internal const string ScoreColumnName = "Score";
    private const string NetworkStream = "Network";

    private readonly float[] _means, _scales;
    private readonly SequencePooling _pooling;

    internal SequenceRegressorTransformer(IHostEnvironment env, FeatureEncoding features, bool isVector, float[] means, float[] scales,
        RowScaling scaling, int targetFeature, int batchSize, SequenceRegressorEnsemble network, torch.Device device, FusedKernelPolicy? fusedKernels = null)
        : base(env, nameof(SequenceRegressorTransformer), features, batchSize, network, network.Members[0].Encoder, NetworkStream, device, fusedKernels)
    {
        IsVector = isVector;
        _means = means;
        _scales = scales;
        Scaling = scaling;
        TargetFeatureIndex = targetFeature;
        EnsembleSize = network.Members.Count;
        _pooling = network.Pooling;
    }

    /// <summary>A loaded regressor (see <see cref="RnnTransformerBase"/>'s loading constructor).</summary>
    private SequenceRegressorTransformer(IHostEnvironment env, FeatureEncoding features, Header header, LoadedNetwork<SequenceRegressorEnsemble> network)
        : base(env, nameof(SequenceRegressorTransformer), features, header.BatchSize, () =>
        {
            var ensemble = network.Read();
            return (ensemble, ensemble.Members[0].Encoder);
        }, network.Onnx, NetworkStream)
    {
        IsVector = header.IsVector;
        _means = header.Means;
        _scales = header.Scales;
        Scaling = header.Scaling;
        TargetFeatureIndex = header.TargetFeature;
        EnsembleSize = header.Networks;
        _pooling = header.Pooling;
    }

    /// <summary>True for a vector label (a vector <c>Score</c>), false for a Single one.</summary>
    public bool IsVector { get; }

    /// <summary>Values predicted per row (the label's size; 1 for a Single label).</summary>
    public int OutputSize => _means.Length;

    /// <summary>How each row is scaled before the network reads it.</summary>
    public RowScaling Scaling { get; }

    /// <summary>With <see cref="Scaling"/>, the feature whose row scale scales the prediction.</summary>
    public int TargetFeatureIndex { get; }

    /// <summary>Networks whose mean prediction the model scores (1 unless trained as an ensemble).</summary>
    public int EnsembleSize { get; }

    /// <summary>The trained networks (owned by this transformer).</summary>
    internal SequenceRegressorEnsemble Network => (SequenceRegressorEnsemble)NetworkModule;

    // Format: the component's own history starts at 0x00010008, the first format whose shared blocks carry their own
    // versions (FormatBlocks); this number changes only with what is this component's own.
    private static VersionInfo GetVersionInfo()
        => ModelPersistence.CreateVersionInfo("RNNSQREG", verWrittenCur: FormatBlocks.SelfVersionedSince, verReadableCur: FormatBlocks.SelfVersionedSince,
            verWeCanReadBack: FormatBlocks.SelfVersionedSince, LoaderSignature, typeof(SequenceRegressorTransformer).Assembly);

    private protected override VersionInfo Version => GetVersionInfo();

    /// <summary>The header between the feature column and the encoder (see <see cref="RnnTransformerBase.SaveModel"/>).</summary>
    private sealed record Header(bool IsVector, float[] Means, float[] Scales, RowScaling Scaling, int TargetFeature, int BatchSize,
        SequencePooling Pooling, int Networks);

    private protected override void SaveHeader(ModelSaveContext ctx)
    {
        // *** Binary format ***
        // byte: label kind (0 Single, 1 vector)
        // floats: per output, the training targets' mean (SavedFields.WriteSingles)
        // floats: per output, their standard deviation (the scale the network's outputs are multiplied by)
        // byte: row scaling (RowScaling); int: the target feature's index
        // int: batch size
        // int: pooling (SequencePooling)
        // ensemble header: networks in the ensemble (EnsembleHeader)
        // then the encoder description (every network's) and the binary stream "Network": SequenceRegressorEnsemble weights
        ctx.Writer.Write((byte)(IsVector ? 1 : 0));
        SavedFields.WriteSingles(ctx, _means);
        SavedFields.WriteSingles(ctx, _scales);
        ctx.Writer.Write((byte)Scaling);
        ctx.Writer.Write(TargetFeatureIndex);
        ctx.Writer.Write(BatchSize);
        ctx.Writer.Write((int)_pooling);
        EnsembleHeader.Write(ctx, EnsembleSize);
    }

    private static SequenceRegressorTransformer Create(IHostEnvironment env, ModelLoadContext ctx)
        => Load(env, ctx, GetVersionInfo(), UserName, NetworkStream,
            readHeader: () =>
            {
                byte labelKind = ctx.Reader.ReadByte();
                var means = SavedFields.ReadSingles(ctx);
                var scales = SavedFields.ReadSingles(ctx);
                byte scaling = ctx.Reader.ReadByte();
                int targetFeature = ctx.Reader.ReadInt32();
                int batchSize = ctx.Reader.ReadInt32();
                int pooling = ctx.Reader.ReadInt32();
                int? networks = EnsembleHeader.Read(ctx, UserName);
                if (labelKind > 1 || means.Length < 1 || scales.Length != means.Length || (labelKind == 0 && means.Length != 1)
                    || means.Any(m => !float.IsFinite(m)) || scales.Any(s => !(s > 0) || !float.IsFinite(s))
                    || !Enum.IsDefined((RowScaling)scaling) || targetFeature < 0
                    || batchSize < 1 || batchSize > 1 << 24 || networks is not > 0 || !Enum.IsDefined((SequencePooling)pooling))
                    throw new FormatException($"{UserName}: corrupt model header.");
                return new Header(labelKind == 1, means, scales, (RowScaling)scaling, targetFeature, batchSize, (SequencePooling)pooling, networks.Value);
            },
            minimumParameters: (header, encoder) => header.Networks * EncoderOptionsPersistence.MinimumParameters(encoder, headOutputs: header.Means.Length),
            build: (header, encoder, _) => SequenceRegressorEnsemble.Create(encoder, header.Networks, header.Means.Length, header.Pooling),
            create: (features, header, network) =>
                header.TargetFeature < features.FeaturesPerStep && (header.Scaling == RowScaling.None || features.Kind == SequenceItemKind.Singles)
                    ? new SequenceRegressorTransformer(env, features, header, network)
                    : throw new FormatException($"{UserName}: corrupt model header: row scaling of feature {header.TargetFeature} " +
                        $"of a {features.Kind} column of {features.FeaturesPerStep} feature(s) per step."));

    private static IRowMapper Create(IHostEnvironment env, ModelLoadContext ctx, DataViewSchema inputSchema)
        => Create(env, ctx).MakeRowMapper(inputSchema);

    private protected override IDataView ScoreBatched(IDataView input) => new BatchedScoringView<float[]>(input, this, Host);

    private protected override IRowMapper MapRows(DataViewSchema schema) => new SequenceRowMapper<float[]>(Host, schema, this, this, SaveModel);

    private protected override DataViewSchema.DetachedColumn[] OutputColumns()
        => [new DataViewSchema.DetachedColumn(ScoreColumnName,
            IsVector ? new VectorDataViewType(NumberDataViewType.Single, OutputSize) : NumberDataViewType.Single)];

    /// <summary>The predictions (N, K) in the label's units: the members' mean, times the scale, plus the mean (and, with
    /// row scaling, times the row's target scale).</summary>
    private protected override string WriteOnnxResult(OnnxGraphWriter g, OnnxEncoderInput input)
    {
        var (steps, rowShift, rowScale) = Scaling == RowScaling.None ? (null, null, null) : WriteOnnxRowScaling(g, input.Input);
        var members = Network.Members.Select(member =>
        {
            string pooled = OnnxEncoderExport.Pool(g, input.Encode(member.Encoder, steps), member.Pooling);
            return g.Apply("Gemm", "standardised", n => n.AddAttribute("transB", 1L), pooled, g.Parameter(member, "output.weight"), g.Parameter(member, "output.bias"));
        }).ToArray();
        string mean = g.Mean(members, "members_mean");
        string scaled = g.Apply("Mul", "scaled", mean, g.Weights(_scales, [OutputSize], "label_scale"));
        string prediction = g.Apply("Add", "prediction", scaled, g.Weights(_means, [OutputSize], "label_mean"));
        if (rowScale is null) return prediction;
        string rescaled = g.Apply("Mul", "rescaled", prediction, rowScale);
        return rowShift is null ? rescaled : g.Apply("Add", "restored", rescaled, rowShift);
    }

    /// <summary>
    /// <see cref="RowScales"/> in ONNX: the Single steps (N, L·F) shifted and scaled feature by feature over the row's
    /// steps, and the target feature's shift (null for <see cref="RowScaling.MeanAbsolute"/>) and scale, each (N, 1). A
    /// scale of 0 (or NaN, a row of no steps) becomes 1; a shift of NaN becomes 0.
    /// </summary>
    private (string Steps, string? TargetShift, string TargetScale) WriteOnnxRowScaling(OnnxGraphWriter g, string input)
    {
        int features = Features.FeaturesPerStep;
        string steps = g.Reshape(input, [0, -1, features], "scaling_steps");
        string? shift = null;
        string centred = steps;
        string spread;
        if (Scaling == RowScaling.Standardize)
        {
            string mean = g.Reduce("ReduceMean", steps, 1, keepDimensions: true, "scaling_mean");
            shift = g.Apply("Where", "row_shift", g.Apply("IsNaN", "scaling_mean_nan", mean), g.Float(0f, "zero"), mean);      // (N, 1, F)
            centred = g.Apply("Sub", "scaling_centred", steps, shift);
            spread = g.Apply("Sqrt", "scaling_std", g.Reduce("ReduceMean", g.Apply("Mul", "scaling_squares", centred, centred), 1, keepDimensions: true, "scaling_variance"));
        }
        else
        {
            spread = g.Reduce("ReduceMean", g.Apply("Abs", "scaling_abs", steps), 1, keepDimensions: true, "scaling_mean_abs");
        }
        string unusable = g.Apply("Or", "scaling_unusable", g.Apply("IsNaN", "scaling_nan", spread), g.Apply("Equal", "scaling_zero", spread, g.Float(0f, "zero")));
        string scale = g.Apply("Where", "row_scale", unusable, g.Float(1f, "one"), spread);                                   // (N, 1, F)
        string scaled = g.Apply("Reshape", "scaled_steps", g.Apply("Div", "scaled_steps3", centred, scale), g.Apply("Shape", "input_shape", input));
        string target = g.Longs([TargetFeatureIndex], "target_feature");
        string Pick(string value, string hint) => g.Reshape(g.Apply("Gather", hint + "3", n => n.AddAttribute("axis", 2L), value, target), [-1, 1], hint);
        return (scaled, shift is null ? null : Pick(shift, "target_shift"), Pick(scale, "target_scale"));
    }

    private protected override void WriteOnnxOutputs(OnnxGraphWriter g, OnnxEncoderInput input, string[] outputs)
        => g.Node("Identity", [WriteOnnxResult(g, input)], [outputs[0]]);

    /// <summary>The predictions (K) of each row in the label's units, one network call for all rows.</summary>
    float[][] ISequenceScorer<float[]>.Score(SequenceRows rows)
    {
        ThrowIfDisposed();
        return ScoreThroughOnnxRuntime(rows) ?? Inference.Run(() =>
        {
            var rowScales = Scaling == RowScaling.None ? null : RowScales.ApplyInPlace(rows, Scaling);
            var batch = rows.MakeBatch(Enumerable.Range(0, rows.Count).ToArray());
            var standardised = Network.Forward(batch.To(Inference.Device)).cpu().data<float>().ToArray();
            var result = new float[rows.Count][];
            for (int i = 0; i < result.Length; i++)
            {
                result[i] = new float[OutputSize];
                for (int j = 0; j < OutputSize; j++)
                {
                    float value = standardised[i * OutputSize + j] * _scales[j] + _means[j];
                    result[i][j] = rowScales is null ? value : rowScales[i].Restore(value, TargetFeatureIndex);
                }
            }
            return result;
        });
    }

    Delegate ISequenceScorer<float[]>.MakeGetter(int output, Func<float[]> current)
    {
        if (!IsVector)
            return (ValueGetter<float>)((ref float dst) => dst = current()[0]);
        return (ValueGetter<VBuffer<float>>)((ref VBuffer<float> dst) =>
        {
            var values = current();
            var editor = VBufferEditor.Create(ref dst, values.Length);
            values.CopyTo(editor.Values);
            dst = editor.Commit();
        });
    }
}
