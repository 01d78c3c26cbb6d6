using Microsoft.ML.Data;
using Microsoft.ML.Rnn.Features;
using Microsoft.ML.Rnn.Persistence;
using Microsoft.ML.Rnn.Tests.MLNet;
using Microsoft.ML.Runtime;
using Microsoft.ML;
using TorchSharp;
using static TorchSharp.torch;

[assembly: LoadableClass(typeof(LinearProbeTransformer), null, typeof(SignatureLoadModel),
    LinearProbeTransformer.UserName, LinearProbeTransformer.LoaderSignature)]
[assembly: LoadableClass(typeof(IRowMapper), typeof(LinearProbeTransformer), null, typeof(SignatureLoadRowMapper),
    LinearProbeTransformer.UserName, LinearProbeTransformer.LoaderSignature)]

namespace Microsoft.ML.Rnn.Tests.MLNet;

/// <summary>
/// Test-only estimator proving the persistence bridge: binds a sequence column (steps of F Single values),
/// creates a seeded TorchSharp Linear(F, G) and no training.
/// </summary>
internal sealed class LinearProbeEstimator : IEstimator<LinearProbeTransformer>
{
    private readonly IHostEnvironment _env;
    private readonly string _input;
    private readonly string _score;
    private readonly string _predicted;
    private readonly int _featuresPerStep;
    private readonly string[] _classes;
    private readonly int _seed;

    public LinearProbeEstimator(MLContext mlContext, string input, int featuresPerStep, string[] classes, int seed = 7,
        string score = "Score", string predicted = "Predicted")
    {
        _env = ((IInternalCatalog)mlContext.Transforms).Environment;
        (_input, _featuresPerStep, _classes, _seed, _score, _predicted) = (input, featuresPerStep, classes, seed, score, predicted);
    }

    public LinearProbeTransformer Fit(IDataView input)
    {
        SequenceColumn.Bind(input.Schema, _input, _featuresPerStep);
        torch.manual_seed(_seed);
        var linear = nn.Linear(_featuresPerStep, _classes.Length);
        return new LinearProbeTransformer(_env, _input, _score, _predicted, _featuresPerStep, linear,
            KeyValueAnnotation.FromStrings(_classes), new float[] { 1.5f });
    }

    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        SequenceColumn.CheckShape(inputSchema, _input);
        var columns = inputSchema.ToDictionary(c => c.Name);
        columns[_score] = new SchemaShape.Column(_score, SchemaShape.Column.VectorKind.Vector, NumberDataViewType.Single, false);
        var keyValues = new SchemaShape(new[] { new SchemaShape.Column(AnnotationUtils.Kinds.KeyValues,
            SchemaShape.Column.VectorKind.Vector, TextDataViewType.Instance, false) });
        columns[_predicted] = new SchemaShape.Column(_predicted, SchemaShape.Column.VectorKind.Scalar, NumberDataViewType.UInt32, true, keyValues);
        return new SchemaShape(columns.Values);
    }
}

/// <summary>
/// Test-only transformer: Score = scale * mean over steps of Linear(x_t) (a G-vector), Predicted = argmax as a key
/// with the class names as KeyValues. Saved with <see cref="ModelPersistence"/>, loaded by ML.NET from this assembly.
/// </summary>
internal sealed class LinearProbeTransformer : RowToRowTransformerBase, IDisposable
{
    internal const string UserName = "Linear Probe (test)";
    internal const string LoaderSignature = "RnnLinearProbe";
    private const string NetworkStream = "Network";

    /// <summary>When set, models are saved claiming this format version, to test loading a "newer" model.</summary>
    internal static uint? SaveAsVersionForTests;

    private readonly string _input;
    private readonly string _score;
    private readonly string _predicted;
    private readonly int _featuresPerStep;
    private readonly nn.Module<Tensor, Tensor> _linear;
    private readonly KeyValueAnnotation _classes;
    private readonly float[] _scale;

    internal LinearProbeTransformer(IHostEnvironment env, string input, string score, string predicted, int featuresPerStep,
        nn.Module<Tensor, Tensor> linear, KeyValueAnnotation classes, float[] scale)
        : base(env.Register(nameof(LinearProbeTransformer)))
    {
        (_input, _score, _predicted, _featuresPerStep, _linear, _classes, _scale) = (input, score, predicted, featuresPerStep, linear, classes, scale);
        _linear.eval();
    }

    // Format history:
    // 0x00010001: initial.
    private static VersionInfo GetVersionInfo(uint written = 0x00010001)
        => ModelPersistence.CreateVersionInfo("RNNLPROB", verWrittenCur: written, verReadableCur: written,
            verWeCanReadBack: 0x00010001, LoaderSignature, typeof(LinearProbeTransformer).Assembly);

