using Microsoft.ML.Data;
using Microsoft.ML.Rnn.Core.Training;
using Microsoft.ML.Rnn.MLNet;
using Microsoft.ML.Rnn.Networks;
using Microsoft.ML.Runtime;
using TorchSharp;

namespace Microsoft.ML.Rnn;

/// <summary>
/// Trains a recurrent sequence encoder (bidirectional GRU by default) and turns each row's sequence into a known-size
/// vector of Single (<see cref="Options.OutputColumnName"/>, D·H values) that any ML.NET trainer can use, alone or
/// concatenated with other features. The encoder is trained on the label (<see cref="EncoderObjective.Supervised"/>)
/// or without one (<see cref="EncoderObjective.NextStepPrediction"/>); only the encoder is kept.
/// </summary>
public sealed class BiGruEncoder : IEstimator<BiGruEncoderTransformer>
{
    internal const string ComponentName = nameof(BiGruEncoder);

    /// <summary>Options of <see cref="BiGruEncoder"/>. Defaults differ from the other components: GRU cells, bidirectional.</summary>
    public sealed class Options : RnnOptionsBase
    {
        /// <summary>Creates options with a bidirectional GRU.</summary>
        public Options()
        {
            CellType = RnnCellType.Gru;
            Bidirectional = true;
        }

        /// <summary>Output column: known-size vector of Single (D·H values). Default "Encoding".</summary>
        public string OutputColumnName = "Encoding";

        /// <summary>How the per-step outputs become one vector: last states of both directions, mean or max over valid steps.</summary>
        public SequencePooling Pooling = SequencePooling.LastState;

        /// <summary>Training objective; <see cref="EncoderObjective.NextStepPrediction"/> ignores <see cref="RnnOptionsBase.LabelColumnName"/>.</summary>
        public EncoderObjective Objective = EncoderObjective.Supervised;
    }

    private readonly IHostEnvironment _env;
    private readonly Options _options;

    internal BiGruEncoder(IHostEnvironment env, Options options)
    {
        ArgumentNullException.ThrowIfNull(env);
        ArgumentNullException.ThrowIfNull(options);
        RnnOptionsValidation.Validate(options, ComponentName, needsLabel: options.Objective == EncoderObjective.Supervised);
        if (string.IsNullOrWhiteSpace(options.OutputColumnName))
            throw new ArgumentException($"{ComponentName}: OutputColumnName must be a column name.", nameof(options.OutputColumnName));
        if (!Enum.IsDefined(options.Pooling))
            throw new ArgumentOutOfRangeException(nameof(options.Pooling), options.Pooling, $"{ComponentName}: unknown Pooling {options.Pooling}.");
        if (!Enum.IsDefined(options.Objective))
            throw new ArgumentOutOfRangeException(nameof(options.Objective), options.Objective, $"{ComponentName}: unknown Objective {options.Objective}.");
        _env = env;
        _options = options;
    }

    private bool Supervised => _options.Objective == EncoderObjective.Supervised;

    /// <summary>Trains on <paramref name="input"/>, holding out <see cref="RnnOptionsBase.ValidationFraction"/> for early stopping.</summary>
    public BiGruEncoderTransformer Fit(IDataView input) => Fit(input, null);

