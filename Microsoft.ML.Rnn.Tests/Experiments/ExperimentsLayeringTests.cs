using Xunit;

namespace Microsoft.ML.Rnn.Tests.Experiments;

/// <summary>Experiments are the top layer: nothing outside their folder (their catalog entry is in it) names their namespace, not even fully qualified.</summary>
public sealed class ExperimentsLayeringTests
{
    [Fact]
    public void NothingOutsideTheExperimentsFolderNamesTheirNamespace()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Rnn.MLNet.sln"))) dir = dir.Parent;
        Assert.NotNull(dir);
        string source = Path.Combine(dir.FullName, "Microsoft.ML.Rnn");
        var users = Directory.GetFiles(source, "*.cs", SearchOption.AllDirectories)
            .Where(f => !Path.GetRelativePath(source, f).StartsWith("Experiments" + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .Where(f => File.ReadAllText(f).Contains("Microsoft.ML.Rnn.Experiments", StringComparison.Ordinal))
            .Select(f => Path.GetFileName(f))
            .ToList();
        Assert.Empty(users);
    }
}
