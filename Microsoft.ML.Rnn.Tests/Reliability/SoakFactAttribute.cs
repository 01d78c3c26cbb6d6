using Xunit;

namespace Microsoft.ML.Rnn.Tests.Reliability;

/// <summary>
/// A long-running reliability test (trait Category=Soak), skipped unless the environment variable RNN_SOAK is 1, so
/// the default <c>dotnet test</c> stays fast. Run them with
/// <c>RNN_SOAK=1 dotnet test Rnn.MLNet.sln --filter Category=Soak</c>.
/// </summary>
public sealed class SoakFactAttribute : FactAttribute
{
    /// <summary>Skips the test unless RNN_SOAK=1.</summary>
    public SoakFactAttribute()
    {
        if (Environment.GetEnvironmentVariable("RNN_SOAK") != "1")
            Skip = "Soak test: run with RNN_SOAK=1 dotnet test Rnn.MLNet.sln --filter Category=Soak";
    }
}
