using Microsoft.ML.Data;
using Microsoft.ML.Rnn.MLNet;
using Microsoft.ML.Rnn.Networks;
using Microsoft.ML.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.Rnn;

/// <summary>
/// Trains a recurrent sequence classifier: a (stacked, optionally bidirectional) LSTM/GRU/simple RNN reads each
/// row's sequence (token keys through an embedding, or Single features as steps of <see cref="RnnOptionsBase.FeaturesPerStep"/>
/// values), pools it and predicts its class. A key label gives multiclass outputs (<c>Score</c>: class probabilities,
/// <c>PredictedLabel</c>: key of the label's type) for <c>MulticlassClassification.Evaluate</c>; a Boolean label gives
/// binary outputs (<c>Score</c>: logit margin, <c>Probability</c>, <c>PredictedLabel</c>) for <c>BinaryClassification.Evaluate</c>.
/// </summary>
public sealed class RnnSequenceClassifier : IEstimator<RnnSequenceClassifierTransformer>
{
    internal const string ComponentName = nameof(RnnSequenceClassifier);

    /// <summary>Options of <see cref="RnnSequenceClassifier"/>.</summary>
    public sealed class Options : RnnOptionsBase
    {
        /// <summary>
        /// Creates options that read the sequence in both directions: measured better than one direction on every seed
        /// (docs/components/common-options.md, "Defaults"); set <see cref="RnnOptionsBase.Bidirectional"/> false for a
        /// causal reader.
        /// </summary>
        public Options()
        {
            Bidirectional = true;
        }

        /// <summary>How the recurrent outputs of a sequence become one vector before the output layer.</summary>
        public SequencePooling Pooling = SequencePooling.LastState;
    }

    private readonly IHostEnvironment _env;
    private readonly Options _options;

    internal RnnSequenceClassifier(IHostEnvironment env, Options options)
    {
        ArgumentNullException.ThrowIfNull(env);
        ArgumentNullException.ThrowIfNull(options);
        RnnOptionsValidation.Validate(options, ComponentName);
        if (!Enum.IsDefined(options.Pooling))
            throw new ArgumentOutOfRangeException(nameof(options.Pooling), options.Pooling, $"{ComponentName}: unknown Pooling {options.Pooling}.");
        _env = env;
        _options = options;
    }

    /// <summary>Trains on <paramref name="input"/>, holding out <see cref="RnnOptionsBase.ValidationFraction"/> of it for early stopping.</summary>
    public RnnSequenceClassifierTransformer Fit(IDataView input) => Fit(input, null);

