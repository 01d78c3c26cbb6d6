using static TorchSharp.torch;

namespace HmLstm;

/// <summary>The fortune texts as character id streams, with a vocabulary of the characters seen in training.</summary>
public sealed class CharCorpus
{
    private const int MinCount = 3;

    private CharCorpus(int[] train, int[] test, int vocabularySize, double unigramBits)
    {
        Train = train;
        Test = test;
        VocabularySize = vocabularySize;
        UnigramBitsPerChar = unigramBits;
    }

    public int[] Train { get; }
    public int[] Test { get; }

    /// <summary>Distinct characters seen at least <see cref="MinCount"/> times, plus one id for all others.</summary>
    public int VocabularySize { get; }

    /// <summary>Entropy of the training character frequencies: what a model without context achieves.</summary>
    public double UnigramBitsPerChar { get; }

    /// <summary>Reads the Text column of fortune-topics-{train,test}.tsv; texts are joined with newlines.</summary>
    public static CharCorpus Load(string dataDirectory)
    {
        string train = ReadTexts(Path.Combine(dataDirectory, "fortune-topics-train.tsv"));
        string test = ReadTexts(Path.Combine(dataDirectory, "fortune-topics-test.tsv"));
        var counts = train.GroupBy(c => c).ToDictionary(g => g.Key, g => g.Count());
        var ids = counts.Where(kv => kv.Value >= MinCount).Select(kv => kv.Key).Order()
            .Select((c, i) => (c, i)).ToDictionary(p => p.c, p => p.i);
        int unknown = ids.Count;
        int[] Encode(string s) => s.Select(c => ids.TryGetValue(c, out int id) ? id : unknown).ToArray();
        double bits = -counts.Values.Sum(n => (double)n / train.Length * Math.Log2((double)n / train.Length));
        return new CharCorpus(Encode(train), Encode(test), ids.Count + 1, bits);
    }

    /// <summary>(N, L) int64 windows starting at random offsets.</summary>
    public Tensor SampleWindows(int[] stream, int count, int length, Random random)
    {
        var data = new long[count * length];
        for (int n = 0; n < count; n++)
        {
            int start = random.Next(stream.Length - length);
            for (int t = 0; t < length; t++)
                data[n * length + t] = stream[start + t];
        }
        return tensor(data, [count, length]);
    }

    /// <summary>(N, L) int64 windows taken one after another from the start of the stream.</summary>
    public Tensor ConsecutiveWindows(int[] stream, int count, int length)
    {
        count = Math.Min(count, stream.Length / length);
        return tensor(stream.Take(count * length).Select(i => (long)i).ToArray(), [count, length]);
    }

    private static string ReadTexts(string path) =>
        string.Join("\n", File.ReadLines(path).Skip(1).Select(line => line[(line.IndexOf('\t') + 1)..]));
}
