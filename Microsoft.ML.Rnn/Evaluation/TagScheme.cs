namespace Microsoft.ML.Rnn;

/// <summary>How tags encode entity spans, for span-level F1 in <see cref="TaggingEvaluator"/>.</summary>
public enum TagScheme
{
    /// <summary>Tags are plain labels (e.g. part of speech, punctuation); no span metrics.</summary>
    None,
    /// <summary>B-X begins an entity of type X, I-X continues it, O is outside.</summary>
    Bio,
    /// <summary>As <see cref="Bio"/>, plus E-X ending a multi-token entity and S-X for a single-token entity.</summary>
    Bioes,
}
