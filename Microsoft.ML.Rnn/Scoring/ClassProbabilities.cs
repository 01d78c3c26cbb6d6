namespace Microsoft.ML.Rnn.Scoring;

/// <summary>
/// Reading class scores the network returned (the classifier's per row, the tagger's per step, through either scoring
/// engine): the class ranked first and the probabilities.
/// </summary>
internal static class ClassProbabilities
{
    /// <summary>The index of the largest score (the first of equal ones).</summary>
    public static int ArgMax(ReadOnlySpan<float> scores)
    {
        int best = 0;
        for (int i = 1; i < scores.Length; i++)
            if (scores[i] > scores[best]) best = i;
        return best;
    }

    /// <summary>The softmax of <paramref name="logits"/> into <paramref name="probabilities"/>, summed in double.</summary>
    public static void Softmax(ReadOnlySpan<float> logits, Span<float> probabilities)
    {
        float max = float.NegativeInfinity;
        foreach (float v in logits) max = Math.Max(max, v);
        double sum = 0;
        for (int i = 0; i < logits.Length; i++) sum += Math.Exp(logits[i] - max);
        for (int i = 0; i < logits.Length; i++) probabilities[i] = (float)(Math.Exp(logits[i] - max) / sum);
    }
}
