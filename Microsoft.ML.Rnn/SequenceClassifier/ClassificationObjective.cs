using Microsoft.ML.Rnn.Ensembles;
using Microsoft.ML.Rnn.Features;
using Microsoft.ML.Rnn.Networks;
using Microsoft.ML.Rnn.Training;
using Microsoft.ML.Runtime;
using TorchSharp;

namespace Microsoft.ML.Rnn;

/// <summary>
/// Trains a sequence classifier (encoder, pooling, dropout, linear layer) on a key or Boolean label with cross-entropy,
/// validated on accuracy: <see cref="RnnSequenceClassifier"/>, and <see cref="BiGruEncoder"/>'s supervised objective.
/// With an ensemble, each member is a run of its own (<see cref="SequenceClassifierEnsemble"/>), side by side where
/// cores are free (<see cref="EnsembleTraining"/>).
/// </summary>
internal sealed class ClassificationObjective(string component, string labelColumnName, SequencePooling pooling, float dropout, int ensembleSize)
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
        => _network = SequenceClassifierEnsemble.Create(encoder, ensembleSize, Label.ClassCount, pooling, dropout);

    public override void Train(TrainingSetup setup, torch.Device device)
        => EnsembleTraining.TrainMembers(setup, _network!.Members, device, (member, network) =>
            SequenceTrainingDriver.Train(member with { MetricName = "accuracy", HigherIsBetter = true },
                _train!, _validation,
                (set, rows) =>
                {
                    var targets = torch.tensor(rows.Select(r => set.Targets[r]).ToArray(), device: device);
                    return torch.nn.functional.cross_entropy(network.Forward(set.Rows.MakeBatch(rows).To(device)), targets);
                },
                (set, rows) =>
                {
                    var predicted = network.Forward(set.Rows.MakeBatch(rows).To(device)).argmax(1).cpu().data<long>().ToArray();
                    return (rows.Where((r, k) => predicted[k] == set.Targets[r]).LongCount(), rows.Length);
                }));
}
