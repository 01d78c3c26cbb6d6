using TorchSharp.Modules;
using TorchSharp;

namespace Microsoft.ML.Rnn.Training;

/// <summary>
/// The internal resume hook used by the experiments' successive-halving scheduler: given to a component's internal
/// <c>Fit(input, validationData, checkpoint)</c>, it makes the run continue a previous run instead of
/// starting from fresh weights. After a run it holds the network weights (the best epoch's, as restored by early
/// stopping), Adam's moment estimates and the epochs run so far; the next <c>Fit</c> with the same checkpoint and a
/// larger <see cref="RnnOptionsBase.MaxEpochs"/> loads them and runs only the missing epochs. Stored as bytes, so it
/// owns no native memory and outlives the networks it was taken from.
/// </summary>
internal sealed class TrainingCheckpoint
{
    private byte[]? _network;
    private byte[]? _optimizer;
    private readonly List<TrainingCheckpoint> _otherMembers = [];

    /// <summary>Epochs run over all the segments so far.</summary>
    public int EpochsCompleted { get; private set; }

    /// <summary>Training segments run so far (one per <c>Fit</c>).</summary>
    public int Segments { get; private set; }

    /// <summary>True once a segment has run.</summary>
    public bool HasState => _network is not null;

    /// <summary>The checkpoint of an ensemble's member <paramref name="index"/>: this one for the first, one of its own for each other.</summary>
    public TrainingCheckpoint Member(int index)
    {
        if (index == 0) return this;
        while (_otherMembers.Count < index) _otherMembers.Add(new TrainingCheckpoint());
        return _otherMembers[index - 1];
    }

    /// <summary>Loads the saved weights and optimizer state into a freshly built network and optimizer of the same shape.</summary>
    public void Restore(torch.nn.Module network, Adam optimizer)
    {
        if (_network is null) return;
        using (var reader = new BinaryReader(new MemoryStream(_network, writable: false)))
            network.load(reader);
        if (_optimizer is not null)
        {
            using var reader = new BinaryReader(new MemoryStream(_optimizer, writable: false));
            optimizer.load_state_dict(reader);
        }
    }

    /// <summary>Records the state after a segment of <paramref name="epochs"/> epochs.</summary>
    public void Capture(torch.nn.Module network, Adam optimizer, int epochs)
    {
        _network = Save(writer => network.save(writer));
        _optimizer = Save(writer => optimizer.save_state_dict(writer));
        EpochsCompleted += epochs;
        Segments++;
    }

    private static byte[] Save(Action<BinaryWriter> save)
    {
        using var stream = new MemoryStream();
        using (var writer = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true))
            save(writer);
        return stream.ToArray();
    }
}
