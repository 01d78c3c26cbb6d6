using Microsoft.ML.Data;
using Microsoft.ML.Model.OnnxConverter;
using Microsoft.ML.Rnn.Features;
using Microsoft.ML.Runtime;

namespace Microsoft.ML.Rnn.Scoring;

/// <summary>
/// The output of a sequence component's Transform: the input columns plus the component's outputs, computed
/// <see cref="ISequenceScorer.BatchSize"/> rows per network call. A look-ahead cursor on the input reads the
/// sequences of the next batch; a second input cursor in the same order serves the passed-through columns.
/// </summary>
/// <remarks>Row order is the input's; the view does not shuffle (a shuffled input cursor pair could disagree on order).
/// A trainer that reads its input many times (SDCA, L-BFGS) runs the network on every pass unless a cache sits in
/// between; after <see cref="PassesBeforeWarning"/> complete scoring passes the view says so once, in the log.
/// The view is the transform ML.NET's ONNX converter walks back through (<see cref="ITransformCanSaveOnnx"/>): its
/// source is the input, and the component writes its own nodes.</remarks>
internal sealed class BatchedScoringView<TResult> : ITransformCanSaveOnnx
{
    /// <summary>Complete scoring passes over one view after which the missing cache is reported.</summary>
    public const int PassesBeforeWarning = 3;

    private readonly IDataView _input;
    private readonly ISequenceScorer<TResult> _scorer;
    private readonly IHost _host;
    private readonly SequenceColumn _features;
    private readonly ColumnBindings _bindings;
    private readonly IReadOnlyDictionary<DataViewRowId, TResult>? _known;
    private int _completePasses;

