using System.Collections.Concurrent;
using System.Globalization;
using Microsoft.ML.Rnn.Core;

namespace Microsoft.ML.Rnn;

/// <summary>
/// A kind of recurrent cell that the components build, save and load by name: its name, its options (text pairs,
/// saved in the model zip), its gates per hidden unit (a size check when a model is loaded; a built-in cell's class
/// states them, <see cref="GatedRnnCell"/>) and how to build one cell. The built-in kinds carry TensorFlow 1.x's options; a cell of your own is registered once with
/// <see cref="Register"/> (in the training process and in every process that loads its models) and chosen with
/// <see cref="Custom"/>. A model zip names a kind, never a type or code: loading resolves only registered names.
/// </summary>
public sealed class RnnCellKind : IEquatable<RnnCellKind>
{
    /// <summary>How a registered kind builds a cell of (input size, hidden size) from its options, and its gates per unit.</summary>
    private sealed record Registration(Func<long, long, IReadOnlyDictionary<string, string>, RnnCell> Build, int GatesPerUnit, bool BuiltIn = false);

    private const string LstmName = "lstm", GruName = "gru", SimpleRnnName = "simple_rnn", CifgName = "cifg_lstm", LayerNormName = "layer_norm_lstm";

    // The built-in kinds: adding one is one entry here (name, builder, gates) and its factory method below.
    private static readonly ConcurrentDictionary<string, Registration> s_registry = new(StringComparer.Ordinal)
    {
        [LstmName] = new((i, h, o) => new LstmCell(i, h, new LstmCellOptions
        {
            ForgetBias = Number(o, "forget_bias") ?? 0, UsePeepholes = Flag(o, "use_peepholes"), CellClip = Number(o, "cell_clip"),
            NumProj = Number(o, "num_proj") is { } p ? checked((long)p) : null, ProjClip = Number(o, "proj_clip"),
        }), LstmCell.GateLayout.Length, BuiltIn: true),
        [GruName] = new((i, h, o) => new GruCell(i, h, Choice(o, "reset_gate", GruResetGate.AfterRecurrentMatmul)), GruCell.GateLayout.Length, BuiltIn: true),
        [SimpleRnnName] = new((i, h, o) => new SimpleRnnCell(i, h, Choice(o, "activation", SimpleRnnActivation.Tanh)), SimpleRnnCell.GateLayout.Length, BuiltIn: true),
        [CifgName] = new((i, h, _) => new CoupledInputForgetLstmCell(i, h), CoupledInputForgetLstmCell.GateLayout.Length, BuiltIn: true),
        [LayerNormName] = new((i, h, o) => new LayerNormLstmCell(i, h, Number(o, "forget_bias") ?? 1.0), LayerNormLstmCell.GateLayout.Length, BuiltIn: true),
    };

    private readonly SortedDictionary<string, string> _options;

    private RnnCellKind(string name, IEnumerable<KeyValuePair<string, string>> options)
    {
        Name = name;
        _options = new SortedDictionary<string, string>(options.ToDictionary(p => p.Key, p => p.Value), StringComparer.Ordinal);
    }

    /// <summary>The registered name, saved in the model zip.</summary>
    public string Name { get; }

    /// <summary>The kind's options as text pairs, saved in the model zip and given to its builder.</summary>
    public IReadOnlyDictionary<string, string> Options => _options;

    /// <summary>
    /// Gate blocks per hidden unit, as the built-in cell's class states them (<c>GateLayout</c>: LSTM 4, GRU 3, simple
    /// RNN 1), or as a cell of your own was registered (0 when it did not say). Known without building a cell: a
    /// scoring-only application loads a model's description without libtorch.
    /// </summary>
    public int GatesPerUnit => Lookup(Name).GatesPerUnit;

    /// <summary>
    /// An LSTM with TensorFlow 1.x's LSTMCell options (forget bias, peepholes, cell clip, projection and its clip);
    /// fusable with the defaults. With <see cref="LstmCellOptions.NumProj"/> a layer outputs NumProj values per
    /// direction instead of the hidden size.
    /// </summary>
    public static RnnCellKind Lstm(LstmCellOptions? options = null)
    {
        options ??= new LstmCellOptions();
        var pairs = new Dictionary<string, string>();
        if (options.ForgetBias != 0) pairs["forget_bias"] = Text(options.ForgetBias);
        if (options.UsePeepholes) pairs["use_peepholes"] = "true";
        if (options.CellClip is { } clip) pairs["cell_clip"] = Text(clip);
        if (options.NumProj is { } projection) pairs["num_proj"] = projection.ToString(CultureInfo.InvariantCulture);
        if (options.ProjClip is { } projectionClip) pairs["proj_clip"] = Text(projectionClip);
        return Checked(new RnnCellKind(LstmName, pairs));
    }

