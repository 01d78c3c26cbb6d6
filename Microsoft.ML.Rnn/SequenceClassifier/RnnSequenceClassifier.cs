using Microsoft.ML.Data;
using Microsoft.ML.Rnn.Features;
using Microsoft.ML.Rnn.Networks;
using Microsoft.ML.Rnn.Training;
using Microsoft.ML.Runtime;
using TorchSharp;

namespace Microsoft.ML.Rnn;

/// <summary>
/// Trains a recurrent sequence classifier: a (stacked, optionally bidirectional) LSTM/GRU/simple RNN reads each
/// row's sequence (token keys through an embedding, or Single features as steps of <see cref="RnnOptionsBase.FeaturesPerStep"/>
/// values), pools it and predicts its class. A key label gives multiclass outputs (<c>Score</c>: class probabilities,
/// <c>PredictedLabel</c>: key of the label's type) for <c>MulticlassClassification.Evaluate</c>; a Boolean label gives
/// binary outputs (<c>Score</c>: logit margin, <c>Probability</c>, <c>PredictedLabel</c>) for <c>BinaryClassification.Evaluate</c>.
/// </summary>
public sealed class RnnSequenceClassifier : RnnEstimatorBase<RnnSequenceClassifierTransformer>
{
    internal const string ComponentName = nameof(RnnSequenceClassifier);

    /// <summary>Options of <see cref="RnnSequenceClassifier"/>.</summary>
    public sealed class Options : RnnOptionsBase
    {
        /// <summary>
        /// Creates options that read the sequence in both directions with GRU cells: both measured better than one
        /// direction and than LSTM cells (docs/components/common-options.md, "Defaults"); set
        /// <see cref="RnnOptionsBase.Bidirectional"/> false for a causal reader, <see cref="RnnOptionsBase.Cell"/>
        /// for another cell.
        /// </summary>
        public Options()
        {
            Bidirectional = true;
            Cell = RnnCellKind.Gru();
        }

        /// <summary>How the recurrent outputs of a sequence become one vector before the output layer.</summary>
        public SequencePooling Pooling = SequencePooling.LastState;

        /// <summary>
        /// Networks trained, each with its own seed (initialisation, batch order, validation split and early stopping),
        /// whose mean class probabilities are the model's (a deep ensemble; <see cref="SequenceClassifierEnsemble"/>).
        /// Training does this many times one network's work, side by side where cores are free
        /// (<see cref="RnnOptionsBase.NumberOfThreads"/>), and scoring this many times one network's; 1 trains a single network.
        /// </summary>
        public int EnsembleSize = DefaultEnsembleSize;

        /// <summary>
        /// Weights of the classes in the loss, from their training frequencies (like scikit-learn's
        /// class_weight="balanced" or Keras' class_weight): rare classes count more, which raises macro accuracy (the
        /// mean of the classes' recalls) at some cost in micro accuracy when classes are unevenly frequent. With a
        /// weighting, early stopping watches macro accuracy. Default <see cref="ClassWeighting.None"/>.
        /// </summary>
        public ClassWeighting ClassWeighting = ClassWeighting.None;

        /// <summary>
        /// For text tokens: a linear model on each row's bag of words (lower-cased runs of letters and digits, tf-idf
        /// weighted and L2-normalised, as scikit-learn's TfidfVectorizer) whose class logits add to the recurrent
        /// network's, trained with it (wide and deep; <see cref="WordBagPath"/>). On small text sets the words carry most of
        /// the topic, which a linear model on them learns from few rows: on the topic data it raised macro accuracy by
        /// 14–21 points (docs/components/sequence-classifier.md). Default true; ignored for key and Single input.
        /// </summary>
        public bool WordBag = true;

        /// <summary>
        /// For stacking — this classifier's <c>Score</c> as features of a trainer after it, next to others (n-grams):
        /// K ≥ 2 trains K more models (each <see cref="EnsembleSize"/> networks), each on the rows outside one of K
        /// folds (stratified by class), so training costs K + 1 times as much. When Transform is given the very data
        /// view that <c>Fit</c> read — as an ML.NET pipeline does when it fits the steps after this one — each of those
        /// rows is scored by the model that did not learn from it (scikit-learn's cross_val_predict, as in its
        /// StackingClassifier), so the trainer after it learns from scores that look like those of new rows instead of
        /// the confident scores of rows the model has learnt. Every other data view, and a saved and loaded model, get
        /// the model trained on all rows, the only one kept. Default 0: no cross-fitting.
        /// </summary>
        public int CrossFitFolds;
    }

