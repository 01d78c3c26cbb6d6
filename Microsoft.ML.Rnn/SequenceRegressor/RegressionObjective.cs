using Microsoft.ML.Rnn.Core;
using Microsoft.ML.Rnn.Ensembles;
using Microsoft.ML.Rnn.Features;
using Microsoft.ML.Rnn.Networks;
using Microsoft.ML.Rnn.Training;
using Microsoft.ML.Runtime;
using TorchSharp;

namespace Microsoft.ML.Rnn;

/// <summary>
/// Trains a sequence regressor (encoder, pooling, dropout, linear layer) on a Single or vector label. The targets are
/// standardised per output with the training rows' mean and standard deviation (kept with the model), so that one
/// learning rate and one Huber δ suit every scale; validated on the mean squared error in the label's own units. With
/// row scaling each row is first scaled by its own statistics (<see cref="RowScales"/>).
/// </summary>
internal sealed class RegressionObjective(string component, SequenceRegressor.Options options) : TrainingObjective
{
    private SequenceDataSet<float[][]>? _train, _validation;
    private SequenceRegressorEnsemble? _network;

    /// <summary>The training data's label (known after <see cref="Read"/>).</summary>
    public ValueLabelColumn Label { get; private set; } = null!;

    /// <summary>Per output: the training targets' mean, subtracted before training.</summary>
    public float[] Means { get; private set; } = [];

    /// <summary>Per output: the training targets' standard deviation (1 where it is 0), divided by before training.</summary>
    public float[] Scales { get; private set; } = [];

    public override void Read(IHost host, IDataView input, SequenceColumn features, IDataView? validationData, SequenceColumn? validationFeatures)
    {
        string labelColumnName = options.LabelColumnName;
        if (options.Scaling != RowScaling.None && features.Kind != SequenceItemKind.Singles)
            throw new ArgumentException($"{component}: Scaling = {options.Scaling} scales Single steps, but feature column '{features.Name}' " +
                $"holds {(features.Kind == SequenceItemKind.Keys ? "keys" : "text tokens")}; use Scaling = None.", nameof(options.Scaling));
        Label = ValueLabelColumn.Bind(input.Schema, labelColumnName, nameof(input));
        var validationLabel = validationData is null ? null : ValueLabelColumn.Bind(validationData.Schema, labelColumnName, nameof(validationData));
        if (validationLabel is not null)
            Label.CheckSameAs(validationLabel, nameof(validationData));
        _train = Label.ReadValues(host, input, features, component);
        if (_train.Rows.Count < 2)
            throw new InvalidOperationException($"{component}: the training data has {_train.Rows.Count} row(s) with a finite label in column '{labelColumnName}'; at least two are needed.");
        _validation = validationLabel?.ReadValues(host, validationData!, validationFeatures!, component);
        if (options.Scaling != RowScaling.None)
        {
            ScaleRows(_train);
            if (_validation is not null) ScaleRows(_validation);
        }
        (Means, Scales) = Standardisation(_train.Targets, Label.Size);
    }

    /// <summary>Scales each row's features by their row scales and its targets by the target feature's.</summary>
    private void ScaleRows(SequenceDataSet<float[][]> set)
    {
        var scales = RowScales.ApplyInPlace(set.Rows, options.Scaling);
        for (int r = 0; r < scales.Length; r++)
            for (int j = 0; j < Label.Size; j++)
                set.Targets[r][j] = scales[r].Apply(set.Targets[r][j], options.TargetFeatureIndex);
    }

    /// <summary>Mean and standard deviation of each output over <paramref name="targets"/>, in double.</summary>
    private static (float[] Means, float[] Scales) Standardisation(float[][] targets, int size)
    {
        var means = new float[size];
        var scales = new float[size];
        for (int j = 0; j < size; j++)
        {
            double mean = targets.Average(t => (double)t[j]);
            double variance = targets.Average(t => (t[j] - mean) * (t[j] - mean));
            means[j] = (float)mean;
            scales[j] = variance > 0 ? (float)Math.Sqrt(variance) : 1f;
        }
        return (means, scales);
    }

    public override torch.nn.Module CreateNetwork(SequenceEncoder encoder)
        => _network = SequenceRegressorEnsemble.Create(encoder, options.EnsembleSize, Label.Size, options.Pooling, options.Dropout);

    public override void Train(TrainingSetup setup, torch.Device device)
    {
        using var mean = torch.tensor(Means, device: device);
        using var scale = torch.tensor(Scales, device: device);
        torch.Tensor Targets(SequenceDataSet<float[][]> set, int[] rows)
            => torch.tensor(rows.SelectMany(r => set.Targets[r]).ToArray(), device: device).view(rows.Length, Label.Size);
        EnsembleTraining.TrainMembers(setup, _network!.Members, device, (member, network) =>
            SequenceTrainingDriver.Train(member with { MetricName = "mse", HigherIsBetter = false },
                _train!, _validation,
                (set, rows) =>
                {
                    var predicted = network.Forward(set.Rows.MakeBatch(rows).To(device));
                    var standardised = (Targets(set, rows) - mean) / scale;
                    return options.Loss == RegressionLoss.Huber
                        ? torch.nn.functional.huber_loss(predicted, standardised)
                        : torch.nn.functional.mse_loss(predicted, standardised);
                },
                (set, rows) =>
                {
                    // Squared error in the label's units (of the scaled rows, with Scaling), summed over the rows' values.
                    var predicted = (network.Forward(set.Rows.MakeBatch(rows).To(device)) * scale).Plus(mean);
                    double sum = (predicted - Targets(set, rows)).pow(KeptScalars.Two).sum().cpu().item<float>();
                    return (sum, (long)rows.Length * Label.Size);
                }));
    }
}
