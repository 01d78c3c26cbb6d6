namespace Microsoft.ML.Rnn;

/// <summary>Checks the shared fields of <see cref="RnnOptionsBase"/>; messages name the field and echo the value.</summary>
internal static class RnnOptionsValidation
{
    /// <summary>The largest ensemble a component trains.</summary>
    public const int MaxEnsembleSize = 64;

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> unless 1 ≤ <paramref name="ensembleSize"/> ≤ <see cref="MaxEnsembleSize"/>.</summary>
    public static void CheckEnsembleSize(int ensembleSize, string component)
    {
        if (ensembleSize is < 1 or > MaxEnsembleSize)
            throw new ArgumentOutOfRangeException("EnsembleSize", ensembleSize,
                $"{component}: EnsembleSize must be between 1 and {MaxEnsembleSize}, got {ensembleSize}.");
    }

    /// <summary>Throws <see cref="ArgumentException"/> / <see cref="ArgumentOutOfRangeException"/> for the first invalid field.</summary>
    /// <param name="options">The options to check.</param>
    /// <param name="component">Component name prefixing messages, e.g. "RnnSequenceClassifier".</param>
    /// <param name="needsLabel">False for components that can train without a label.</param>
    public static void Validate(RnnOptionsBase options, string component, bool needsLabel = true)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (string.IsNullOrWhiteSpace(options.FeatureColumnName))
            throw new ArgumentException($"{component}: FeatureColumnName must be a column name.", nameof(options.FeatureColumnName));
        if (needsLabel && string.IsNullOrWhiteSpace(options.LabelColumnName))
            throw new ArgumentException($"{component}: LabelColumnName must be a column name.", nameof(options.LabelColumnName));
        AtLeast(options.FeaturesPerStep, 1, nameof(options.FeaturesPerStep), component);
        AtLeast(options.EmbeddingSize, 1, nameof(options.EmbeddingSize), component);
        AtLeast(options.CharacterFeatures, 0, nameof(options.CharacterFeatures), component);
        AtLeast(options.MinimumWordCount, 1, nameof(options.MinimumWordCount), component);
        AtLeast(options.HiddenSize, 1, nameof(options.HiddenSize), component);
        AtLeast(options.NumberOfLayers, 1, nameof(options.NumberOfLayers), component);
        AtLeast(options.MaxEpochs, 1, nameof(options.MaxEpochs), component);
        AtLeast(options.BatchSize, 1, nameof(options.BatchSize), component);
        if (options.NumberOfThreads is int threads)
            AtLeast(threads, 1, nameof(options.NumberOfThreads), component);
        if (options.MaxSequenceLength is int maxLength)
            AtLeast(maxLength, 1, nameof(options.MaxSequenceLength), component);
        if (options.EarlyStoppingPatience is int patience)
            AtLeast(patience, RnnOptionsBase.AutomaticPatience, nameof(options.EarlyStoppingPatience), component);
        Known(options.BidirectionalStacking, nameof(options.BidirectionalStacking), component);
        Known(options.LearningRateSchedule, nameof(options.LearningRateSchedule), component);
        Known(options.Initialization, nameof(options.Initialization), component);
        if (options.FusedKernels is { } policy)
            Known(policy, nameof(options.FusedKernels), component);
        if (!(options.Dropout >= 0 && options.Dropout < 1))
            throw new ArgumentOutOfRangeException(nameof(options.Dropout), options.Dropout, $"{component}: Dropout must be in [0, 1), got {options.Dropout}.");
        if (!(options.LearningRate > 0) || float.IsInfinity(options.LearningRate))
            throw new ArgumentOutOfRangeException(nameof(options.LearningRate), options.LearningRate, $"{component}: LearningRate must be a positive number, got {options.LearningRate}.");
        if (!(options.MaxGradientNorm >= 0))
            throw new ArgumentOutOfRangeException(nameof(options.MaxGradientNorm), options.MaxGradientNorm, $"{component}: MaxGradientNorm must be at least 0, got {options.MaxGradientNorm}.");
        if (!(options.ValidationFraction >= 0 && options.ValidationFraction < 1))
            throw new ArgumentOutOfRangeException(nameof(options.ValidationFraction), options.ValidationFraction, $"{component}: ValidationFraction must be in [0, 1), got {options.ValidationFraction}.");
        if (options.Cell is null)
            throw new ArgumentNullException(nameof(options.Cell), $"{component}: Cell must be a cell kind (RnnCellKind.Lstm(), RnnCellKind.Gru(), RnnCellKind.FromType(...), ...), got null.");
        Known(options.Device, nameof(options.Device), component);
        if (options.WordVectorsFile is { } file && !File.Exists(file))
            throw new ArgumentException($"{component}: WordVectorsFile '{file}' does not exist.", nameof(options.WordVectorsFile));
    }

    /// <summary>Fails naming the option when <paramref name="value"/> is not one of <typeparamref name="T"/>'s values (a cast integer).</summary>
    private static void Known<T>(T value, string name, string component) where T : struct, Enum
    {
        if (!Enum.IsDefined(value))
            throw new ArgumentOutOfRangeException(name, value, $"{component}: unknown {name} {value}; expected one of {string.Join(", ", Enum.GetNames<T>())}.");
    }

    private static void AtLeast(int value, int min, string name, string component)
    {
        if (value < min)
            throw new ArgumentOutOfRangeException(name, value, $"{component}: {name} must be at least {min}, got {value}.");
    }
}
