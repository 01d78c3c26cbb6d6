using Microsoft.ML.Rnn.Ensembles;
using Microsoft.ML.Rnn.Features;
using Microsoft.ML.Rnn.Networks;
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
/// cores are free (<see cref="EnsembleTraining"/>).
/// </summary>
internal sealed class ClassificationObjective(string component, string labelColumnName, SequencePooling pooling, float dropout, int ensembleSize,
    ClassWeighting weighting = ClassWeighting.None)
    : TrainingObjective
{
    private SequenceDataSet<long[]>? _train, _validation;
    private SequenceClassifierEnsemble? _network;

    /// <summary>The training data's label (known after <see cref="Read"/>).</summary>
    public LabelColumn Label { get; private set; } = null!;

    public override void Read(IHost host, IDataView input, SequenceColumn features, IDataView? validationData, SequenceColumn? validationFeatures)
    {
        Label = LabelColumn.BindClasses(input.Schema, labelColumnName, nameof(input), component);
        var validationLabel = validationData is null ? null : LabelColumn.BindClasses(validationData.Schema, labelColumnName, nameof(validationData), component);
        if (validationLabel is not null)
            Label.CheckSameAs(validationLabel, nameof(validationData));
        _train = Label.ReadClasses(host, input, features, component);
        if (_train.Rows.Count == 0)
            throw new InvalidOperationException($"{component}: the training data has no rows with a label in column '{labelColumnName}'.");
        if (_train.Targets.Distinct().Count() < 2)
            throw new InvalidOperationException($"{component}: the training labels in column '{labelColumnName}' hold a single class; at least two are needed.");
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
        return _network = SequenceClassifierEnsemble.Create(encoder, ensembleSize, Label.ClassCount, pooling, dropout, words);
    }

    public override void Train(TrainingSetup setup, torch.Device device)
    {
        int classCount = (int)Label.ClassCount;
        float[]? classWeights;
        using (var ch = setup.Host.Start("Class weights"))
            classWeights = ClassWeights.From(weighting, Counts(_train!.Targets, classCount), ch, $"{component}: class weights");
        using var weights = classWeights is null ? null : torch.tensor(classWeights, device: device);
        bool macro = weights is not null;
        EnsembleTraining.TrainMembers(setup, _network!.Members, device, (member, network) =>
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
                }));
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
