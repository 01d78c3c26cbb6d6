using System.Globalization;
using Microsoft.ML.Runtime;

namespace Microsoft.ML.Rnn.Training;

/// <summary>The loss weights of a <see cref="ClassWeighting"/>: one per class, from the classes' training counts.</summary>
internal static class ClassWeights
{
    /// <summary>
    /// (T) weights (n / (T · count_k))^p over the n counted targets, p = 1 (inverse frequency) or 0.5 (its square
    /// root); classes absent from the training data get weight 1. Null for <see cref="ClassWeighting.None"/>.
    /// Logged to <paramref name="ch"/> under <paramref name="what"/>.
    /// </summary>
    public static float[]? From(ClassWeighting weighting, long[] counts, IChannel? ch, string what)
    {
        if (weighting == ClassWeighting.None) return null;
        long n = counts.Sum();
        double power = weighting == ClassWeighting.InverseFrequency ? 1 : 0.5;
        var weights = counts.Select(c => c == 0 ? 1f : (float)Math.Pow((double)n / (counts.Length * c), power)).ToArray();
        ch?.Info($"{what} ({weighting}) {string.Join(", ", weights.Select(w => w.ToString("G4", CultureInfo.InvariantCulture)))}.");
        return weights;
    }
}