    /// <summary>The default <see cref="Options.EnsembleSize"/> of the classifier and the tagger (docs/components/common-options.md, "Defaults").</summary>
    public const int DefaultEnsembleSize = 5;

    /// <summary>The largest <see cref="Options.CrossFitFolds"/>.</summary>
    public const int MaxCrossFitFolds = 20;

    private readonly Options _options;

    internal RnnSequenceClassifier(IHostEnvironment env, Options options) : base(env, options, ComponentName)
    {
        if (!Enum.IsDefined(options.Pooling))
            throw new ArgumentOutOfRangeException(nameof(options.Pooling), options.Pooling, $"{ComponentName}: unknown Pooling {options.Pooling}.");
        if (!Enum.IsDefined(options.ClassWeighting))
            throw new ArgumentOutOfRangeException(nameof(options.ClassWeighting), options.ClassWeighting, $"{ComponentName}: unknown ClassWeighting {options.ClassWeighting}.");
        RnnOptionsValidation.CheckEnsembleSize(options.EnsembleSize, ComponentName);
        if (options.CrossFitFolds is < 0 or 1 or > MaxCrossFitFolds)
            throw new ArgumentOutOfRangeException(nameof(options.CrossFitFolds), options.CrossFitFolds,
                $"{ComponentName}: CrossFitFolds must be 0 (no cross-fitting) or between 2 and {MaxCrossFitFolds}, got {options.CrossFitFolds}.");
        _options = options;
    }

    private protected override bool ReadsWordBag => _options.WordBag;   // token text only: other kinds have no vocabulary

    private protected override TrainingObjective CreateObjective()
        => new ClassificationObjective(ComponentName, _options.LabelColumnName, _options.Pooling, _options.Dropout, _options.EnsembleSize,
            _options.ClassWeighting, _options.CrossFitFolds);

    private protected override RnnSequenceClassifierTransformer CreateTransformer(FeatureEncoding features, TrainingObjective trained,
        torch.nn.Module network, torch.Device device)
    {
        var classification = (ClassificationObjective)trained;
        var label = classification.Label;
        return new RnnSequenceClassifierTransformer(Env, features, label.IsBinary, (int)label.ClassCount, label.Names, _options.BatchSize,
            (SequenceClassifierEnsemble)network, device, _options.FusedKernels, classification.OutOfFold);
    }

    /// <summary>Score, PredictedLabel, and Probability for a Boolean label.</summary>
    private protected override IEnumerable<SchemaShape.Column> OutputColumns(SchemaShape inputSchema)
    {
        var label = LabelColumn.CheckClassShape(inputSchema, _options.LabelColumnName);
        if (label.ItemType == BooleanDataViewType.Instance)
        {
            yield return new SchemaShape.Column(RnnSequenceClassifierTransformer.ScoreColumnName,
                SchemaShape.Column.VectorKind.Scalar, NumberDataViewType.Single, false);
            yield return new SchemaShape.Column(RnnSequenceClassifierTransformer.ProbabilityColumnName,
                SchemaShape.Column.VectorKind.Scalar, NumberDataViewType.Single, false);
            yield return new SchemaShape.Column(RnnSequenceClassifierTransformer.PredictedLabelColumnName,
                SchemaShape.Column.VectorKind.Scalar, BooleanDataViewType.Instance, false);
        }
        else
        {
            yield return new SchemaShape.Column(RnnSequenceClassifierTransformer.ScoreColumnName,
                SchemaShape.Column.VectorKind.Vector, NumberDataViewType.Single, false);
            yield return new SchemaShape.Column(RnnSequenceClassifierTransformer.PredictedLabelColumnName,
                SchemaShape.Column.VectorKind.Scalar, NumberDataViewType.UInt32, true, LabelColumn.KeyValuesOf(label));
        }
    }
}