    public override void SaveModel(ModelSaveContext ctx)
    {
        ModelPersistence.BeginSave(ctx, GetVersionInfo(SaveAsVersionForTests ?? 0x00010001));
        // *** Binary format ***
        // strings: input, score and predicted column names
        // int: features per step
        // key values: class names
        // floats: scale (one value)
        // binary stream "Network": Linear(F, G) weights
        SavedFields.WriteStrings(ctx, new[] { _input, _score, _predicted });
        ctx.Writer.Write(_featuresPerStep);
        SavedFields.WriteKeyValues(ctx, Host, _classes);
        SavedFields.WriteSingles(ctx, _scale);
        NetworkWeights.SaveModule(ctx, NetworkStream, _linear);
    }

    private static LinearProbeTransformer Create(IHostEnvironment env, ModelLoadContext ctx)
    {
        ModelPersistence.BeginLoad(ctx, GetVersionInfo(), UserName);
        // *** Binary format ***: see SaveModel.
        var names = SavedFields.ReadStrings(ctx);
        if (names.Length != 3 || names.Any(string.IsNullOrEmpty))
            throw new FormatException("LinearProbe: corrupt column names.");
        string input = names[0]!, score = names[1]!, predicted = names[2]!;
        int featuresPerStep = ctx.Reader.ReadInt32();
        var classes = SavedFields.ReadKeyValues(ctx, env) ?? throw new FormatException("LinearProbe: class names missing.");
        float[] scale = SavedFields.ReadSingles(ctx);
        var linear = nn.Linear(featuresPerStep, classes.Count);
        NetworkWeights.LoadModule(ctx, NetworkStream, linear, UserName);
        return new LinearProbeTransformer(env, input, score, predicted, featuresPerStep, linear, classes, scale);
    }

    private static IRowMapper Create(IHostEnvironment env, ModelLoadContext ctx, DataViewSchema inputSchema)
        => Create(env, ctx).MakeRowMapper(inputSchema);

    public override IRowMapper MakeRowMapper(DataViewSchema schema) => new Mapper(this, schema);

    /// <summary>The Linear's weight (G, F) row-major and bias (G), for independent checks.</summary>
    internal (float[] Weight, float[] Bias) Parameters()
    {
        var p = _linear.named_parameters().ToDictionary(x => x.name, x => x.parameter.data<float>().ToArray());
        return (p["weight"], p["bias"]);
    }

    public void Dispose() => _linear.Dispose();

    private sealed class Mapper : MapperBase
    {
        private readonly LinearProbeTransformer _owner;
        private readonly SequenceColumn _column;

        public Mapper(LinearProbeTransformer parent, DataViewSchema schema)
            : base(parent.Host.Register(nameof(Mapper)), schema, parent)
        {
            _owner = parent;
            _column = SequenceColumn.Bind(schema, parent._input, parent._featuresPerStep);
        }

        public override DataViewSchema.DetachedColumn[] GetOutputColumnsCore()
        {
            int g = _owner._classes.Count;
            return new[]
            {
                new DataViewSchema.DetachedColumn(_owner._score, new VectorDataViewType(NumberDataViewType.Single, g)),
                new DataViewSchema.DetachedColumn(_owner._predicted, new KeyDataViewType(typeof(uint), g), _owner._classes.ToAnnotations()),
            };
        }

        public override Delegate MakeGetter(DataViewRow input, int iinfo, Func<int, bool> activeOutput, out Action? disposer)
        {
            disposer = null;
            var reader = new SequenceColumnReader(input, _column);
            long cachedPosition = -1;
            float[] scores = Array.Empty<float>();
            void Compute()
            {
                if (cachedPosition == input.Position)
                    return;
                var rows = new SequenceRows(_column);
                rows.AddCurrent(reader);
                using var scope = torch.NewDisposeScope();
                using var noGrad = torch.no_grad();
                var data = rows.MakeBatch(new[] { 0 }).Data;
                var steps = Math.Max(1, rows.Lengths[0]);
                var mean = _owner._linear.forward(data).sum(1) / steps * _owner._scale[0];
                scores = mean[0].data<float>().ToArray();
                cachedPosition = input.Position;
            }
            if (iinfo == 0)
                return (ValueGetter<VBuffer<float>>)((ref VBuffer<float> dst) =>
                {
                    Compute();
                    var editor = VBufferEditor.Create(ref dst, scores.Length);
                    scores.CopyTo(editor.Values);
                    dst = editor.Commit();
                });
            return (ValueGetter<uint>)((ref uint dst) =>
            {
                Compute();
                int best = 0;
                for (int i = 1; i < scores.Length; i++)
                    if (scores[i] > scores[best]) best = i;
                dst = (uint)best + 1;
            });
        }

        public override Func<int, bool> GetDependenciesCore(Func<int, bool> activeOutput)
            => col => col == _column.Index && (activeOutput(0) || activeOutput(1));

        public override void SaveModel(ModelSaveContext ctx) => _owner.SaveModel(ctx);
    }
}
