using Microsoft.ML.Data;
using Microsoft.ML.Rnn.Features;
using Microsoft.ML.Rnn.Networks;
using Microsoft.ML.Rnn.Training;
using Microsoft.ML.Runtime;
using TorchSharp;

namespace Microsoft.ML.Rnn;

/// <summary>
/// Trains a recurrent sequence encoder (bidirectional GRU by default) and turns each row's sequence into a known-size
/// vector of Single (<see cref="Options.OutputColumnName"/>, D·H values) that any ML.NET trainer can use, alone or
/// concatenated with other features. The encoder is trained on the label (<see cref="EncoderObjective.Supervised"/>)
/// or without one (<see cref="EncoderObjective.NextStepPrediction"/>); only the encoder is kept.
/// </summary>
public sealed class BiGruEncoder : RnnEstimatorBase<BiGruEncoderTransformer>
{
    internal const string ComponentName = nameof(BiGruEncoder);

    /// <summary>Options of <see cref="BiGruEncoder"/>. Defaults differ from the other components: GRU cells, bidirectional.</summary>
    public sealed class Options : RnnOptionsBase
    {
        /// <summary>Creates options with a bidirectional GRU.</summary>
        public Options()
        {
            Cell = RnnCellKind.Gru();
            Bidirectional = true;
        }

        /// <summary>Output column: known-size vector of Single (D·H values). Default "Encoding".</summary>
        public string OutputColumnName = "Encoding";

        /// <summary>How the per-step outputs become one vector: last states of both directions, mean or max over valid steps.</summary>
        public SequencePooling Pooling = SequencePooling.LastState;

        /// <summary>Training objective; <see cref="EncoderObjective.NextStepPrediction"/> ignores <see cref="RnnOptionsBase.LabelColumnName"/>.</summary>
        public EncoderObjective Objective = EncoderObjective.Supervised;
    }

    private readonly Options _options;

    internal BiGruEncoder(IHostEnvironment env, Options options)
        : base(env, options, ComponentName, needsLabel: NeedsLabel(options))
    {
        if (string.IsNullOrWhiteSpace(options.OutputColumnName))
            throw new ArgumentException($"{ComponentName}: OutputColumnName must be a column name.", nameof(options.OutputColumnName));
        if (!Enum.IsDefined(options.Pooling))
            throw new ArgumentOutOfRangeException(nameof(options.Pooling), options.Pooling, $"{ComponentName}: unknown Pooling {options.Pooling}.");
        if (!Enum.IsDefined(options.Objective))
            throw new ArgumentOutOfRangeException(nameof(options.Objective), options.Objective, $"{ComponentName}: unknown Objective {options.Objective}.");
        _options = options;
    }

    private bool Supervised => _options.Objective == EncoderObjective.Supervised;

    /// <summary>Only the supervised objective reads a label (null options are reported by the base).</summary>
    private static bool NeedsLabel(Options? options) => options is null || options.Objective == EncoderObjective.Supervised;

    /// <summary>Supervised: a classifier on the label (its head is dropped after training); otherwise next-step prediction.</summary>
    private protected override TrainingObjective CreateObjective() => Supervised
        ? new ClassificationObjective(ComponentName, _options.LabelColumnName, _options.Pooling, _options.Dropout, ensembleSize: 1)
        : new NextStepObjective(ComponentName);

    /// <summary>Keeps only the trained encoder.</summary>
    private protected override BiGruEncoderTransformer CreateTransformer(FeatureEncoding features, TrainingObjective trained,
        torch.nn.Module network, torch.Device device)
    {
        var encoder = network switch
        {
            SequenceClassifierEnsemble classifier => classifier.Members[0].Encoder,
            SequenceEncoderNetwork nextStep => nextStep.Encoder,
            _ => throw new InvalidOperationException($"{ComponentName}: unexpected training network {network.GetType().Name}."),
        };
        return new BiGruEncoderTransformer(Env, features, _options.OutputColumnName, _options.Pooling, _options.BatchSize, encoder, device, _options.FusedKernels);
    }

    /// <summary>Checks the label (supervised objective) and adds the output column (vector of Single).</summary>
    private protected override IEnumerable<SchemaShape.Column> OutputColumns(SchemaShape inputSchema)
    {
        if (Supervised)
            LabelColumn.CheckClassShape(inputSchema, _options.LabelColumnName);
        return [new SchemaShape.Column(_options.OutputColumnName, SchemaShape.Column.VectorKind.Vector, NumberDataViewType.Single, false)];
    }
}