    /// <summary>Trains on <paramref name="input"/> with early stopping on <paramref name="validationData"/> (null: split <paramref name="input"/>).</summary>
    public RnnSequenceClassifierTransformer Fit(IDataView input, IDataView? validationData)
    {
        ArgumentNullException.ThrowIfNull(input);
        var host = _env.Register(ComponentName);
        var o = _options;
        var features = SequenceColumn.Bind(input.Schema, o.FeatureColumnName, o.FeaturesPerStep).WithMaxSteps(o.MaxSequenceLength);
        var label = BindLabel(input.Schema, o.LabelColumnName, nameof(input), ComponentName);
        var train = ReadLabeled(host, input, features, label, ComponentName);
        if (train.Rows.Count == 0)
            throw new InvalidOperationException($"{ComponentName}: the training data has no rows with a label in column '{o.LabelColumnName}'.");
        var distinct = train.Targets.Distinct().Count();
        if (distinct < 2)
            throw new InvalidOperationException($"{ComponentName}: the training labels in column '{o.LabelColumnName}' hold a single class; at least two are needed.");
        SequenceDataSet<long[]>? validation = null;
        if (validationData is not null)
        {
            var validationFeatures = SequenceColumn.Bind(validationData.Schema, o.FeatureColumnName, o.FeaturesPerStep).WithMaxSteps(o.MaxSequenceLength);
            if (validationFeatures.Kind != features.Kind || validationFeatures.KeyCount != features.KeyCount)
                throw Contracts.ExceptSchemaMismatch(nameof(validationData), "feature", o.FeatureColumnName, features.Type.ToString(), validationFeatures.Type.ToString());
            var validationLabel = BindLabel(validationData.Schema, o.LabelColumnName, nameof(validationData), ComponentName);
            if (validationLabel.ClassCount != label.ClassCount)
                throw Contracts.ExceptSchemaMismatch(nameof(validationData), "label", o.LabelColumnName, label.Column.Type.ToString(), validationLabel.Column.Type.ToString());
            validation = ReadLabeled(host, validationData, validationFeatures, validationLabel, ComponentName);
        }

        int seed = SequenceTrainingDriver.ResolveSeed(o, host);
        torch.manual_seed(seed);
        using var ch = host.Start("Network");
        var device = DeviceSelection.Resolve(o.Device, ch, ComponentName);
        var encoderOptions = FeatureEncoding.Of(features).EncoderOptions(o, ch, input.Schema[features.Index], seed, ComponentName);
        var network = new SequenceClassifierNetwork(new SequenceEncoder(encoderOptions), label.ClassCount, o.Pooling, o.Dropout);
        network.to(device);
        try
        {
            SequenceTrainingDriver.Train(
                new TrainingSetup
                {
                    Host = host, Options = o, Component = ComponentName, Network = network, Seed = seed,
                    MetricName = "accuracy", HigherIsBetter = true,
                },
                train, validation,
                (set, rows) =>
                {
                    var (data, lengths) = set.Rows.MakeBatch(rows);
                    var targets = torch.tensor(rows.Select(r => set.Targets[r]).ToArray(), device: device);
                    return nn.functional.cross_entropy(network.Forward(data.to(device), lengths), targets);
                },
                (set, rows) =>
                {
                    var (data, lengths) = set.Rows.MakeBatch(rows);
                    var predicted = network.Forward(data.to(device), lengths).argmax(1).cpu().data<long>().ToArray();
                    long correct = rows.Where((r, k) => predicted[k] == set.Targets[r]).LongCount();
                    return (correct, rows.Length);
                });
        }
        catch
        {
            network.Dispose();
            throw;
        }
        return new RnnSequenceClassifierTransformer(_env, FeatureEncoding.Of(features), label.IsBinary, (int)label.ClassCount,
            label.KeyValues, o.BatchSize, network, device, o.FusedKernels);
    }

    /// <summary>Checks the input columns and describes the output columns (Score, PredictedLabel, and Probability for a Boolean label).</summary>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        SequenceColumn.CheckShape(inputSchema, _options.FeatureColumnName);
        if (!inputSchema.TryFindColumn(_options.LabelColumnName, out var label))
            throw Contracts.ExceptSchemaMismatch(nameof(inputSchema), "label", _options.LabelColumnName);
        bool isBinary = label.Kind == SchemaShape.Column.VectorKind.Scalar && label.ItemType == BooleanDataViewType.Instance;
        bool isKey = label.Kind == SchemaShape.Column.VectorKind.Scalar && label.IsKey && label.ItemType.RawType == typeof(uint);
        if (!isBinary && !isKey)
            throw Contracts.ExceptSchemaMismatch(nameof(inputSchema), "label", _options.LabelColumnName, ExpectedLabelType, label.GetTypeString());

