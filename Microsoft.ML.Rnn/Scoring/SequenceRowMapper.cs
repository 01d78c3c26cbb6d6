using System.Runtime.CompilerServices;
using Microsoft.ML.Data;
using Microsoft.ML.Rnn.Features;
using Microsoft.ML.Runtime;

namespace Microsoft.ML.Rnn.Scoring;

/// <summary>
/// The row-by-row mapper of a sequence component (PredictionEngine, GetRowToRowMapper): reads the current row's
/// sequence and scores it alone. All output columns of a row share one network call.
/// </summary>
internal sealed class SequenceRowMapper<TResult> : RowToRowTransformerBase.MapperBase
{
    private readonly ISequenceScorer<TResult> _scorer;
    private readonly SequenceColumn _features;
    private readonly Action<ModelSaveContext> _save;
    private readonly ConditionalWeakTable<DataViewRow, RowCache> _caches = new();

    /// <summary>Binds <paramref name="scorer"/>'s feature column in <paramref name="schema"/> (throws ML.NET's schema errors).</summary>
    public SequenceRowMapper(IHost host, DataViewSchema schema, RowToRowTransformerBase parent, ISequenceScorer<TResult> scorer,
        Action<ModelSaveContext> save)
        : base(host, schema, parent)
    {
        _scorer = scorer;
        _save = save;
        _features = scorer.BindFeatures(schema);
    }

    public override DataViewSchema.DetachedColumn[] GetOutputColumnsCore() => _scorer.GetOutputColumns();

    public override Delegate MakeGetter(DataViewRow input, int iinfo, Func<int, bool> activeOutput, out Action? disposer)
    {
        disposer = null;
        var cache = _caches.GetValue(input, row => new RowCache(row, _features, _scorer));
        return _scorer.MakeGetter(iinfo, cache.Current);
    }

    public override Func<int, bool> GetDependenciesCore(Func<int, bool> activeOutput)
    {
        int outputs = _scorer.GetOutputColumns().Length;
        bool any = Enumerable.Range(0, outputs).Any(activeOutput);
        return col => any && col == _features.Index;
    }

    public override void SaveModel(ModelSaveContext ctx) => _save(ctx);

    /// <summary>One input row's reader and last result, so the output columns of a row run the network once.</summary>
    private sealed class RowCache(DataViewRow row, SequenceColumn features, ISequenceScorer<TResult> scorer)
    {
        private readonly SequenceColumnReader _reader = new(row, features, scorer.MissingKeys);
        private long _position = -1;
        private TResult _result = default!;

        public TResult Current()
        {
            if (_position != row.Position || _position < 0)
            {
                var rows = new SequenceRows(features);
                rows.AddCurrent(_reader);
                _result = scorer.Score(rows)[0];
                _position = row.Position;
            }
            return _result;
        }
    }
}
