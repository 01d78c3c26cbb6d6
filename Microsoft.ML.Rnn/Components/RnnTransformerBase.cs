using Microsoft.ML.Data;
using Microsoft.ML.Model.OnnxConverter;
using Microsoft.ML.Rnn.Features;
using Microsoft.ML.Rnn.Networks;
using Microsoft.ML.Rnn.Onnx;
using Microsoft.ML.Rnn.Persistence;
using Microsoft.ML.Rnn.Scoring;
using Microsoft.ML.Runtime;
using TorchSharp;
using DeviceType = TorchSharp.DeviceType;

namespace Microsoft.ML.Rnn;

/// <summary>
/// Base of the fitted recurrent components (<see cref="RnnSequenceClassifierTransformer"/>,
/// <see cref="LstmTaggerTransformer"/>, <see cref="BiGruEncoderTransformer"/>). It owns the trained network and its
/// scoring (eval mode, no gradients, a lock shared by PredictionEngines, the fused-kernel policy), the scoring engine
/// (<see cref="ScoringEngine"/>: TorchSharp, or ONNX Runtime on the component's own graph), Transform (rows scored
/// <see cref="BatchSize"/> at a time when read), the row mapper, the model zip's framing and Dispose; a component
/// supplies its output columns, how a batch is scored, its network's result as ONNX, and its header in the zip.
/// Owns a native network: dispose it when done.
/// </summary>
public abstract class RnnTransformerBase : RowToRowTransformerBase, ITransformer, IDisposable, ISequenceScorer
{
    private readonly Lazy<(torch.nn.Module Module, SequenceEncoder Encoder, NetworkInference Inference)> _network;
    private readonly bool _onCpu;
    private readonly string? _whyNotOpenedAtLoad; // why a loaded component's graph was not opened at load (for the libtorch error)
    private readonly string _networkStream;
    private readonly string _name;
    private readonly Lock _engineGate = new();
    private byte[]? _onnxModel;                   // the component's own graph: the zip's when ONNX Runtime opened it at load, or built from the network
    private IOnnxScoringEngine? _onnxEngine;
    private IOnnxScoringSession? _rowSession;     // one row (a PredictionEngine): one thread, the calling one
    private IOnnxScoringSession? _batchSession;   // a batch (Transform): every core
    private string? _onnxUnavailable;             // why ONNX Runtime cannot score this component (null: not tried yet)
    private RnnScoringEngine? _loggedEngine;
    private bool _disposed;

    /// <summary>Takes ownership of <paramref name="network"/>, whose recurrent part is <paramref name="encoder"/> (a fitted component).</summary>
    private protected RnnTransformerBase(IHostEnvironment env, string name, FeatureEncoding features, int batchSize,
        torch.nn.Module network, SequenceEncoder encoder, string networkStream, torch.Device device, FusedKernelPolicy? fusedKernels)
        : base(env.Register(name))
    {
        _name = name;
        Features = features;
        BatchSize = batchSize;
        _networkStream = networkStream;
        _onCpu = device.type == DeviceType.CPU;
        network.eval();
        var inference = new NetworkInference(network, device, Host, fusedKernels);
        _network = new Lazy<(torch.nn.Module, SequenceEncoder, NetworkInference)>(() => (network, encoder, inference));
        _ = _network.Value;
    }

    /// <summary>
    /// A component loaded from a zip: <paramref name="read"/> builds the network from the zip's weights on the CPU. It
    /// runs now, unless ONNX Runtime opened the zip's graph at load (<paramref name="onnx"/>'s session): then only when
    /// TorchSharp is needed, so that an application without libtorch loads and scores the zip.
    /// </summary>
    private protected RnnTransformerBase(IHostEnvironment env, string name, FeatureEncoding features, int batchSize,
        Func<(torch.nn.Module Module, SequenceEncoder Encoder)> read, LoadedOnnx onnx, string networkStream)
        : base(env.Register(name))
    {
        _name = name;
        Features = features;
        BatchSize = batchSize;
        _networkStream = networkStream;
        _onCpu = true;
        _whyNotOpenedAtLoad = onnx.WhyNotOpened;
        bool deferNetwork = onnx.RowSession is not null;
        if (deferNetwork)
        {
            _onnxModel = onnx.Model;
            _onnxEngine = onnx.Engine;
            _rowSession = onnx.RowSession;
        }
        _network = new Lazy<(torch.nn.Module, SequenceEncoder, NetworkInference)>(() =>
        {
            var (module, encoder) = ReadNetwork(read);
            module.eval();
            return (module, encoder, new NetworkInference(module, torch.CPU, Host, null));
        });
        if (!deferNetwork)
            _ = _network.Value;   // a damaged weights entry fails the load, as the zip is read
    }