        var columns = inputSchema.ToDictionary(c => c.Name);
        if (isBinary)
        {
            columns[RnnSequenceClassifierTransformer.ScoreColumnName] = new SchemaShape.Column(RnnSequenceClassifierTransformer.ScoreColumnName,
                SchemaShape.Column.VectorKind.Scalar, NumberDataViewType.Single, false);
            columns[RnnSequenceClassifierTransformer.ProbabilityColumnName] = new SchemaShape.Column(RnnSequenceClassifierTransformer.ProbabilityColumnName,
                SchemaShape.Column.VectorKind.Scalar, NumberDataViewType.Single, false);
            columns[RnnSequenceClassifierTransformer.PredictedLabelColumnName] = new SchemaShape.Column(RnnSequenceClassifierTransformer.PredictedLabelColumnName,
                SchemaShape.Column.VectorKind.Scalar, BooleanDataViewType.Instance, false);
        }
        else
        {
            columns[RnnSequenceClassifierTransformer.ScoreColumnName] = new SchemaShape.Column(RnnSequenceClassifierTransformer.ScoreColumnName,
                SchemaShape.Column.VectorKind.Vector, NumberDataViewType.Single, false);
            var keyValues = label.Annotations.Where(a => a.Name == AnnotationUtils.Kinds.KeyValues).ToArray();
            columns[RnnSequenceClassifierTransformer.PredictedLabelColumnName] = new SchemaShape.Column(RnnSequenceClassifierTransformer.PredictedLabelColumnName,
                SchemaShape.Column.VectorKind.Scalar, NumberDataViewType.UInt32, true, new SchemaShape(keyValues));
        }
        return new SchemaShape(columns.Values);
    }

    internal const string ExpectedLabelType = "key (UInt32) or Boolean";

    /// <summary>A bound class label: key (multiclass) or Boolean (binary, two classes).</summary>
    internal sealed record LabelBinding(DataViewSchema.Column Column, bool IsBinary, long ClassCount, KeyValueAnnotation? KeyValues);

    /// <summary>Binds a key or Boolean label column; ML.NET schema errors name it.</summary>
    internal static LabelBinding BindLabel(DataViewSchema schema, string name, string parameter, string component)
    {
        if (schema.GetColumnOrNull(name) is not { } column)
            throw Contracts.ExceptSchemaMismatch(parameter, "label", name);
        if (column.Type == BooleanDataViewType.Instance)
            return new LabelBinding(column, true, 2, null);
        if (column.Type is KeyDataViewType key && key.RawType == typeof(uint))
        {
            if (key.Count < 2)
                throw new InvalidOperationException($"{component}: label column '{name}' has {key.Count} class(es); at least two are needed.");
            return new LabelBinding(column, false, (long)key.Count, KeyValueAnnotation.FromColumn(column));
        }
        throw Contracts.ExceptSchemaMismatch(parameter, "label", name, ExpectedLabelType, column.Type.ToString());
    }

    /// <summary>Reads the sequences and 0-based class indices of the rows with a label; missing keys (0) are skipped and counted.</summary>
    internal static SequenceDataSet<long[]> ReadLabeled(IHost host, IDataView data, SequenceColumn features, LabelBinding label, string component)
    {
        var rows = new SequenceRows(features);
        var targets = new List<long>();
        long skipped = 0;
        using (var cursor = data.GetRowCursor(new[] { data.Schema[features.Index], label.Column }))
        {
            var reader = new SequenceColumnReader(cursor, features, MissingKeyHandling.MapToUnknownIndex);
            ValueGetter<bool>? getBool = label.IsBinary ? cursor.GetGetter<bool>(label.Column) : null;
            ValueGetter<uint>? getKey = label.IsBinary ? null : cursor.GetGetter<uint>(label.Column);
            bool flag = false;
            uint key = 0;
            while (cursor.MoveNext())
            {
                host.CheckAlive();
                long target;
                if (getBool is not null)
                {
                    getBool(ref flag);
                    target = flag ? 1 : 0;
                }
                else
                {
                    getKey!(ref key);
                    // Key 0 is ML.NET's missing label; keys are 1-based, classes 0-based (the one conversion place for labels).
                    if (key == 0 || key > label.ClassCount) { skipped++; continue; }
                    target = key - 1;
                }
                rows.AddCurrent(reader);
                targets.Add(target);
            }
        }
        if (skipped > 0)
        {
            using var ch = host.Start("Labels");
            ch.Warning($"{component}: skipped {skipped} row(s) with a missing label in column '{label.Column.Name}'.");
        }
        return new SequenceDataSet<long[]>(rows, targets.ToArray());
    }
}
