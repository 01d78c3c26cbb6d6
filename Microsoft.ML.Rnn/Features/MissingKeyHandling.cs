namespace Microsoft.ML.Rnn.Features;

/// <summary>
/// What a key sequence column's missing key (the value 0, "not in the dictionary" in ML.NET) becomes.
/// </summary>
internal enum MissingKeyHandling
{
    /// <summary>Reading fails with a message naming the column, the row and the step.</summary>
    Throw,

    /// <summary>
    /// Becomes the index K = key count, one past the last real key, so an embedding with K + 1 rows learns an
    /// "unknown" vector for it.
    /// </summary>
    MapToUnknownIndex,
}