    /// <summary>
    /// Binds the feature column (ML.NET schema errors) and builds the output schema. Rows whose id is in
    /// <paramref name="known"/> get that result instead of the network's (<see cref="OutOfFoldScores{TResult}"/>).
    /// </summary>
    public BatchedScoringView(IDataView input, ISequenceScorer<TResult> scorer, IHost host, IReadOnlyDictionary<DataViewRowId, TResult>? known = null)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(scorer);
        ArgumentNullException.ThrowIfNull(host);
        _input = input;
        _scorer = scorer;
        _host = host;
        _features = scorer.BindFeatures(input.Schema);
        _bindings = new ColumnBindings(input.Schema, scorer.GetOutputColumns());
        _known = known;
    }

    public bool CanShuffle => false;

    /// <summary>The input view.</summary>
    public IDataView Source => _input;

    /// <summary>Writes the component into a model zip.</summary>
    public void Save(ModelSaveContext ctx) => _scorer.SaveModel(ctx);

    /// <summary>
    /// True: whether every part of the component has an ONNX form is decided while writing, where a part without one
    /// fails naming it (false here would only make ML.NET's converter stop walking the pipeline, with a warning).
    /// </summary>
    public bool CanSaveOnnx(OnnxContext ctx) => true;

    /// <summary>Writes the component's ONNX nodes.</summary>
    public void SaveAsOnnx(OnnxContext ctx) => _scorer.SaveAsOnnx(ctx);

    public DataViewSchema Schema => _bindings.Schema;

    public long? GetRowCount() => _input.GetRowCount();

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null)
    {
        ArgumentNullException.ThrowIfNull(columnsNeeded);
        var active = new bool[Schema.Count];
        foreach (var column in columnsNeeded) active[column.Index] = true;
        return new Cursor(this, active);
    }

    /// <summary>Called by a cursor that scored every row; warns once when a reader keeps coming back for more.</summary>
    private void CountCompletePass(long rows)
    {
        if (Interlocked.Increment(ref _completePasses) != PassesBeforeWarning)
            return;
        using var ch = _host.Start("Scoring passes");
        ch.Warning($"{_host.ContextDescription}: the network has now scored all {rows} rows of the same data {PassesBeforeWarning} times. " +
                   "A trainer after this component reads its input several times (SdcaMaximumEntropy, LbfgsMaximumEntropy, ...) and, " +
                   "without a cache in between, every pass runs the network again. Append .AppendCacheCheckpoint(mlContext) after " +
                   "this component to run it once.");
    }

    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null)
        => new[] { GetRowCursor(columnsNeeded, rand) };

    private sealed class Cursor : DataViewRowCursor
    {
        private readonly BatchedScoringView<TResult> _view;
        private readonly bool[] _active;
        private readonly DataViewRowCursor _input;
        private readonly DataViewRowCursor? _lookAhead;
        private readonly SequenceColumnReader? _reader;
        private readonly ValueGetter<DataViewRowId>? _lookAheadId;   // with known results
        private readonly Delegate?[] _outputGetters;
        private TResult[] _results = Array.Empty<TResult>();
        private int _index = -1;
        private long _rows;
        private bool _finished;
        private bool _disposed;

        public Cursor(BatchedScoringView<TResult> view, bool[] active)
        {
            _view = view;
            _active = active;
            var bindings = view._bindings;
            var inputActive = bindings.GetActiveInput(c => active[c]);
            _input = view._input.GetRowCursor(view._input.Schema.Where(c => inputActive[c.Index]));

            int outputs = bindings.AddedColumnIndices.Count;
            _outputGetters = new Delegate?[outputs];
            if (bindings.AddedColumnIndices.Any(i => active[i]))
            {
                _lookAhead = view._input.GetRowCursor(new[] { view._input.Schema[view._features.Index] });
                _reader = new SequenceColumnReader(_lookAhead, view._features, view._scorer.MissingKeys);
                _lookAheadId = view._known is null ? null : _lookAhead.GetIdGetter();
                for (int i = 0; i < outputs; i++)
                {
                    if (active[bindings.AddedColumnIndices[i]])
                        _outputGetters[i] = view._scorer.MakeGetter(i, Current);
                }
            }
        }

        public override DataViewSchema Schema => _view.Schema;

        public override long Position => _input.Position;

        public override long Batch => _input.Batch;

        public override ValueGetter<DataViewRowId> GetIdGetter() => _input.GetIdGetter();

        public override bool IsColumnActive(DataViewSchema.Column column) => _active[column.Index];

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
        {
            if (!_active[column.Index])
                throw new InvalidOperationException($"Column '{column.Name}' is not active in this cursor.");
            int index = _view._bindings.MapColumnIndex(out bool isSource, column.Index);
            if (isSource)
                return _input.GetGetter<TValue>(_input.Schema[index]);
            return _outputGetters[index] as ValueGetter<TValue>
                ?? throw new InvalidOperationException($"Invalid TValue {typeof(TValue).Name} for column '{column.Name}' of type {column.Type}.");
        }

        public override bool MoveNext()
        {
            if (_disposed || _finished)
                return false;
            if (!_input.MoveNext())
            {
                _finished = true;   // a finished cursor stays finished, and counts its pass once
                if (_lookAhead is not null && _rows > 0)
                    _view.CountCompletePass(_rows);
                return false;
            }
            _rows++;
            if (_lookAhead is not null && ++_index >= _results.Length)
                FillBatch();
            return true;
        }

        private void FillBatch()
        {
            // Rows with a known result are read past, not scored: the network runs on the others only.
            var rows = new SequenceRows(_view._features);
            var results = new List<TResult?>();
            var scored = new List<int>();   // positions in the batch of the rows in `rows`
            var id = default(DataViewRowId);
            while (results.Count < _view._scorer.BatchSize && _lookAhead!.MoveNext())
            {
                _lookAheadId?.Invoke(ref id);
                if (_lookAheadId is not null && _view._known!.TryGetValue(id, out var known))
                {
                    results.Add(known);
                    continue;
                }
                scored.Add(results.Count);
                results.Add(default);
                rows.AddCurrent(_reader!);
            }
            if (results.Count == 0)
                throw new InvalidOperationException("The input data view gave fewer rows on a second cursor than on the first; it must be deterministic.");
            if (rows.Count > 0)
            {
                var fromNetwork = _view._scorer.Score(rows);
                for (int k = 0; k < scored.Count; k++)
                    results[scored[k]] = fromNetwork[k];
            }
            _results = results.ToArray()!;
            _index = 0;
        }

        private TResult Current()
        {
            if (_index < 0 || _index >= _results.Length)
                throw new InvalidOperationException("The cursor is not on a row.");
            return _results[_index];
        }

        protected override void Dispose(bool disposing)
        {
            if (_disposed) return;
            if (disposing)
            {
                _input.Dispose();
                _lookAhead?.Dispose();
            }
            _disposed = true;
            base.Dispose(disposing);
        }
    }
}
