using System.Globalization;
using Microsoft.ML.Data;
using Microsoft.ML.Rnn.Features;
using Microsoft.ML.Rnn.Training;
using Microsoft.ML.Runtime;
using Microsoft.ML.Trainers;

namespace Microsoft.ML.Rnn.Experiments;

/// <summary>The ML.NET multiclass trainer an <see cref="EncoderFeaturesExperiment"/> puts after the encoder.</summary>
public enum DownstreamTrainer
{
    /// <summary><c>MulticlassClassification.Trainers.SdcaMaximumEntropy</c>.</summary>
    SdcaMaximumEntropy,
    /// <summary><c>MulticlassClassification.Trainers.LbfgsMaximumEntropy</c>.</summary>
    LbfgsMaximumEntropy,
}

/// <summary>
/// Searches a supervised <see cref="BiGruEncoder"/> whose features feed an ML.NET multiclass trainer: the pipeline of a
/// trial is encoder → <c>NormalizeMinMax</c> → cache → <see cref="DownstreamTrainer"/>. Besides the recurrent
/// dimensions the space holds "Trainer", "L2Regularization" and "L1Regularization" (the trainer's main
/// hyperparameters). Successive halving continues the encoder's training; the trainer is refitted at every rung
/// (it is cheap next to the encoder). Needs a key label; scored with <c>MulticlassClassification.Evaluate</c>.
/// </summary>
public sealed class EncoderFeaturesExperiment : RnnExperiment
{
    internal const string TrainerParameter = "Trainer";
    internal const string L2Parameter = "L2Regularization";
    internal const string L1Parameter = "L1Regularization";

    internal EncoderFeaturesExperiment(IHostEnvironment env, BiGruEncoder.Options options, RnnExperimentSettings? settings)
        : base(env, "EncoderFeatures", settings, RnnSearchSpace.CreateDefault()
            .With(TrainerParameter, SearchParameter.Choice(DownstreamTrainer.SdcaMaximumEntropy, DownstreamTrainer.LbfgsMaximumEntropy))
            .With(L2Parameter, SearchParameter.Float(1e-4, 1, logScale: true))
            .With(L1Parameter, SearchParameter.Float(1e-5, 1e-1, logScale: true)))
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Objective != EncoderObjective.Supervised)
            throw new ArgumentException("EncoderFeaturesExperiment: the encoder must train on the label (Objective = Supervised).", nameof(options));
        Options = options;
    }

    /// <summary>The encoder options every trial starts from; the default trial uses them unchanged.</summary>
    public BiGruEncoder.Options Options { get; }

    /// <summary>The default trial's trainer. Default <see cref="DownstreamTrainer.SdcaMaximumEntropy"/>.</summary>
    public DownstreamTrainer Trainer { get; set; } = DownstreamTrainer.SdcaMaximumEntropy;

    /// <summary>The default trial's L2 regularisation; null: the trainer's default (SDCA: chosen from the data; L-BFGS: 1).</summary>
    public float? L2Regularization { get; set; }

    /// <summary>The default trial's L1 regularisation; null: the trainer's default (SDCA: chosen from the data; L-BFGS: 1).</summary>
    public float? L1Regularization { get; set; }

    /// <summary>Passes over the data of SDCA, or iterations of L-BFGS, at most; null: the trainer's default.</summary>
    public int? MaximumNumberOfIterations { get; set; } = 30;

    internal override RnnOptionsBase BaseOptions => Options;

    internal override object? TaskBaseValue(string name) => name switch
    {
        TrainerParameter => Trainer,
        L2Parameter => L2Regularization ?? (object)"auto",
        L1Parameter => L1Regularization ?? (object)"auto",
        _ => null,
    };

    internal override RnnExperimentMetric ResolveMetric(DataViewSchema schema, RnnExperimentMetric requested)
    {
        var label = LabelColumn.BindClasses(schema, Options.LabelColumnName, "data", "EncoderFeaturesExperiment");
        if (label.IsBinary)
            throw new ArgumentException($"EncoderFeaturesExperiment: label column '{Options.LabelColumnName}' is Boolean; the maximum-entropy trainers need a key label (MapValueToKey).", "data");
        if (requested == RnnExperimentMetric.Auto) return RnnExperimentMetric.MacroAccuracy;
        if (requested is not (RnnExperimentMetric.MacroAccuracy or RnnExperimentMetric.MicroAccuracy))
            throw new ArgumentException($"EncoderFeaturesExperiment: metric {requested} does not apply; use MacroAccuracy or MicroAccuracy.", nameof(RnnExperimentSettings.Metric));
        return requested;
    }

    internal override ITransformer Fit(IHostEnvironment env, RnnOptionsBase options, IReadOnlyDictionary<string, object> values, IDataView train,
        TrainingCheckpoint? checkpoint)
    {
        var encoderOptions = (BiGruEncoder.Options)options;
        var encoder = new BiGruEncoder(env, encoderOptions).Fit(train, null, checkpoint);
        try
        {
            var trainer = values.TryGetValue(TrainerParameter, out var t) ? (DownstreamTrainer)t : Trainer;
            float? l2 = values.TryGetValue(L2Parameter, out var v2) ? Convert.ToSingle(v2, CultureInfo.InvariantCulture) : L2Regularization;
            float? l1 = values.TryGetValue(L1Parameter, out var v1) ? Convert.ToSingle(v1, CultureInfo.InvariantCulture) : L1Regularization;
            var classification = new MulticlassClassificationCatalog(env);
            string features = encoderOptions.OutputColumnName, label = encoderOptions.LabelColumnName;
            IEstimator<ITransformer> head = trainer == DownstreamTrainer.SdcaMaximumEntropy
                ? classification.Trainers.SdcaMaximumEntropy(new SdcaMaximumEntropyMulticlassTrainer.Options
                {
                    LabelColumnName = label, FeatureColumnName = features, L2Regularization = l2, L1Regularization = l1,
                    MaximumNumberOfIterations = MaximumNumberOfIterations, NumberOfThreads = 1,
                })
                : classification.Trainers.LbfgsMaximumEntropy(new LbfgsMaximumEntropyMulticlassTrainer.Options
                {
                    LabelColumnName = label, FeatureColumnName = features, L2Regularization = l2 ?? 1, L1Regularization = l1 ?? 1,
                    MaximumNumberOfIterations = MaximumNumberOfIterations ?? 100, NumberOfThreads = 1,
                });
            // Cached encoder features: without the cache every trainer pass would run the recurrent encoder again.
            var rest = new TransformsCatalog(env).NormalizeMinMax(features)
                .AppendCacheCheckpoint(env)
                .Append(head)
                .Fit(encoder.Transform(train));
            return new TransformerChain<ITransformer>(encoder, rest);
        }
        catch
        {
            encoder.Dispose();
            throw;
        }
    }

    internal override double Evaluate(IHostEnvironment env, ITransformer model, IDataView test, RnnExperimentMetric metric)
    {
        var metrics = new MulticlassClassificationCatalog(env).Evaluate(model.Transform(test), Options.LabelColumnName);
        return metric == RnnExperimentMetric.MicroAccuracy ? metrics.MicroAccuracy : metrics.MacroAccuracy;
    }
}