    /// <summary>A GRU; <see cref="GruResetGate.BeforeRecurrentMatmul"/> is TensorFlow 1.x's variant (step path), the default is cuDNN's and PyTorch's (fusable).</summary>
    public static RnnCellKind Gru(GruResetGate resetGate = GruResetGate.AfterRecurrentMatmul)
        => Checked(new RnnCellKind(GruName, resetGate == GruResetGate.AfterRecurrentMatmul ? [] : [new("reset_gate", resetGate.ToString())]));

    /// <summary>A simple (Elman) RNN with tanh (the default) or ReLU; fusable.</summary>
    public static RnnCellKind SimpleRnn(SimpleRnnActivation activation = SimpleRnnActivation.Tanh)
        => Checked(new RnnCellKind(SimpleRnnName, activation == SimpleRnnActivation.Tanh ? [] : [new("activation", activation.ToString())]));

    /// <summary>An LSTM whose forget gate is one minus its input gate (CIFG, TensorFlow 1.x's coupled input-forget cell).</summary>
    public static RnnCellKind CoupledInputForgetLstm() => Checked(new RnnCellKind(CifgName, []));

    /// <summary>A layer-normalised LSTM (TensorFlow 1.x's LayerNormBasicLSTMCell), forget bias 1 by default.</summary>
    public static RnnCellKind LayerNormLstm(double forgetBias = 1.0)
        => Checked(new RnnCellKind(LayerNormName, forgetBias == 1.0 ? [] : [new("forget_bias", Text(forgetBias))]));