    /// <summary>
    /// Builds a loaded network; without libtorch, fails with a <see cref="DllNotFoundException"/> saying what needs it
    /// (not a format error: the file is fine, the application lacks a native library).
    /// </summary>
    private (torch.nn.Module, SequenceEncoder) ReadNetwork(Func<(torch.nn.Module, SequenceEncoder)> read)
    {
        try
        {
            return read();
        }
        catch (Exception e) when (e is TypeInitializationException or DllNotFoundException
                                      || (e is NotSupportedException && e.Message.Contains("libtorch", StringComparison.Ordinal)))
        {
            string why = (_onnxUnavailable ?? _whyNotOpenedAtLoad) is { } reason ? $" ONNX Runtime does not score it: {reason}." : "";
            throw new DllNotFoundException($"{_name}: TorchSharp's native library (libtorch) is needed to score or save this model with " +
                $"TorchSharp, and this application does not have it: reference libtorch-cpu-linux-x64 (or the TorchSharp-cpu or TorchSharp-cuda " +
                $"package for your platform).{why}", e);
        }
    }

    /// <summary>The input column read.</summary>
    public string FeatureColumnName => Features.Name;

    /// <summary>Rows per network call in <see cref="Transform"/>.</summary>
    public int BatchSize { get; }

    /// <summary>The feature column the model was trained on.</summary>
    private protected FeatureEncoding Features { get; }

    /// <summary>
    /// The trained recurrent encoder (embedding and cells) inside the network, owned by this transformer: for reading a
    /// cell's own states with the core's unrollers (e.g. a custom cell's, through <c>ScanUnroller</c>).
    /// </summary>
    /// <remarks>A component loaded for ONNX Runtime reads its network (with libtorch) the first time this is read.</remarks>
    public SequenceEncoder Encoder => _network.Value.Encoder;

    /// <summary>Runs the network for scoring (see <see cref="NetworkInference"/>).</summary>
    private protected NetworkInference Inference => _network.Value.Inference;

    /// <summary>Whether the network has been read (always, but for a component loaded for ONNX Runtime that never needed TorchSharp).</summary>
    internal bool NetworkIsRead => _network.IsValueCreated;

    /// <summary>The network (the component's typed network), read from the zip's weights the first time it is needed.</summary>
    private protected torch.nn.Module NetworkModule => _network.Value.Module;

    /// <summary>The engine every component scores with unless its <see cref="ScoringEngine"/> says otherwise (per process).</summary>
    public static RnnScoringEngine DefaultScoringEngine { get; set; } = RnnScoringEngine.Auto;

    /// <summary>
    /// The engine that scores this component (Transform and PredictionEngine); null follows
    /// <see cref="DefaultScoringEngine"/>. With ONNX Runtime, rows are scored by the component's own ONNX graph (the
    /// one <c>ConvertToOnnx</c> writes, reading the ids the component maps a row to); the MLContext log says once
    /// which engine scores and why.
    /// </summary>
    public RnnScoringEngine? ScoringEngine { get; set; }

    /// <summary>Adds the component's columns; rows are scored <see cref="BatchSize"/> at a time when read.</summary>
    public new IDataView Transform(IDataView input)
    {
        ThrowIfDisposed();
        ArgumentNullException.ThrowIfNull(input);
        return ScoreBatched(input);
    }

    IDataView ITransformer.Transform(IDataView input) => Transform(input);

    /// <inheritdoc/>
    public sealed override IRowMapper MakeRowMapper(DataViewSchema schema)
    {
        ThrowIfDisposed();
        return MapRows(schema);
    }

    /// <summary>Writes the transformer into a model zip (called by <c>mlContext.Model.Save</c>).</summary>
    public sealed override void SaveModel(ModelSaveContext ctx)
    {
        ThrowIfDisposed();
        ModelPersistence.BeginSave(ctx, Version);
        // *** Binary format *** (every component)
        // feature column description (FeatureEncoding.Write)
        // the component's header (SaveHeader)
        // encoder description (EncoderOptionsPersistence.Write)
        // uint: the weights block's version (since format 0x00010008; FormatBlocks)
        // binary stream (the component's stream name): the network's weights
        // optional binary stream "OnnxGraph" (OnnxGraphStream): the component's own ONNX graph, when it has one
        Features.Write(ctx);
        SaveHeader(ctx);
        EncoderOptionsPersistence.Write(ctx, Encoder);   // saving reads the network (a deferred one too): its weights are written
        FormatBlocks.Write(ctx, NetworkWeights.BlockVersion);
        NetworkWeights.SaveModule(ctx, _networkStream, NetworkModule);
        if ((_onnxModel ?? TryBuildOnnxModel(out _)) is { } graph)
            OnnxGraphStream.Write(ctx, graph);
    }

