namespace Microsoft.ML.Rnn;

/// <summary>
/// One row cut from a time-ordered series (<see cref="SeriesWindows"/>): the past steps a <see cref="SequenceRegressor"/>
/// reads and the values it learns to forecast.
/// </summary>
public sealed class SeriesWindow
{
    /// <summary>The past steps, step-major (step 0's features, then step 1's, …): the layout
    /// <see cref="RnnOptionsBase.FeaturesPerStep"/> reads.</summary>
    public float[] Past { get; set; } = [];

    /// <summary>The target's next values (the forecast horizon), from <see cref="Origin"/> on.</summary>
    public float[] Next { get; set; } = [];

    /// <summary>The series index of the first forecast value: the window's past ends just before it.</summary>
    public int Origin { get; set; }
}
