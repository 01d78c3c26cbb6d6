namespace Microsoft.ML.Rnn.Tests;

/// <summary>One sentence of the truecase+punctuation set: lower-cased words and, per word, its case and following punctuation.</summary>
internal sealed class TaggedSentence
{
    public string[] Tokens { get; set; } = [];
    public string[] Case { get; set; } = [];
    public string[] Punct { get; set; } = [];
}

/// <summary>Reads data/truecase-punct-*.conll: a comment line, then <c>token TAB case TAB punct</c>, blank line between sentences.</summary>
internal static class ConllSentences
{
    public static List<TaggedSentence> Read(string path, int? take = null)
    {
        var sentences = new List<TaggedSentence>();
        var rows = new List<string[]>();
        void Flush()
        {
            if (rows.Count == 0) return;
            sentences.Add(new TaggedSentence
            {
                Tokens = rows.Select(r => r[0]).ToArray(),
                Case = rows.Select(r => r[1]).ToArray(),
                Punct = rows.Select(r => r[2]).ToArray(),
            });
            rows.Clear();
        }
        foreach (var line in File.ReadLines(path).Skip(1))
        {
            if (line.Length == 0) Flush();
            else rows.Add(line.Split('\t'));
            if (take is int n && sentences.Count >= n) break;
        }
        Flush();
        return take is int m ? sentences.Take(m).ToList() : sentences;
    }

    public static string DataPath(string file) => Path.Combine(AppContext.BaseDirectory, "Data", file);
}
