using Microsoft.ML.Model.OnnxConverter;
using Microsoft.ML.Rnn.Features;

namespace Microsoft.ML.Rnn.Scoring;

/// <summary>
/// What a fitted component tells the shared scoring code (<see cref="SequenceRowMapper{TResult}"/> for single rows,
/// <see cref="BatchedScoringView{TResult}"/> for batched Transform) whatever its result type: its feature column and
/// its output columns. <see cref="RnnTransformerBase"/> implements it.
/// </summary>
internal interface ISequenceScorer
{
    /// <summary>Rows per network call in batched Transform.</summary>
    int BatchSize { get; }

    /// <summary>What a missing key (0) in a key feature column becomes.</summary>
    MissingKeyHandling MissingKeys { get; }

    /// <summary>Finds and checks the feature column in <paramref name="schema"/>; throws ML.NET's schema errors naming it.</summary>
    SequenceColumn BindFeatures(DataViewSchema schema);

    /// <summary>The columns added to the input.</summary>
    DataViewSchema.DetachedColumn[] GetOutputColumns();

    /// <summary>Writes the component into a model zip.</summary>
    void SaveModel(ModelSaveContext ctx);

    /// <summary>Writes the component's ONNX nodes (ML.NET's ONNX export); throws <see cref="NotSupportedException"/> naming the part that has no ONNX form.</summary>
    void SaveAsOnnx(OnnxContext ctx);
}

/// <summary>How a fitted component scores a batch of sequences and reads one row's result.</summary>
/// <typeparam name="TResult">One row's result (e.g. class scores), immutable once returned.</typeparam>
internal interface ISequenceScorer<TResult> : ISequenceScorer
{
    /// <summary>Scores every row of <paramref name="rows"/> with one network call; safe to call from several threads.</summary>
    TResult[] Score(SequenceRows rows);

    /// <summary>A <c>ValueGetter</c> of output column <paramref name="output"/> reading the current row's result.</summary>
    Delegate MakeGetter(int output, Func<TResult> current);
}
