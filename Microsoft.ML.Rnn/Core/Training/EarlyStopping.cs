using static TorchSharp.torch;

namespace Microsoft.ML.Rnn.Core.Training;

/// <summary>
/// Stops training when a monitored metric has not improved by more than <see cref="MinDelta"/> for
/// <see cref="Patience"/> consecutive epochs, and keeps a copy of the module weights of the best epoch so they can be
/// restored afterwards.
/// </summary>
public sealed class EarlyStopping : IDisposable
{
    private Dictionary<string, Tensor>? _bestWeights;

    /// <summary>Creates the rule.</summary>
    /// <param name="patience">Epochs without improvement tolerated before stopping; at least 1.</param>
    /// <param name="minDelta">Smallest change of the metric that counts as an improvement; at least 0.</param>
    /// <param name="higherIsBetter">True for accuracy-like metrics, false for losses.</param>
    public EarlyStopping(int patience, double minDelta = 0, bool higherIsBetter = false)
    {
        if (patience < 1)
            throw new ArgumentOutOfRangeException(nameof(patience), patience, "EarlyStopping: patience must be at least 1.");
        if (!(minDelta >= 0))
            throw new ArgumentOutOfRangeException(nameof(minDelta), minDelta, "EarlyStopping: minDelta must be a non-negative number.");
        Patience = patience;
        MinDelta = minDelta;
        HigherIsBetter = higherIsBetter;
    }

    /// <summary>Epochs without improvement tolerated before stopping.</summary>
    public int Patience { get; }

    /// <summary>Smallest change of the metric that counts as an improvement.</summary>
    public double MinDelta { get; }

    /// <summary>True when larger metric values are better.</summary>
    public bool HigherIsBetter { get; }

    /// <summary>The epoch with the best metric so far, or -1 before the first report.</summary>
    public int BestEpoch { get; private set; } = -1;

    /// <summary>The best metric so far (NaN before the first report).</summary>
    public double BestMetric { get; private set; } = double.NaN;

    /// <summary>Consecutive epochs without improvement since the best one.</summary>
    public int EpochsWithoutImprovement { get; private set; }

    /// <summary>True once <see cref="EpochsWithoutImprovement"/> reached <see cref="Patience"/>.</summary>
    public bool ShouldStop => EpochsWithoutImprovement >= Patience;

    /// <summary>True when a copy of the best weights is held.</summary>
    public bool HasBestWeights => _bestWeights is not null;

    /// <summary>
    /// Records the metric of an epoch. When it improves on the best, remembers the epoch and, when
    /// <paramref name="module"/> is given, copies its weights (every entry of its state_dict).
    /// </summary>
    /// <returns>True when this epoch is the new best.</returns>
    public bool Report(int epoch, double metric, nn.Module? module = null)
    {
        // NaN never improves, so a diverged epoch cannot become the best one.
        bool improved = !double.IsNaN(metric) && (BestEpoch < 0 || (HigherIsBetter
            ? metric > BestMetric + MinDelta
            : metric < BestMetric - MinDelta));
        if (!improved)
        {
            EpochsWithoutImprovement++;
            return false;
        }

        BestEpoch = epoch;
        BestMetric = metric;
        EpochsWithoutImprovement = 0;
        if (module is not null)
            Snapshot(module);
        return true;
    }

    /// <summary>Copies the best weights back into <paramref name="module"/>; false when none were kept.</summary>
    public bool RestoreBest(nn.Module module)
    {
        ArgumentNullException.ThrowIfNull(module);
        if (_bestWeights is null) return false;
        using var noGrad = no_grad();
        var current = module.state_dict();
        foreach (var (name, saved) in _bestWeights)
        {
            if (!current.TryGetValue(name, out var target))
                throw new InvalidOperationException($"EarlyStopping: the module has no entry '{name}' that the best weights hold.");
            target.copy_(saved);
        }
        return true;
    }

    /// <summary>Forgets the best epoch, its metric and its weights.</summary>
    public void Reset()
    {
        ReleaseWeights();
        BestEpoch = -1;
        BestMetric = double.NaN;
        EpochsWithoutImprovement = 0;
    }

    /// <summary>Releases the copied weights.</summary>
    public void Dispose() => ReleaseWeights();

    private void Snapshot(nn.Module module)
    {
        ReleaseWeights();
        var copy = new Dictionary<string, Tensor>();
        using (no_grad())
        {
            foreach (var (name, tensor) in module.state_dict())
            {
                // The copy outlives whatever dispose scope the caller's epoch runs in.
                using var detached = tensor.detach();
                copy[name] = detached.clone().DetachFromDisposeScope();
            }
        }
        _bestWeights = copy;
    }

    private void ReleaseWeights()
    {
        if (_bestWeights is null) return;
        foreach (var t in _bestWeights.Values) t.Dispose();
        _bestWeights = null;
    }
}
