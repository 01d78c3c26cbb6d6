using Microsoft.ML.Rnn.Features;
using Microsoft.ML.Rnn.Training;
using Microsoft.ML.Runtime;

namespace Microsoft.ML.Rnn.Experiments;

/// <summary>
/// Searches <see cref="RnnSequenceClassifier"/> options. A key label is scored with
/// <c>MulticlassClassification.Evaluate</c> (macro- or micro-accuracy), a Boolean label with
/// <c>BinaryClassification.Evaluate</c> (AUC or accuracy). The best model is an <see cref="RnnSequenceClassifierTransformer"/>.
/// </summary>
public sealed class SequenceClassificationExperiment : RnnExperiment
{
    internal SequenceClassificationExperiment(IHostEnvironment env, RnnSequenceClassifier.Options options, RnnExperimentSettings? settings)
        : base(env, "SequenceClassification", settings, RnnSearchSpace.CreateDefault())
    {
        ArgumentNullException.ThrowIfNull(options);
        Options = options;
    }

    /// <summary>The classifier options every trial starts from (columns, features per step, pooling, ...); the default trial uses them unchanged.</summary>
    public RnnSequenceClassifier.Options Options { get; }

    internal override RnnOptionsBase BaseOptions => Options;

    internal override RnnExperimentMetric ResolveMetric(DataViewSchema schema, RnnExperimentMetric requested)
    {
        var label = LabelColumn.BindClasses(schema, Options.LabelColumnName, "data", "SequenceClassificationExperiment");
        return label.IsBinary
            ? ChooseMetric(requested, "a Boolean label", RnnExperimentMetric.AreaUnderRocCurve, RnnExperimentMetric.Accuracy)
            : ChooseMetric(requested, "a key label", RnnExperimentMetric.MacroAccuracy, RnnExperimentMetric.MicroAccuracy);
    }

    internal override ITransformer Fit(IHostEnvironment env, RnnOptionsBase options, IReadOnlyDictionary<string, object> values, IDataView train,
        TrainingCheckpoint? checkpoint)
        => new RnnSequenceClassifier(env, (RnnSequenceClassifier.Options)options).Fit(train, null, checkpoint);

    internal override double Evaluate(IHostEnvironment env, ITransformer model, IDataView test, RnnExperimentMetric metric)
    {
        var scored = model.Transform(test);
        return metric switch
        {
            RnnExperimentMetric.AreaUnderRocCurve => new BinaryClassificationCatalog(env).Evaluate(scored, Options.LabelColumnName).AreaUnderRocCurve,
            RnnExperimentMetric.Accuracy => new BinaryClassificationCatalog(env).Evaluate(scored, Options.LabelColumnName).Accuracy,
            RnnExperimentMetric.MacroAccuracy => new MulticlassClassificationCatalog(env).Evaluate(scored, Options.LabelColumnName).MacroAccuracy,
            RnnExperimentMetric.MicroAccuracy => new MulticlassClassificationCatalog(env).Evaluate(scored, Options.LabelColumnName).MicroAccuracy,
            _ => throw new ArgumentOutOfRangeException(nameof(metric), metric, "SequenceClassificationExperiment: unsupported metric."),
        };
    }
}
