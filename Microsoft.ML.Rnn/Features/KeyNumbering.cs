namespace Microsoft.ML.Rnn.Features;

/// <summary>
/// ML.NET's keys count from 1 (0 is the missing value); the networks' classes, tags and embedding rows count from 0.
/// Every conversion between the two goes through here; what a missing key means is the caller's to decide.
/// </summary>
internal static class KeyNumbering
{
    /// <summary>The 0-based index of key <paramref name="key"/> (1 or more).</summary>
    public static int ToIndex(uint key) => checked((int)(key - 1));

    /// <summary>The key of 0-based index <paramref name="index"/>.</summary>
    public static uint ToKey(long index) => checked((uint)(index + 1));
}
