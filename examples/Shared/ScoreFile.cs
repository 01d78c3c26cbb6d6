using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Examples.Shared;

/// <summary>
/// Writes a classifier's scored rows as text that compares exactly across processes: one line per row,
/// <c>row TAB predicted key TAB score_1 score_2 ...</c>, floats in round-trip form.
/// </summary>
public static class ScoreFile
{
    /// <summary>Writes the <c>PredictedLabel</c> (raw 1-based key) and <c>Score</c> columns of <paramref name="scored"/> to <paramref name="path"/>.</summary>
    public static void Write(IDataView scored, string path)
    {
        var predicted = scored.Schema["PredictedLabel"];
        var score = scored.Schema["Score"];
        using var writer = new StreamWriter(path);
        using var cursor = scored.GetRowCursor([predicted, score]);
        var getPredicted = cursor.GetGetter<uint>(predicted);
        var getScore = cursor.GetGetter<VBuffer<float>>(score);
        uint key = 0;
        VBuffer<float> scores = default;
        while (cursor.MoveNext())
        {
            getPredicted(ref key);
            getScore(ref scores);
            writer.WriteLine(Line(cursor.Position, key, scores.DenseValues()));
        }
    }

    /// <summary>One line of the file.</summary>
    public static string Line(long row, uint predictedKey, IEnumerable<float> scores) =>
        string.Create(CultureInfo.InvariantCulture, $"{row}\t{predictedKey}\t")
        + string.Join(' ', scores.Select(s => s.ToString("R", CultureInfo.InvariantCulture)));
}
