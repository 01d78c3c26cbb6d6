namespace Microsoft.ML.Rnn.Experiments;

/// <summary>
/// Asynchronous successive halving (ASHA, Li et al., 2020) over training epochs. Rungs hold
/// <c>MinEpochs · η^k</c> epochs (the last rung is MaxEpochs). Whenever a trial run ends, the scheduler looks from the
/// highest rung down for a trial in the top ⌊n/η⌋ of the n trials scored at that rung that has not moved on yet, and
/// continues it to the next rung; if there is none, a new trial starts at rung 0. Poor trials therefore stop after
/// the first rung's few epochs, and only the best reach the full budget.
/// </summary>
public sealed class SuccessiveHalvingSchedule
{
    /// <summary>Creates the rungs: MinEpochs, MinEpochs·η, ... while at most MaxEpochs, ending with MaxEpochs.</summary>
    public SuccessiveHalvingSchedule(int minEpochs, int maxEpochs, int reductionFactor)
    {
        if (minEpochs < 1) throw new ArgumentOutOfRangeException(nameof(minEpochs), minEpochs, "SuccessiveHalvingSchedule: minEpochs must be at least 1.");
        if (maxEpochs < minEpochs) throw new ArgumentOutOfRangeException(nameof(maxEpochs), maxEpochs, $"SuccessiveHalvingSchedule: maxEpochs must be at least minEpochs ({minEpochs}).");
        if (reductionFactor < 2) throw new ArgumentOutOfRangeException(nameof(reductionFactor), reductionFactor, "SuccessiveHalvingSchedule: reductionFactor must be at least 2.");
        ReductionFactor = reductionFactor;
        var rungs = new List<int>();
        // The last rung before MaxEpochs must leave at least a factor η to it, so no rung adds a token epoch or two.
        for (long r = minEpochs; r * reductionFactor <= maxEpochs; r *= reductionFactor) rungs.Add((int)r);
        rungs.Add(maxEpochs);
        RungEpochs = rungs;
    }

    /// <summary>Epochs of each rung, increasing; the last is the full budget.</summary>
    public IReadOnlyList<int> RungEpochs { get; }

    /// <summary>η.</summary>
    public int ReductionFactor { get; }

    /// <summary>Index of the last rung.</summary>
    public int TopRung => RungEpochs.Count - 1;

    /// <summary>
    /// The trial to continue and the rung to take it to, or null when no trial qualifies (start a new one).
    /// </summary>
    /// <param name="trials">Per candidate trial: its id, its metric at each rung it finished (higher is better) and
    /// the highest rung it finished. Trials that must not move (failed, default) are left out by the caller.</param>
    public (int Id, int Rung)? NextPromotion(IEnumerable<(int Id, IReadOnlyDictionary<int, double> Metrics, int HighestRung)> trials)
    {
        ArgumentNullException.ThrowIfNull(trials);
        var list = trials.ToList();
        for (int k = TopRung - 1; k >= 0; k--)
        {
            var scored = list.Where(t => t.Metrics.TryGetValue(k, out var m) && !double.IsNaN(m))
                .OrderByDescending(t => t.Metrics[k]).ThenBy(t => t.Id).ToList();
            int quota = scored.Count / ReductionFactor;
            foreach (var t in scored.Take(quota))
                if (t.HighestRung == k) return (t.Id, k + 1);
        }
        return null;
    }
}
