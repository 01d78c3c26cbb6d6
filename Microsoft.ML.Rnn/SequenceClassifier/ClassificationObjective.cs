using Microsoft.ML.Data;
using Microsoft.ML.Rnn.Ensembles;
using Microsoft.ML.Rnn.Features;
using Microsoft.ML.Rnn.Networks;
using Microsoft.ML.Rnn.Scoring;
using Microsoft.ML.Rnn.Training;
using Microsoft.ML.Runtime;
using TorchSharp;

namespace Microsoft.ML.Rnn;

/// <summary>
/// Trains a sequence classifier (encoder, pooling, dropout, linear layer) on a key or Boolean label with cross-entropy,
/// weighted per class by <paramref name="weighting"/>, validated on accuracy, or on macro accuracy (the mean of the
/// classes' recalls) when the classes are weighted: <see cref="RnnSequenceClassifier"/>, and <see cref="BiGruEncoder"/>'s
/// supervised objective.
/// With an ensemble, each member is a run of its own (<see cref="SequenceClassifierEnsemble"/>), side by side where
/// cores are free (<see cref="EnsembleTraining"/>). Cross-fitted (<paramref name="crossFitFolds"/> K ≥ 2), K more
/// ensembles of the same size each learn from the rows outside one fold (<see cref="CrossFitting"/>), side by side with
/// the full one, and score that fold's rows (<see cref="OutOfFold"/>); only the full ensemble is kept.
/// </summary>
internal sealed class ClassificationObjective(string component, string labelColumnName, SequencePooling pooling, float dropout, int ensembleSize,
    ClassWeighting weighting = ClassWeighting.None, int crossFitFolds = 0)
    : TrainingObjective
{
    private SequenceDataSet<long[]>? _train, _validation;
    private SequenceClassifierEnsemble? _network;
    private SequenceClassifierEnsemble[] _foldNetworks = [];
    private IDataView? _input;
    private List<DataViewRowId>? _rowIds;

    /// <summary>The training data's label (known after <see cref="Read"/>).</summary>
    public LabelColumn Label { get; private set; } = null!;

    /// <summary>Cross-fitted: each training row's logits from the ensemble that did not learn from it (after <see cref="Train"/>); null otherwise.</summary>
    public OutOfFoldScores<float[]>? OutOfFold { get; private set; }

    public override void Read(IHost host, IDataView input, SequenceColumn features, IDataView? validationData, SequenceColumn? validationFeatures)
    {
        Label = LabelColumn.BindClasses(input.Schema, labelColumnName, nameof(input), component);
        var validationLabel = validationData is null ? null : LabelColumn.BindClasses(validationData.Schema, labelColumnName, nameof(validationData), component);
        if (validationLabel is not null)
            Label.CheckSameAs(validationLabel, nameof(validationData));
        _rowIds = crossFitFolds > 0 ? [] : null;
        _input = input;
        _train = Label.ReadClasses(host, input, features, component, _rowIds);
        if (_train.Rows.Count == 0)
            throw new InvalidOperationException($"{component}: the training data has no rows with a label in column '{labelColumnName}'.");
        if (_train.Targets.Distinct().Count() < 2)
            throw new InvalidOperationException($"{component}: the training labels in column '{labelColumnName}' hold a single class; at least two are needed.");
        if (_train.Rows.Count < 2 * crossFitFolds)
            throw new InvalidOperationException($"{component}: CrossFitFolds {crossFitFolds} needs at least {2 * crossFitFolds} labelled training rows " +
                                                $"(two per fold); the data has {_train.Rows.Count}.");
        _validation = validationLabel?.ReadClasses(host, validationData!, validationFeatures!, component);
    }

    public override torch.nn.Module CreateNetwork(SequenceEncoder encoder)
    {
        // With a word bag each member gets its own path over the same idf (from the training rows).
        Func<WordBagPath>? words = null;
        if (_train!.Rows.Column.Vocabulary?.Bag is { } bag)
        {
            var idf = WordBagPath.SmoothIdf(Enumerable.Range(0, _train.Rows.Count).Select(_train.Rows.WordBagIds), bag.Words.Count);
            words = () => new WordBagPath(idf, Label.ClassCount);
        }
        _network = SequenceClassifierEnsemble.Create(encoder, ensembleSize, Label.ClassCount, pooling, dropout, words);
        // Drawn after the full ensemble, so that it is the same network with or without cross-fitting.
        _foldNetworks = Enumerable.Range(0, crossFitFolds)
            .Select(_ => SequenceClassifierEnsemble.Create(new SequenceEncoder(encoder.Options), ensembleSize, Label.ClassCount, pooling, dropout, words))
            .ToArray();
        return _network;
    }

    public override void Train(TrainingSetup setup, torch.Device device)
    {
        int classCount = (int)Label.ClassCount;
        float[]? classWeights;
        using (var ch = setup.Host.Start("Class weights"))
            classWeights = ClassWeights.From(weighting, Counts(_train!.Targets, classCount), ch, $"{component}: class weights");
        using var weights = classWeights is null ? null : torch.tensor(classWeights, device: device);
        bool macro = weights is not null;
        // The full ensemble's networks, then each fold's: network m of fold f learns from the rows outside fold f.
        var folds = crossFitFolds > 0 ? CrossFitting.StratifiedFolds(_train!.Targets, crossFitFolds, setup.Seed) : null;
        var members = _network!.Members.Concat(_foldNetworks.SelectMany(f => f.Members)).ToArray();
        foreach (var fold in _foldNetworks) fold.to(device);
        try
        {
            EnsembleTraining.TrainMembers(setup, members, device, (member, network) =>
                SequenceTrainingDriver.Train(member with { MetricName = macro ? "macro accuracy" : "accuracy", HigherIsBetter = true },
                    _train!, _validation,
                    (set, rows) =>
                    {
                        var targets = torch.tensor(rows.Select(r => set.Targets[r]).ToArray(), device: device);
                        return torch.nn.functional.cross_entropy(network.Forward(set.Rows.MakeBatch(rows).To(device)), targets, weights);
                    },
                    (set, rows) =>
                    {
                        var predicted = Predict(network, set, rows, device);
                        return (rows.Where((r, k) => predicted[k] == set.Targets[r]).LongCount(), rows.Length);
                    },
                    !macro ? null : (set, batches) =>
                    {
                        var (correct, seen) = (new long[classCount], new long[classCount]);
                        foreach (var rows in batches)
                        {
                            var predicted = Predict(network, set, rows, device);
                            for (int k = 0; k < rows.Length; k++)
                            {
                                long target = set.Targets[rows[k]];
                                seen[target]++;
                                if (predicted[k] == target) correct[target]++;
                            }
                        }
                        return Enumerable.Range(0, classCount).Where(c => seen[c] > 0).Average(c => (double)correct[c] / seen[c]);
                    },
                    rows: member.Member < ensembleSize ? null : CrossFitting.RowsOutside(folds!, member.Member / ensembleSize - 1)));
            if (folds is not null)
                OutOfFold = new OutOfFoldScores<float[]>(_input!, ScoreFolds(setup, folds, device));
        }
        finally
        {
            foreach (var fold in _foldNetworks) fold.Dispose();
            _foldNetworks = [];
        }
    }

    /// <summary>Each row's logits (log mean probabilities for an ensemble) from the networks of its fold, by row id.</summary>
    private Dictionary<DataViewRowId, float[]> ScoreFolds(TrainingSetup setup, int[] folds, torch.Device device)
    {
        var logits = new Dictionary<DataViewRowId, float[]>(folds.Length);
        using var threads = TrainingThreads.Use(setup.Options.NumberOfThreads);
        for (int f = 0; f < _foldNetworks.Length; f++)
        {
            var inference = new NetworkInference(_foldNetworks[f], device, setup.Host, setup.Options.FusedKernels);
            var rows = Enumerable.Range(0, folds.Length).Where(r => folds[r] == f).ToArray();
            foreach (var batch in rows.Chunk(setup.Options.BatchSize))
            {
                setup.Host.CheckAlive();
                var scores = inference.Run(() => _foldNetworks[f].Forward(_train!.Rows.MakeBatch(batch).To(device)).cpu().data<float>().ToArray());
                int classes = scores.Length / batch.Length;
                for (int k = 0; k < batch.Length; k++)
                    logits[_rowIds![batch[k]]] = scores.AsSpan(k * classes, classes).ToArray();
            }
        }
        return logits;
    }

    private static long[] Predict(SequenceClassifierNetwork network, SequenceDataSet<long[]> set, int[] rows, torch.Device device)
    {
        using var scope = torch.NewDisposeScope();
        return network.Forward(set.Rows.MakeBatch(rows).To(device)).argmax(1).cpu().data<long>().ToArray();
    }

    private static long[] Counts(long[] targets, int classCount)
    {
        var counts = new long[classCount];
        foreach (long target in targets) counts[target]++;
        return counts;
    }
}
