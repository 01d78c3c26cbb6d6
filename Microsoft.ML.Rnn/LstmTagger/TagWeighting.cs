namespace Microsoft.ML.Rnn;

/// <summary>How <see cref="LstmTagger"/> weights the tags in its per-token loss (n training tokens, T tags, count_k of tag k).</summary>
public enum TagWeighting
{
    /// <summary>Every token counts the same.</summary>
    None,

    /// <summary>Weight n / (T · count_k): every tag contributes as much as if tags were equally frequent (scikit-learn's "balanced").</summary>
    InverseFrequency,

    /// <summary>Weight sqrt(n / (T · count_k)): a milder push towards rare tags, which keeps more precision on them.</summary>
    InverseSquareRootFrequency,
}
