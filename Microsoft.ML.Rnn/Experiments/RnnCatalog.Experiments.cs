using Microsoft.ML.Rnn.Experiments;

namespace Microsoft.ML.Rnn;

public sealed partial class RnnCatalog
{
    /// <summary>
    /// An AutoML-style experiment over <see cref="RnnSequenceClassifier"/> options (see <see cref="SequenceClassificationExperiment"/>):
    /// <c>CreateSequenceClassificationExperiment(options, settings).Execute(data)</c> returns the best model and a leaderboard.
    /// </summary>
    /// <param name="options">Base options (columns, <see cref="RnnOptionsBase.FeaturesPerStep"/>, ...); the first trial uses them unchanged. Null: defaults.</param>
    /// <param name="settings">Budget, evaluation and scheduler; null: defaults (60 s, 20 trials, 20 % holdout).</param>
    public SequenceClassificationExperiment CreateSequenceClassificationExperiment(RnnSequenceClassifier.Options? options = null,
        RnnExperimentSettings? settings = null)
        => new(Environment, options ?? new RnnSequenceClassifier.Options(), settings);

    /// <summary>
    /// An AutoML-style experiment over <see cref="Rnn.SequenceRegressor"/> options (see <see cref="SequenceRegressionExperiment"/>);
    /// for windows of a series, call <c>Execute(train, validation)</c> with time-ordered validation windows.
    /// </summary>
    /// <param name="options">Base options; the first trial uses them unchanged. Null: defaults.</param>
    /// <param name="settings">Budget, evaluation and scheduler; null: defaults.</param>
    public SequenceRegressionExperiment CreateSequenceRegressionExperiment(SequenceRegressor.Options? options = null, RnnExperimentSettings? settings = null)
        => new(Environment, options ?? new SequenceRegressor.Options(), settings);

    /// <summary>An AutoML-style experiment over <see cref="Rnn.LstmTagger"/> options (see <see cref="SequenceTaggingExperiment"/>).</summary>
    /// <param name="options">Base options; the first trial uses them unchanged. Null: defaults.</param>
    /// <param name="scheme">Tag scheme, needed for span F1.</param>
    /// <param name="settings">Budget, evaluation and scheduler; null: defaults.</param>
    public SequenceTaggingExperiment CreateTaggingExperiment(LstmTagger.Options? options = null, TagScheme scheme = TagScheme.None,
        RnnExperimentSettings? settings = null)
        => new(Environment, options ?? new LstmTagger.Options(), scheme, settings);

    /// <summary>
    /// An AutoML-style experiment over a supervised <see cref="Rnn.BiGruEncoder"/> feeding an ML.NET maximum-entropy trainer
    /// (see <see cref="EncoderFeaturesExperiment"/>); the search covers the trainer and its regularisation too.
    /// </summary>
    /// <param name="options">Base encoder options; the first trial uses them unchanged. Null: defaults.</param>
    /// <param name="settings">Budget, evaluation and scheduler; null: defaults.</param>
    public EncoderFeaturesExperiment CreateEncoderFeaturesExperiment(BiGruEncoder.Options? options = null, RnnExperimentSettings? settings = null)
        => new(Environment, options ?? new BiGruEncoder.Options(), settings);
}
