using System.Globalization;
using static TorchSharp.torch;

namespace Microsoft.ML.Rnn.Features;

/// <summary>
/// Reads a word-vector text file (GloVe: "word v1 ... vE" per line; word2vec text format: the same after a
/// "count E" header line) into an embedding matrix for a vocabulary.
/// </summary>
internal static class WordVectorFile
{
    /// <summary>
    /// Builds a (V, E) float32 matrix: row i holds the file's vector for <paramref name="vocabulary"/>[i] (exact match,
    /// then lower-cased), rows of words absent from the file (and rows past the vocabulary, e.g. an unknown-token row,
    /// up to <paramref name="rows"/>) are drawn from N(0, 0.1^2) with <paramref name="seed"/>.
    /// </summary>
    /// <param name="path">The text file.</param>
    /// <param name="vocabulary">Token of each key index (0-based).</param>
    /// <param name="rows">V, at least the vocabulary size.</param>
    /// <param name="seed">Seed of the random rows.</param>
    /// <param name="found">How many vocabulary words the file had.</param>
    public static Tensor Load(string path, IReadOnlyList<string> vocabulary, int rows, int seed, out int found)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(vocabulary);
        if (rows < vocabulary.Count)
            throw new ArgumentOutOfRangeException(nameof(rows), rows, "WordVectorFile: rows must be at least the vocabulary size.");

        var wanted = new Dictionary<string, List<int>>(StringComparer.Ordinal);
        for (int i = 0; i < vocabulary.Count; i++)
        {
            if (!wanted.TryGetValue(vocabulary[i], out var list)) wanted[vocabulary[i]] = list = new List<int>();
            list.Add(i);
        }

        var vectors = new float[rows][];
        var exact = new bool[rows];
        int dimension = -1;
        int lineNumber = 0;
        foreach (var line in File.ReadLines(path))
        {
            lineNumber++;
            var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length == 0) continue;
            // Only the first non-empty line (before any dimension is known) can be the header.
            if (dimension < 0 && IsHeader(parts, out int headerDim))
            {
                dimension = headerDim;
                continue;
            }
            if (dimension < 0) dimension = parts.Length - 1;
            if (parts.Length - 1 != dimension || dimension < 1)
                throw new FormatException($"WordVectorFile: '{path}' line {lineNumber} has {parts.Length - 1} values, expected {dimension}.");
            string word = parts[0];
            // A vocabulary built from lower-cased text also matches a capitalised entry; an exact entry wins.
            bool isExact = wanted.TryGetValue(word, out var targets);
            if (!isExact && !wanted.TryGetValue(word.ToLowerInvariant(), out targets)) continue;
            float[]? vector = null;
            foreach (int index in targets!)
            {
                if (exact[index] || (vectors[index] is not null && !isExact)) continue;
                vector ??= Parse(parts, path, lineNumber);
                vectors[index] = vector;
                exact[index] = isExact;
            }
        }
        if (dimension < 1)
            throw new FormatException($"WordVectorFile: '{path}' holds no vectors.");

        var random = new Random(seed);
        var data = new float[(long)rows * dimension];
        found = 0;
        for (int i = 0; i < rows; i++)
        {
            if (vectors[i] is { } v)
            {
                v.CopyTo(data, (long)i * dimension);
                if (i < vocabulary.Count) found++;
                continue;
            }
            for (int j = 0; j < dimension; j++)
                data[(long)i * dimension + j] = (float)(0.1 * Normal(random));
        }
        return tensor(data, new long[] { rows, dimension }, ScalarType.Float32);
    }

    /// <summary>
    /// E, the vector size of a word-vector text file, from its word2vec "count E" header or first vector (as
    /// <see cref="Load"/> reads them), without reading the rest.
    /// </summary>
    public static int ReadDimension(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        int lineNumber = 0;
        foreach (var line in File.ReadLines(path))
        {
            lineNumber++;
            var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length == 0) continue;
            if (IsHeader(parts, out int headerDim))
                return headerDim;
            if (parts.Length < 2)
                throw new FormatException($"WordVectorFile: '{path}' line {lineNumber} holds no vector.");
            return parts.Length - 1;
        }
        throw new FormatException($"WordVectorFile: '{path}' holds no vectors.");
    }

    /// <summary>word2vec's text header "count E" (two integers), looked for on the first non-empty line only.</summary>
    private static bool IsHeader(string[] parts, out int dimension)
    {
        dimension = 0;
        return parts.Length == 2 && int.TryParse(parts[0], out _) && int.TryParse(parts[1], out dimension);
    }

    private static float[] Parse(string[] parts, string path, int lineNumber)
    {
        var vector = new float[parts.Length - 1];
        for (int j = 1; j < parts.Length; j++)
        {
            if (!float.TryParse(parts[j], NumberStyles.Float, CultureInfo.InvariantCulture, out vector[j - 1]))
                throw new FormatException($"WordVectorFile: '{path}' line {lineNumber}: '{parts[j]}' is not a number.");
        }
        return vector;
    }

    private static double Normal(Random random)
    {
        double u1 = 1.0 - random.NextDouble(), u2 = random.NextDouble();
        return Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }
}