    /// <summary>
    /// Trains on <paramref name="input"/> with early stopping on <paramref name="validationData"/> (null: split
    /// <paramref name="input"/>). The validation set needs the same feature column (and, for the supervised
    /// objective, the same label type); <see cref="RnnOptionsBase.ValidationFraction"/> is then ignored.
    /// </summary>
    public BiGruEncoderTransformer Fit(IDataView input, IDataView? validationData)
    {
        ArgumentNullException.ThrowIfNull(input);
        var host = _env.Register(ComponentName);
        var o = _options;
        var features = SequenceColumn.Bind(input.Schema, o.FeatureColumnName, o.FeaturesPerStep).WithMaxSteps(o.MaxSequenceLength);
        var encoding = FeatureEncoding.Of(features);
        // Bound before any training so a mismatched validation set fails fast.
        var validationFeatures = validationData is null ? null : encoding.Bind(validationData.Schema, nameof(validationData));
        int seed = SequenceTrainingDriver.ResolveSeed(o, host);
        SequenceEncoderOptions encoderOptions;
        using (var ch = host.Start("Network"))
            encoderOptions = encoding.EncoderOptions(o, ch, input.Schema[features.Index], seed, ComponentName);

        (SequenceEncoder Encoder, torch.Device Device) trained;
        if (Supervised)
        {
            var label = RnnSequenceClassifier.BindLabel(input.Schema, o.LabelColumnName, nameof(input), ComponentName);
            SequenceDataSet<long[]>? validation = null;
            if (validationData is not null)
            {
                var validationLabel = RnnSequenceClassifier.BindLabel(validationData.Schema, o.LabelColumnName, nameof(validationData), ComponentName);
                if (validationLabel.IsBinary != label.IsBinary || validationLabel.ClassCount != label.ClassCount)
                    throw Contracts.ExceptSchemaMismatch(nameof(validationData), "label", o.LabelColumnName, label.Column.Type.ToString(), validationLabel.Column.Type.ToString());
                validation = RnnSequenceClassifier.ReadLabeled(host, validationData, validationFeatures!, validationLabel, ComponentName);
            }
            var train = RnnSequenceClassifier.ReadLabeled(host, input, features, label, ComponentName);
            if (train.Rows.Count == 0)
                throw new InvalidOperationException($"{ComponentName}: the training data has no rows with a label in column '{o.LabelColumnName}'.");
            if (train.Targets.Distinct().Count() < 2)
                throw new InvalidOperationException($"{ComponentName}: the training labels in column '{o.LabelColumnName}' hold a single class; at least two are needed.");
            trained = Train(host, seed, () => new SequenceClassifierNetwork(new SequenceEncoder(encoderOptions), label.ClassCount, o.Pooling, o.Dropout),
                (network, setup, device) =>
                {
                    SequenceTrainingDriver.Train(setup with { MetricName = "accuracy", HigherIsBetter = true }, train, validation,
                        (set, rows) =>
                        {
                            var (data, lengths) = set.Rows.MakeBatch(rows);
                            var targets = torch.tensor(rows.Select(r => set.Targets[r]).ToArray(), device: device);
                            return torch.nn.functional.cross_entropy(network.Forward(data.to(device), lengths), targets);
                        },
                        (set, rows) =>
                        {
                            var (data, lengths) = set.Rows.MakeBatch(rows);
                            var predicted = network.Forward(data.to(device), lengths).argmax(1).cpu().data<long>().ToArray();
                            return (rows.Where((r, k) => predicted[k] == set.Targets[r]).LongCount(), rows.Length);
                        });
                    return network.Encoder;
                });
        }
        else
        {
            var train = new SequenceDataSet<bool>(ReadUnlabeled(host, input, features), false);
            if (train.Rows.Count == 0)
                throw new InvalidOperationException($"{ComponentName}: the training data has no rows.");
            var validation = validationData is null ? null : new SequenceDataSet<bool>(ReadUnlabeled(host, validationData, validationFeatures!), false);
            trained = Train(host, seed, () => new SequenceEncoderNetwork(new SequenceEncoder(encoderOptions)),
                (network, setup, device) =>
                {
                    SequenceTrainingDriver.Train(setup with { MetricName = "next-step loss", HigherIsBetter = false }, train, validation,
                        (set, batch) =>
                        {
                            var (data, lengths) = set.Rows.MakeBatch(batch);
                            return network.Loss(data.to(device), lengths);
                        });
                    return network.Encoder;
                });
        }
        return new BiGruEncoderTransformer(_env, encoding, o.OutputColumnName, o.Pooling, o.BatchSize, trained.Encoder, trained.Device, o.FusedKernels);
    }

    /// <summary>Reads every row's sequence (self-supervised training needs no label).</summary>
    private static SequenceRows ReadUnlabeled(IHost host, IDataView data, SequenceColumn features)
    {
        var rows = new SequenceRows(features);
        using var cursor = data.GetRowCursor(new[] { data.Schema[features.Index] });
        var reader = new SequenceColumnReader(cursor, features, MissingKeyHandling.MapToUnknownIndex);
        while (cursor.MoveNext())
        {
            host.CheckAlive();
            rows.AddCurrent(reader);
        }
        return rows;
    }

    /// <summary>Builds the training network on the chosen device, trains it, and returns its encoder (the head is dropped).</summary>
    private (SequenceEncoder Encoder, torch.Device Device) Train<TNetwork>(IHost host, int seed, Func<TNetwork> build,
        Func<TNetwork, TrainingSetup, torch.Device, SequenceEncoder> train)
        where TNetwork : torch.nn.Module
    {
        torch.manual_seed(seed);
        torch.Device device;
        using (var ch = host.Start("Device"))
            device = DeviceSelection.Resolve(_options.Device, ch, ComponentName);
        var network = build();
        network.to(device);
        try
        {
            var encoder = train(network, new TrainingSetup { Host = host, Options = _options, Component = ComponentName, Network = network, Seed = seed }, device);
            encoder.eval();
            return (encoder, device);
        }
        catch
        {
            network.Dispose();
            throw;
        }
    }

    /// <summary>Checks the input columns and adds the output column (vector of Single).</summary>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        SequenceColumn.CheckShape(inputSchema, _options.FeatureColumnName);
        if (Supervised)
        {
            if (!inputSchema.TryFindColumn(_options.LabelColumnName, out var label))
                throw Contracts.ExceptSchemaMismatch(nameof(inputSchema), "label", _options.LabelColumnName);
            bool ok = label.Kind == SchemaShape.Column.VectorKind.Scalar &&
                      (label.ItemType == BooleanDataViewType.Instance || (label.IsKey && label.ItemType.RawType == typeof(uint)));
            if (!ok)
                throw Contracts.ExceptSchemaMismatch(nameof(inputSchema), "label", _options.LabelColumnName, RnnSequenceClassifier.ExpectedLabelType, label.GetTypeString());
        }
        var columns = inputSchema.ToDictionary(c => c.Name);
        columns[_options.OutputColumnName] = new SchemaShape.Column(_options.OutputColumnName, SchemaShape.Column.VectorKind.Vector,
            NumberDataViewType.Single, false);
        return new SchemaShape(columns.Values);
    }
}
