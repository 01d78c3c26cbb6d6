using Microsoft.ML.Data;

namespace Microsoft.ML.Rnn.Tests.Experiments;

/// <summary>Small real data sets for the experiment tests (the repository's data folder, linked under Data/).</summary>
internal static class ExperimentData
{
    private sealed class DigitRow
    {
        [LoadColumn(0, 63), VectorType(64)] public float[] Features = Array.Empty<float>();
        [LoadColumn(64)] public float Digit { get; set; }
    }

    /// <summary>The first <paramref name="take"/> digits as 8 steps of 8 pixels in [0, 1], label a key; cached.</summary>
    public static IDataView Digits(MLContext ml, int take)
    {
        var raw = ml.Data.LoadFromTextFile<DigitRow>(Path.Combine(AppContext.BaseDirectory, "Data", "digits.csv"), separatorChar: ',', hasHeader: true);
        raw = ml.Data.TakeRows(raw, take);
        var prep = ml.Transforms.Conversion.MapValueToKey("Label", "Digit").Append(ml.Transforms.NormalizeMinMax("Features"));
        return ml.Data.Cache(prep.Fit(raw).Transform(raw));
    }

    /// <summary>Small classifier options for digits (the experiments' base options).</summary>
    public static RnnSequenceClassifier.Options DigitOptions(int maxEpochs = 4) => new()
    {
        FeaturesPerStep = 8, HiddenSize = 16, MaxEpochs = maxEpochs, BatchSize = 32, EarlyStoppingPatience = null, EnsembleSize = 1,
    };
}
