namespace Microsoft.ML.Rnn.Experiments;

/// <summary>
/// The options an experiment searches, by name, each with its range. The names are the option fields they set
/// (<see cref="RnnOptionsBase.HiddenSize"/>, <see cref="RnnOptionsBase.LearningRate"/>, ...; for the encoder experiment
/// also "Trainer", "L2Regularization", "L1Regularization"). A parameter not in the space keeps the value of the
/// experiment's base options. Narrow or widen a dimension by setting it (<c>space.HiddenSize = SearchParameter.Int(8, 32)</c>,
/// or fluently <c>space.With("HiddenSize", ...)</c>), fix it with a one-value choice, drop it with <see cref="Remove"/>.
/// </summary>
public sealed class RnnSearchSpace
{
    private readonly List<KeyValuePair<string, SearchParameter>> _parameters = new();

    /// <summary>The parameters in sampling order.</summary>
    public IReadOnlyList<KeyValuePair<string, SearchParameter>> Parameters => _parameters;

    /// <summary>Number of dimensions.</summary>
    public int Count => _parameters.Count;

    /// <summary>Parameter names in sampling order.</summary>
    public IEnumerable<string> Names => _parameters.Select(p => p.Key);

    /// <summary>The parameter named <paramref name="name"/>, or null.</summary>
    public SearchParameter? this[string name]
    {
        get => _parameters.FirstOrDefault(p => p.Key == name).Value;
        set
        {
            if (value is null) Remove(name);
            else With(name, value);
        }
    }

    /// <summary>Adds or replaces a parameter (a replaced one keeps its position); returns this space.</summary>
    public RnnSearchSpace With(string name, SearchParameter parameter)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(parameter);
        int index = _parameters.FindIndex(p => p.Key == name);
        if (index >= 0) _parameters[index] = new(name, parameter);
        else _parameters.Add(new(name, parameter));
        return this;
    }

    /// <summary>Removes a parameter (its base-options value is used); returns this space.</summary>
    public RnnSearchSpace Remove(string name)
    {
        _parameters.RemoveAll(p => p.Key == name);
        return this;
    }

    /// <summary>True when the space has a parameter named <paramref name="name"/>.</summary>
    public bool Contains(string name) => _parameters.Any(p => p.Key == name);

    /// <summary>Recurrent cell kind (<see cref="RnnCellKind"/> values); default {lstm, gru}.</summary>
    public SearchParameter? Cell { get => this[nameof(Cell)]; set => this[nameof(Cell)] = value; }

    /// <summary>Hidden size; default [16, 128] log.</summary>
    public SearchParameter? HiddenSize { get => this[nameof(HiddenSize)]; set => this[nameof(HiddenSize)] = value; }

    /// <summary>Stacked layers; default [1, 2].</summary>
    public SearchParameter? NumberOfLayers { get => this[nameof(NumberOfLayers)]; set => this[nameof(NumberOfLayers)] = value; }

    /// <summary>Both directions; default {false, true}.</summary>
    public SearchParameter? Bidirectional { get => this[nameof(Bidirectional)]; set => this[nameof(Bidirectional)] = value; }

    /// <summary>Dropout; default [0, 0.5].</summary>
    public SearchParameter? Dropout { get => this[nameof(Dropout)]; set => this[nameof(Dropout)] = value; }

    /// <summary>Adam learning rate; default [3e-4, 3e-2] log.</summary>
    public SearchParameter? LearningRate { get => this[nameof(LearningRate)]; set => this[nameof(LearningRate)] = value; }

    /// <summary>Mini-batch size; default {16, 32, 64}.</summary>
    public SearchParameter? BatchSize { get => this[nameof(BatchSize)]; set => this[nameof(BatchSize)] = value; }

    /// <summary>Embedding size (key input only; dropped for Single input); default [16, 128] log.</summary>
    public SearchParameter? EmbeddingSize { get => this[nameof(EmbeddingSize)]; set => this[nameof(EmbeddingSize)] = value; }

    /// <summary>The recurrent dimensions every experiment starts from.</summary>
    public static RnnSearchSpace CreateDefault() => new RnnSearchSpace()
        .With(nameof(Cell), SearchParameter.Choice(RnnCellKind.Lstm(), RnnCellKind.Gru()))
        .With(nameof(HiddenSize), SearchParameter.Int(16, 128, logScale: true))
        .With(nameof(NumberOfLayers), SearchParameter.Int(1, 2))
        .With(nameof(Bidirectional), SearchParameter.Choice(false, true))
        .With(nameof(Dropout), SearchParameter.Float(0, 0.5))
        .With(nameof(LearningRate), SearchParameter.Float(3e-4, 3e-2, logScale: true))
        .With(nameof(BatchSize), SearchParameter.Choice(16, 32, 64))
        .With(nameof(EmbeddingSize), SearchParameter.Int(16, 128, logScale: true));

    /// <summary>Maps a unit point (one coordinate per parameter, in order) to named values.</summary>
    internal Dictionary<string, object> Decode(IReadOnlyList<double> unit)
    {
        if (unit.Count != Count)
            throw new ArgumentException($"RnnSearchSpace: expected a point of {Count} coordinates, got {unit.Count}.", nameof(unit));
        var values = new Dictionary<string, object>();
        for (int i = 0; i < Count; i++) values[_parameters[i].Key] = _parameters[i].Value.FromUnit(unit[i]);
        return values;
    }

    /// <summary>Formats named values as invariant text with each parameter's format.</summary>
    internal Dictionary<string, string> Format(IReadOnlyDictionary<string, object> values)
        => _parameters.Where(p => values.ContainsKey(p.Key)).ToDictionary(p => p.Key, p => p.Value.Format(values[p.Key]));

    /// <summary>A copy (experiments run on a snapshot, so a user editing the space mid-run changes nothing).</summary>
    internal RnnSearchSpace Clone()
    {
        var copy = new RnnSearchSpace();
        copy._parameters.AddRange(_parameters);
        return copy;
    }

    /// <inheritdoc/>
    public override string ToString() => string.Join(", ", _parameters.Select(p => $"{p.Key} {p.Value}"));
}