    /// <summary>Releases the network's native memory (and the ONNX Runtime session, when one was opened).</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        if (_network.IsValueCreated)
            _network.Value.Module.Dispose();
        _rowSession?.Dispose();
        _batchSession?.Dispose();
    }

    /// <summary>Throws <see cref="ObjectDisposedException"/> once disposed.</summary>
    private protected void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed, this);

    /// <summary>The component's format version (written first in its zip entry).</summary>
    private protected abstract VersionInfo Version { get; }

    /// <summary>Writes what the component adds between the feature column and the encoder description.</summary>
    private protected abstract void SaveHeader(ModelSaveContext ctx);

    /// <summary>The output columns (shared by Transform and the row mapper).</summary>
    private protected abstract DataViewSchema.DetachedColumn[] OutputColumns();

    /// <summary>A <see cref="BatchedScoringView{TResult}"/> of <paramref name="input"/> with this component's result type.</summary>
    private protected abstract IDataView ScoreBatched(IDataView input);

    /// <summary>A <see cref="SequenceRowMapper{TResult}"/> over <paramref name="schema"/> with this component's result type.</summary>
    private protected abstract IRowMapper MapRows(DataViewSchema schema);

    /// <summary>
    /// Writes the component's outputs as ONNX: <paramref name="input"/> is the component's input value, and its
    /// <see cref="OnnxEncoderInput.Encode"/> writes what an encoder (<see cref="Encoder"/>, or one of the same shape)
    /// computes from it (every step's outputs (L, N, D*H) and the final outputs (N, D*H)); <paramref name="outputs"/> are the values of <see cref="OutputColumns"/>, in order, that the nodes must write.
    /// </summary>
    private protected abstract void WriteOnnxOutputs(OnnxGraphWriter g, OnnxEncoderInput input, string[] outputs);

    /// <summary>
    /// Writes what the component's network returns for each row, (N, K): the result <see cref="ScoreThroughOnnxRuntime"/>
    /// reads. Throws <see cref="NotSupportedException"/> when the component has no such graph.
    /// </summary>
    private protected abstract string WriteOnnxResult(OnnxGraphWriter g, OnnxEncoderInput input);

    /// <summary>ML.NET's ONNX export (<c>mlContext.Model.ConvertToOnnx</c>): the encoder and the component's outputs.</summary>
    void ISequenceScorer.SaveAsOnnx(OnnxContext ctx)
    {
        ThrowIfDisposed();
        // The input's value is looked up before the outputs are named: an output may replace a column of the same name.
        string input = ctx.GetVariableName(Features.Name);
        var outputs = OutputColumns().Select(c => ctx.AddIntermediateVariable(c.Type, c.Name)).ToArray();
        var g = new OnnxGraphWriter(new MLNetOnnxTarget(ctx), _name);
        if (Features.MaxSteps is int maxSteps)   // longer rows keep their first MaxSequenceLength steps, as the component reads them
        {
            long width = Features.Kind == SequenceItemKind.Singles ? Features.FeaturesPerStep : 1;
            input = g.Apply("Slice", "kept_steps", input, g.Longs([0], "kept_steps.start"), g.Longs([maxSteps * width], "kept_steps.end"), g.Longs([1], "kept_steps.axis"));
        }
        var bag = Features.Vocabulary?.Bag;
        WriteOnnxOutputs(g, new OnnxEncoderInput(input, (encoder, steps) => OnnxEncoderExport.Write(g, encoder, Features, steps, _name),
            bag is null ? null : () => OnnxWordBagExport.Ids(g, bag, input)), outputs);
    }

    /// <summary>
    /// Scores <paramref name="rows"/> through ONNX Runtime when it is the engine in force (see <see cref="ScoringEngine"/>):
    /// one run per group of rows with the same number of steps, each row's (K) result; null when TorchSharp scores.
    /// Calls no libtorch function.
    /// </summary>
    private protected float[][]? ScoreThroughOnnxRuntime(SequenceRows rows)
    {
        if (ChooseOnnxSession(rows.Count) is not { } session)
            return null;
        var result = new float[rows.Count][];
        foreach (var group in Enumerable.Range(0, rows.Count).GroupBy(i => rows.Lengths[i]))
        {
            int[] members = group.ToArray();
            float[] output = session.Run(ComponentOnnxModel.Inputs(Features, rows, members, group.Key), ComponentOnnxModel.Result);
            int width = output.Length / members.Length;
            for (int i = 0; i < members.Length; i++)
                result[members[i]] = output.AsSpan(i * width, width).ToArray();
        }
        return result;
    }

    /// <summary>
    /// The ONNX Runtime session for <paramref name="rows"/> rows when ONNX Runtime scores, null when TorchSharp does;
    /// logs the choice once per engine. One row runs on the calling thread (measured: a single row's small operators
    /// ran 1.3-1.6x slower at the median on a pool of two threads, and several PredictionEngines then compete for
    /// cores); a batch runs on every core (measured: one thread scored batches at 0.5-0.7 of libtorch's rate).
    /// </summary>
    private protected IOnnxScoringSession? ChooseOnnxSession(int rows)
    {
        var setting = ScoringEngine ?? DefaultScoringEngine;
        IOnnxScoringSession? session = null;
        string why;
        if (setting == RnnScoringEngine.TorchSharp)
        {
            why = "ScoringEngine is TorchSharp";
        }
        else if (!_onCpu && setting == RnnScoringEngine.Auto)
        {
            why = $"the network runs on {Inference.Device}";
        }
        else
        {
            session = rows == 1 ? _rowSession : _batchSession;
            if (session is null)
            {
                lock (_engineGate)
                {
                    if (_onnxModel is null && _onnxUnavailable is null)
                        BuildOnnxModel();
                    if (_onnxModel is not null)
                        session = rows == 1 ? _rowSession ??= Open(1) : _batchSession ??= Open(Environment.ProcessorCount);
                }
            }
            if (session is null && setting == RnnScoringEngine.OnnxRuntime)
                throw new InvalidOperationException($"{_name}: ScoringEngine is OnnxRuntime, but {_onnxUnavailable}.");
            why = session is null ? _onnxUnavailable! : $"ScoringEngine is {setting}";
        }
        var engine = session is null ? RnnScoringEngine.TorchSharp : RnnScoringEngine.OnnxRuntime;
        if (_loggedEngine != engine)
        {
            _loggedEngine = engine;
            using var ch = Host.Start("Scoring engine");
            ch.Info($"{_name}: scoring with {(session is null ? "TorchSharp (libtorch)" : "ONNX Runtime")}: {why}.");
        }
        return session;
    }

    /// <summary>Finds the engine and builds the component's ONNX model from its network; on failure records why, for the log or the error.</summary>
    private void BuildOnnxModel()
    {
        if (OnnxScoringEngines.Find(out string missing) is not { } engine)
        {
            _onnxUnavailable = missing;
            return;
        }
        if (TryBuildOnnxModel(out string? why) is { } model)
        {
            _onnxModel = model;
            _onnxEngine = engine;
            return;
        }
        _onnxUnavailable = why;
    }

    /// <summary>The component's own ONNX model built from its network, or null with why it has none.</summary>
    private byte[]? TryBuildOnnxModel(out string? why)
    {
        why = null;
        try
        {
            using var scope = torch.NewDisposeScope();
            using var noGrad = torch.no_grad();
            return ComponentOnnxModel.Build(_name, Features, WriteOnnxResult);
        }
        catch (NotSupportedException e)
        {
            why = "the model has no ONNX form: " + e.Message;
            return null;
        }
    }

    /// <summary>A session on the component's model with <paramref name="threads"/> threads, or null (and why) when ONNX Runtime cannot start.</summary>
    private IOnnxScoringSession? Open(int threads)
    {
        try
        {
            return _onnxEngine!.Open(_onnxModel!, threads);
        }
        catch (Exception e) when (NativeLibraryFailure(e) is { } failure)
        {
            _onnxModel = null;
            _onnxUnavailable = failure;
            return null;
        }
    }

    /// <summary>
    /// Loads a component's zip entry: version and guard, the feature column, the component's header
    /// (<paramref name="readHeader"/> reads it from the same context and checks its values), the encoder description,
    /// the network's weights (after checking the stream holds at least <paramref name="minimumParameters"/> beyond the
    /// encoder's) and the component's ONNX graph when the zip has one; <paramref name="create"/> then makes the
    /// transformer from them and from how to read the network into the one <paramref name="build"/> makes (around the encoder, for the feature column), and whether
    /// reading it can wait (the zip's graph will be scored by ONNX Runtime: no libtorch call until TorchSharp is needed).
    /// </summary>
    private protected static TTransformer Load<THeader, TNetwork, TTransformer>(IHostEnvironment env, ModelLoadContext ctx,
        VersionInfo version, string userName, string networkStream, Func<THeader> readHeader,
        Func<THeader, SequenceEncoderOptions, double> minimumParameters, Func<THeader, SequenceEncoder, FeatureEncoding, TNetwork> build,
        Func<FeatureEncoding, THeader, LoadedNetwork<TNetwork>, TTransformer> create)
        where TNetwork : torch.nn.Module
    {
        ModelPersistence.BeginLoad(ctx, version, userName);
        return ModelPersistence.Guard(userName, () =>
        {
            var features = FeatureEncoding.Read(ctx, userName);
            var header = readHeader();
            var encoderOptions = EncoderOptionsPersistence.Read(ctx, userName);
            features.CheckNetwork(encoderOptions, userName);
            uint weightsVersion = FormatBlocks.Read(ctx, NetworkWeights.BlockVersion, "network weights", userName);
            NetworkWeights.CheckNetworkFits(ctx, networkStream, minimumParameters(header, encoderOptions), userName);
            var onnx = OpenOnnxGraph(ctx, userName);
            Func<TNetwork> read;
            if (onnx.RowSession is null)
            {
                // Read now, while the zip is read (the transformer builds it in its constructor).
                read = () => NetworkWeights.LoadModule(ctx, networkStream, build(header, new SequenceEncoder(encoderOptions), features), userName, weightsVersion);
            }
            else
            {
                // Kept for when TorchSharp is needed.
                byte[] weights = NetworkWeights.ReadWeights(ctx, networkStream, userName);
                read = () => NetworkWeights.LoadModule(weights, weightsVersion, networkStream, build(header, new SequenceEncoder(encoderOptions), features), userName);
            }
            return create(features, header, new LoadedNetwork<TNetwork>(read, encoderOptions, onnx));
        });
    }

    /// <summary>
    /// The zip's ONNX graph, read and opened now when ONNX Runtime will score it (the process default is not TorchSharp
    /// and the engine is there): a damaged graph then fails the load, and the network need not be read. Otherwise the
    /// graph is not read (the network is, and can build it again).
    /// </summary>
    private static LoadedOnnx OpenOnnxGraph(ModelLoadContext ctx, string userName)
    {
        if (DefaultScoringEngine == RnnScoringEngine.TorchSharp)
            return new LoadedOnnx(null, null, null, "DefaultScoringEngine is TorchSharp");
        if (OnnxScoringEngines.Find(out string missing) is not { } engine)
            return new LoadedOnnx(null, null, null, missing);
        if (OnnxGraphStream.Read(ctx, userName) is not { } model)
            return new LoadedOnnx(null, null, null, "the zip holds no ONNX graph (it was saved before 2026-12-07, or a part of the model has no ONNX form)");
        try
        {
            return new LoadedOnnx(model, engine, engine.Open(model, 1), null);
        }
        catch (Exception e) when (NativeLibraryFailure(e) is { } failure)
        {
            return new LoadedOnnx(null, null, null, failure);
        }
        catch (Exception e)
        {
            throw new FormatException($"{userName}: the model's ONNX graph is damaged: {e.Message}", e);
        }
    }

    /// <summary>Why ONNX Runtime could not start when <paramref name="e"/> says its native library is missing or unusable; null for any other failure.</summary>
    private static string? NativeLibraryFailure(Exception e)
        => e is DllNotFoundException or TypeInitializationException or EntryPointNotFoundException or BadImageFormatException
            ? $"ONNX Runtime's native library could not be loaded ({e.GetType().Name}: {e.Message})"
            : null;

    /// <summary>
    /// A loaded component's ONNX graph with ONNX Runtime's session on it, when opened at load; otherwise why not (for the
    /// error when the network then needs a libtorch the application lacks).
    /// </summary>
    private protected sealed record LoadedOnnx(byte[]? Model, IOnnxScoringEngine? Engine, IOnnxScoringSession? RowSession, string? WhyNotOpened);

    /// <summary>
    /// How a loaded component reads its network (see <see cref="Load"/>), the encoder's description, the component's
    /// ONNX graph, and whether reading the network can wait.
    /// </summary>
    private protected sealed record LoadedNetwork<TNetwork>(Func<TNetwork> Read, SequenceEncoderOptions EncoderOptions, LoadedOnnx Onnx)
    {
        /// <summary>Whether the network is read only when TorchSharp is needed.</summary>
        public bool Defer => Onnx.RowSession is not null;
    }

    MissingKeyHandling ISequenceScorer.MissingKeys => MissingKeyHandling.MapToUnknownIndex;

    SequenceColumn ISequenceScorer.BindFeatures(DataViewSchema schema) => Features.Bind(schema);

    DataViewSchema.DetachedColumn[] ISequenceScorer.GetOutputColumns() => OutputColumns();
}
