using Microsoft.ML.Rnn.Features;
using Microsoft.ML.Rnn.Networks;
using Microsoft.ML.Rnn.Scoring;
using Microsoft.ML.Rnn.Training;
using Microsoft.ML.Runtime;
using TorchSharp;

namespace Microsoft.ML.Rnn;

/// <summary>
/// Base of the recurrent estimators (<see cref="RnnSequenceClassifier"/>, <see cref="LstmTagger"/>,
/// <see cref="BiGruEncoder"/>, <see cref="SequenceRegressor"/>). It owns <c>Fit</c>: the feature column (keys, text tokens with their vocabulary, or Single steps), the validation data,
/// seeding, the device, the encoder, and the training run (validation split, progress, cancellation, early stopping
/// with the best weights kept); and the feature check of <see cref="GetOutputSchema"/>. A component supplies what is
/// different: what it trains for (label, network, loss, metric), its output columns and its transformer.
/// </summary>
/// <typeparam name="TTransformer">The fitted component.</typeparam>
public abstract class RnnEstimatorBase<TTransformer> : IEstimator<TTransformer> where TTransformer : class, ITransformer
{
    private readonly RnnOptionsBase _options;

    /// <summary>Checks the shared options (the label only when <paramref name="needsLabel"/>).</summary>
    private protected RnnEstimatorBase(IHostEnvironment env, RnnOptionsBase options, string component, bool needsLabel = true)
    {
        ArgumentNullException.ThrowIfNull(env);
        ArgumentNullException.ThrowIfNull(options);
        RnnOptionsValidation.Validate(options, component, needsLabel);
        Env = env;
        _options = options;
        Component = component;
    }

    /// <summary>The environment the transformers are created in.</summary>
    private protected IHostEnvironment Env { get; }

    /// <summary>The component's name in messages and in the host, e.g. "RnnSequenceClassifier".</summary>
    private protected string Component { get; }

    /// <summary>Trains on <paramref name="input"/>, holding out <see cref="RnnOptionsBase.ValidationFraction"/> of it for early stopping.</summary>
    public TTransformer Fit(IDataView input) => Fit(input, null);

    /// <summary>
    /// Trains on <paramref name="input"/> with early stopping on <paramref name="validationData"/> (null: split
    /// <paramref name="input"/>). The validation data needs a feature column of the same kind and a label of the same
    /// type; <see cref="RnnOptionsBase.ValidationFraction"/> is then ignored.
    /// </summary>
    public TTransformer Fit(IDataView input, IDataView? validationData) => Fit(input, validationData, checkpoint: null);

    /// <summary>Experiments: as <see cref="Fit(IDataView, IDataView)"/>, continuing the run recorded in <paramref name="checkpoint"/>.</summary>
    internal TTransformer Fit(IDataView input, IDataView? validationData, TrainingCheckpoint? checkpoint)
    {
        ArgumentNullException.ThrowIfNull(input);
        var host = Env.Register(Component);
        var o = _options;
        var features = FeatureEncoding.WithTrainingVocabulary(host, input,
            SequenceColumn.Bind(input.Schema, o.FeatureColumnName, o.FeaturesPerStep).WithMaxSteps(o.MaxSequenceLength), o, Component, ReadsWordBag);
        var encoding = FeatureEncoding.Of(features);
        // Bound before any rows are read, so that a mismatched validation set fails fast.
        var validationFeatures = validationData is null ? null : encoding.Bind(validationData.Schema, nameof(validationData));
        var objective = CreateObjective();
        objective.Read(host, input, features, validationData, validationFeatures);

        int seed = SequenceTrainingDriver.ResolveSeed(o, host);
        torch.manual_seed(seed);
        using var ch = host.Start("Network");
        var device = DeviceSelection.Resolve(o.Device, ch, Component);
        var encoderOptions = encoding.EncoderOptions(o, ch, input.Schema[features.Index], seed, Component);
        var network = objective.CreateNetwork(new SequenceEncoder(encoderOptions));
        network.to(device);
        try
        {
            objective.Train(new TrainingSetup
            {
                Host = host, Options = o, Component = Component, Network = network, Seed = seed, Checkpoint = checkpoint,
            }, device);
            return CreateTransformer(encoding, objective, network, device);
        }
        catch
        {
            network.Dispose();
            throw;
        }
    }

    /// <summary>Checks the input columns and describes the output columns.</summary>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        SequenceColumn.CheckShape(inputSchema, _options.FeatureColumnName);
        var columns = inputSchema.ToDictionary(c => c.Name);
        foreach (var column in OutputColumns(inputSchema))
            columns[column.Name] = column;
        return new SchemaShape(columns.Values);
    }

    /// <summary>True when the network reads each row's bag of words next to its tokens (a classifier's <see cref="WordBagPath"/>).</summary>
    private protected virtual bool ReadsWordBag => false;

    /// <summary>What this component trains for (a new instance per <c>Fit</c>).</summary>
    private protected abstract TrainingObjective CreateObjective();

    /// <summary>Checks the label in <paramref name="inputSchema"/> (when the component reads one) and describes the added columns.</summary>
    private protected abstract IEnumerable<SchemaShape.Column> OutputColumns(SchemaShape inputSchema);

    /// <summary>The fitted component, which takes ownership of the trained <paramref name="network"/> (or of part of it).</summary>
    private protected abstract TTransformer CreateTransformer(FeatureEncoding features, TrainingObjective trained, torch.nn.Module network, torch.Device device);
}
