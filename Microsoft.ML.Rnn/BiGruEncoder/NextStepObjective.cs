using Microsoft.ML.Rnn.Features;
using Microsoft.ML.Rnn.Networks;
using Microsoft.ML.Rnn.Training;
using Microsoft.ML.Runtime;
using TorchSharp;

namespace Microsoft.ML.Rnn;

/// <summary>
/// <see cref="BiGruEncoder"/>'s self-supervised objective (<see cref="EncoderObjective.NextStepPrediction"/>): the
/// encoder learns to predict each next step of its own sequences; no label is read. Validated on the same loss.
/// </summary>
internal sealed class NextStepObjective(string component) : TrainingObjective
{
    private SequenceDataSet<bool>? _train, _validation;
    private SequenceEncoderNetwork? _network;

    public override void Read(IHost host, IDataView input, SequenceColumn features, IDataView? validationData, SequenceColumn? validationFeatures)
    {
        _train = new SequenceDataSet<bool>(ReadUnlabeled(host, input, features), false);
        if (_train.Rows.Count == 0)
            throw new InvalidOperationException($"{component}: the training data has no rows.");
        if (validationData is not null)
            _validation = new SequenceDataSet<bool>(ReadUnlabeled(host, validationData, validationFeatures!), false);
    }

    public override torch.nn.Module CreateNetwork(SequenceEncoder encoder) => _network = new SequenceEncoderNetwork(encoder);

    public override void Train(TrainingSetup setup, torch.Device device)
    {
        var network = _network!;
        SequenceTrainingDriver.Train(setup with { MetricName = "next-step loss", HigherIsBetter = false }, _train!, _validation,
            (set, rows) =>
            {
                return network.Loss(set.Rows.MakeBatch(rows).To(device));
            });
    }

    /// <summary>Reads every row's sequence (a missing key reads as the unknown word).</summary>
    private static SequenceRows ReadUnlabeled(IHost host, IDataView data, SequenceColumn features)
        => SequenceRows.Read(data, features, MissingKeyHandling.MapToUnknownIndex, host.CheckAlive);
}
