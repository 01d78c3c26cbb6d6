namespace Microsoft.ML.Rnn.Tests;

/// <summary>The Score vectors a transformer gives a data view, row by row.</summary>
internal static class ScoreColumn
{
    private sealed class Row
    {
        public float[] Score { get; set; } = [];
    }

    /// <summary>Each row's Score vector.</summary>
    public static List<float[]> Rows(MLContext ml, ITransformer model, IDataView data)
        => ml.Data.CreateEnumerable<Row>(model.Transform(data), reuseRowObject: false).Select(r => r.Score).ToList();

    /// <summary>Every row's Score values, one after the other.</summary>
    public static float[] Flat(MLContext ml, ITransformer model, IDataView data) => Rows(ml, model, data).SelectMany(s => s).ToArray();
}