    /// <summary>The kind of a <see cref="RnnCellType"/> (the built-in fusable LSTM, GRU and simple RNN).</summary>
    public static RnnCellKind FromType(RnnCellType type) => type switch
    {
        RnnCellType.Lstm => Lstm(),
        RnnCellType.Gru => Gru(),
        RnnCellType.SimpleRnn => SimpleRnn(),
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "RnnCellKind: unknown cell type."),
    };

    /// <summary>
    /// Registers a cell of your own under <paramref name="name"/>: <paramref name="build"/> makes a cell taking
    /// (input size, hidden size, options) whose output is its hidden state of the given size. Register it in every
    /// process that trains or loads models of it; registering a name again replaces its builder.
    /// </summary>
    /// <param name="name">A name of letters, digits, '_', '-' or '.', not a built-in kind's.</param>
    /// <param name="build">Builds one cell.</param>
    /// <param name="gatesPerUnit">Gate blocks per hidden unit, if any (a lower bound of the weights a loaded model must
    /// hold: input and recurrent matrices of gatesPerUnit·H rows; a <see cref="GatedRnnCell"/>'s
    /// <see cref="GatedRnnCell.GatesPerUnit"/>); 0 skips that check.</param>
    public static void Register(string name, Func<long, long, IReadOnlyDictionary<string, string>, RnnCell> build, int gatesPerUnit = 0)
    {
        ArgumentNullException.ThrowIfNull(build);
        CheckName(name, nameof(name));
        ArgumentOutOfRangeException.ThrowIfNegative(gatesPerUnit);
        var registration = new Registration(build, gatesPerUnit);
        s_registry.AddOrUpdate(name, registration, (_, existing) => existing.BuiltIn
            ? throw new ArgumentException($"RnnCellKind: '{name}' is a built-in cell kind; register your cell under another name.", nameof(name))
            : registration);
    }

    /// <summary>A registered cell of your own, with options given to its builder (and saved with the model).</summary>
    public static RnnCellKind Custom(string name, IReadOnlyDictionary<string, string>? options = null)
    {
        CheckName(name, nameof(name));
        if (!s_registry.ContainsKey(name))
            throw new ArgumentException($"RnnCellKind: no cell kind '{name}' is registered; call RnnCellKind.Register(\"{name}\", ...) first.", nameof(name));
        return Checked(new RnnCellKind(name, options ?? new Dictionary<string, string>()));
    }

    /// <summary>True when <paramref name="name"/> is a built-in or registered kind.</summary>
    public static bool IsRegistered(string name) => s_registry.ContainsKey(name);

    /// <summary>Tests only: forgets a registered cell of your own (as in a process that never registered it).</summary>
    internal static bool Unregister(string name) => s_registry.TryGetValue(name, out var r) && !r.BuiltIn && s_registry.TryRemove(name, out _);

    /// <summary>Builds one cell of this kind; its sizes are checked.</summary>
    public RnnCell Build(long inputSize, long hiddenSize)
    {
        var cell = Lookup(Name).Build(inputSize, hiddenSize, Options)
            ?? throw new InvalidOperationException($"RnnCellKind '{Name}': the registered builder returned null.");
        if (cell.InputSize != inputSize || cell.OutputSize != OutputSize(hiddenSize))
        {
            throw new InvalidOperationException($"RnnCellKind '{Name}': asked for a cell ({inputSize} -> {hiddenSize}), the builder returned " +
                $"{cell.GetType().Name} ({cell.InputSize} -> {cell.OutputSize}).");
        }
        return cell;
    }

    /// <summary>H_out of this kind's cells for hidden size H: H, or an LSTM's projection size.</summary>
    public long OutputSize(long hiddenSize)
        => Name == LstmName && Number(_options, "num_proj") is { } projection ? checked((long)projection) : hiddenSize;

    /// <summary>The kind a model names, resolved in this process's registry; throws naming the kind to register when unknown.</summary>
    internal static RnnCellKind Resolve(string name, IReadOnlyDictionary<string, string> options, string component)
    {
        if (!s_registry.ContainsKey(name))
        {
            throw new InvalidOperationException($"{component}: the model's cells are of kind '{name}', which is not registered in this " +
                $"process; call RnnCellKind.Register(\"{name}\", ...) with the same cell before loading the model.");
        }
        return Checked(new RnnCellKind(name, options));
    }

    /// <summary>"gru(reset_gate=BeforeRecurrentMatmul)".</summary>
    public override string ToString() => _options.Count == 0 ? Name : $"{Name}({string.Join(", ", _options.Select(p => $"{p.Key}={p.Value}"))})";

    /// <inheritdoc/>
    public bool Equals(RnnCellKind? other) => other is not null && Name == other.Name && _options.SequenceEqual(other._options);

    /// <inheritdoc/>
    public override bool Equals(object? obj) => Equals(obj as RnnCellKind);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(Name, _options.Count);

    private static Registration Lookup(string name)
        => s_registry.TryGetValue(name, out var registration) ? registration
            : throw new InvalidOperationException($"RnnCellKind: '{name}' is no longer registered; register it again before building its cells.");

    /// <summary>
    /// Builds one small cell of a built-in kind with options, so that bad options fail where the kind is made, not in the
    /// middle of Fit or Load. Building draws the cell's initialisation from libtorch's generator, whose state is put
    /// back: making a kind must not change a seeded run.
    /// </summary>
    private static RnnCellKind Checked(RnnCellKind kind)
    {
        if (!Lookup(kind.Name).BuiltIn || kind._options.Count == 0)
            return kind;
        var state = TorchSharp.torch.random.get_rng_state();
        try
        {
            using var probe = kind.Build(1, 2);
        }
        catch (Exception e) when (e is FormatException or ArgumentException)
        {
            throw new FormatException($"RnnCellKind: bad options for '{kind.Name}': {e.Message}", e);
        }
        finally
        {
            TorchSharp.torch.random.set_rng_state(state);
            state.Dispose();
        }
        return kind;
    }

    private static void CheckName(string name, string parameter)
    {
        if (string.IsNullOrEmpty(name) || name.Length > 128 || !name.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.'))
            throw new ArgumentException($"RnnCellKind: a cell kind's name is 1 to 128 letters, digits, '_', '-' or '.', got '{name}'.", parameter);
    }

    private static string Text(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    private static double? Number(IReadOnlyDictionary<string, string> options, string key)
    {
        if (!options.TryGetValue(key, out var text)) return null;
        return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double value) && double.IsFinite(value)
            ? value : throw new FormatException($"option '{key}' must be a finite number, got '{text}'.");
    }

    private static bool Flag(IReadOnlyDictionary<string, string> options, string key)
        => !options.TryGetValue(key, out var text) ? false
            : bool.TryParse(text, out bool value) ? value : throw new FormatException($"option '{key}' must be true or false, got '{text}'.");

    private static T Choice<T>(IReadOnlyDictionary<string, string> options, string key, T fallback) where T : struct, Enum
        => !options.TryGetValue(key, out var text) ? fallback
            : Enum.TryParse(text, out T value) && Enum.IsDefined(value) ? value
            : throw new FormatException($"option '{key}' must be one of {string.Join(", ", Enum.GetNames<T>())}, got '{text}'.");
}
