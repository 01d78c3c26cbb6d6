using Microsoft.ML.Data;

namespace Microsoft.ML.Rnn.Scoring;

/// <summary>
/// What a cross-fitted component gives the rows it was fitted on: each row's result from the networks that did not learn
/// from it, by row id. They stand in for the full model's results only when Transform is given the very data view that
/// <c>Fit</c> read — as an ML.NET pipeline does when it fits the steps after the component — so that a trainer after it
/// learns from results that look like those of new rows. Any other data, and a saved and loaded model, get the full
/// model's. The data view is held weakly: the transformer does not keep the training data alive.
/// </summary>
internal sealed class OutOfFoldScores<TResult>(IDataView fittedOn, IReadOnlyDictionary<DataViewRowId, TResult> results)
{
    private readonly WeakReference<IDataView> _fittedOn = new(fittedOn);

    /// <summary>The rows' out-of-fold results when <paramref name="input"/> is the data the component was fitted on; otherwise null.</summary>
    public IReadOnlyDictionary<DataViewRowId, TResult>? For(IDataView input)
        => _fittedOn.TryGetTarget(out var data) && ReferenceEquals(data, input) ? results : null;
}
