using Microsoft.ML.Rnn.Features;
using Microsoft.ML.Rnn.Networks;
using Microsoft.ML.Runtime;
using TorchSharp;

namespace Microsoft.ML.Rnn.Training;

/// <summary>
/// What a component trains its network for, the part of <c>Fit</c> that differs between components (the rest is
/// <see cref="RnnEstimatorBase{TTransformer}"/>): the targets read from the label column, the network built around the
/// encoder, the loss and the validation metric. One instance per <c>Fit</c> call; its methods run in this order.
/// </summary>
internal abstract class TrainingObjective
{
    /// <summary>Reads and checks the training rows and their targets, and the validation rows when given.</summary>
    /// <param name="host">The component's host (cancellation, warnings).</param>
    /// <param name="input">The training data.</param>
    /// <param name="features">Its bound feature column.</param>
    /// <param name="validationData">Separate validation data, or null.</param>
    /// <param name="validationFeatures">Its bound feature column (of the same kind), or null.</param>
    public abstract void Read(IHost host, IDataView input, SequenceColumn features, IDataView? validationData, SequenceColumn? validationFeatures);

    /// <summary>The network to train around <paramref name="encoder"/> (built right after the seed is set).</summary>
    public abstract torch.nn.Module CreateNetwork(SequenceEncoder encoder);

    /// <summary>Trains the network built by <see cref="CreateNetwork"/> (on <paramref name="device"/>) with the shared driver.</summary>
    public abstract void Train(TrainingSetup setup, torch.Device device);
}
