using Microsoft.ML.Rnn.Training;
using Microsoft.ML.Runtime;

namespace Microsoft.ML.Rnn.Experiments;

/// <summary>
/// Searches <see cref="LstmTagger"/> options (the recurrent dimensions plus "UseCrf"), scored with
/// <see cref="TaggingEvaluator"/> (macro-F1 over tags by default, token accuracy, or span F1 with a <see cref="TagScheme"/>).
/// The best model is an <see cref="LstmTaggerTransformer"/>.
/// </summary>
public sealed class SequenceTaggingExperiment : RnnExperiment
{
    internal SequenceTaggingExperiment(IHostEnvironment env, LstmTagger.Options options, TagScheme scheme, RnnExperimentSettings? settings)
        : base(env, "SequenceTagging", settings, RnnSearchSpace.CreateDefault().With(nameof(LstmTagger.Options.UseCrf), SearchParameter.Choice(false, true)))
    {
        ArgumentNullException.ThrowIfNull(options);
        Options = options;
        Scheme = scheme;
    }

    /// <summary>The tagger options every trial starts from; the default trial uses them unchanged.</summary>
    public LstmTagger.Options Options { get; }

    /// <summary>Tag scheme for span F1 (<see cref="TagScheme.None"/> scores tags only).</summary>
    public TagScheme Scheme { get; }

    internal override RnnOptionsBase BaseOptions => Options;

    internal override RnnExperimentMetric ResolveMetric(DataViewSchema schema, RnnExperimentMetric requested)
    {
        if (schema.GetColumnOrNull(Options.LabelColumnName) is null)
            throw new ArgumentException($"SequenceTaggingExperiment: the data has no label column '{Options.LabelColumnName}'.", "data");
        if (requested == RnnExperimentMetric.Auto) return RnnExperimentMetric.TaggingMacroF1;
        if (requested is not (RnnExperimentMetric.TaggingMacroF1 or RnnExperimentMetric.TokenAccuracy or RnnExperimentMetric.SpanF1))
            throw new ArgumentException($"SequenceTaggingExperiment: metric {requested} does not apply to tagging; use TaggingMacroF1, TokenAccuracy or SpanF1.",
                nameof(RnnExperimentSettings.Metric));
        if (requested == RnnExperimentMetric.SpanF1 && Scheme == TagScheme.None)
            throw new ArgumentException("SequenceTaggingExperiment: SpanF1 needs a tag scheme (Bio or Bioes).", nameof(RnnExperimentSettings.Metric));
        return requested;
    }

    internal override ITransformer Fit(IHostEnvironment env, RnnOptionsBase options, IReadOnlyDictionary<string, object> values, IDataView train,
        TrainingCheckpoint? checkpoint)
        => new LstmTagger(env, (LstmTagger.Options)options).Fit(train, null, checkpoint);

    internal override double Evaluate(IHostEnvironment env, ITransformer model, IDataView test, RnnExperimentMetric metric)
    {
        var metrics = TaggingEvaluator.Evaluate(model.Transform(test), Options.LabelColumnName, LstmTaggerTransformer.PredictedLabelColumnName, Scheme);
        return metric switch
        {
            RnnExperimentMetric.TaggingMacroF1 => metrics.MacroF1,
            RnnExperimentMetric.TokenAccuracy => metrics.TokenAccuracy,
            RnnExperimentMetric.SpanF1 => metrics.Spans?.F1 ?? 0,
            _ => throw new ArgumentOutOfRangeException(nameof(metric), metric, "SequenceTaggingExperiment: unsupported metric."),
        };
    }
}
