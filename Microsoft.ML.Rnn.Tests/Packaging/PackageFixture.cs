using System.Reflection;

namespace Microsoft.ML.Rnn.Tests.Packaging;

/// <summary>
/// Packs Microsoft.ML.Rnn and its companion Microsoft.ML.Rnn.OnnxRuntime once (from the build the tests run against,
/// <c>dotnet pack --no-build</c>) into a temporary local feed, under a version unique to this run so that the NuGet
/// cache never serves an older build of the packages. Removes the feed and that version's folders from the NuGet cache
/// afterwards.
/// </summary>
public sealed class PackageFixture : IDisposable
{
    /// <summary>Repository root recorded at build time.</summary>
    public static string RepositoryRoot => Metadata("RnnRepositoryRoot");

    /// <summary>Configuration the tests (and so the library) were built in.</summary>
    public static string Configuration => Metadata("RnnBuildConfiguration");

    /// <summary>Temporary folder holding the feed and the consumer app; outside the repository tree.</summary>
    public string WorkDirectory { get; }

    /// <summary>The local feed folder holding the packed .nupkg.</summary>
    public string FeedDirectory { get; }

    /// <summary>The package version packed for this run.</summary>
    public string Version { get; }

    /// <summary>Full path of the packed .nupkg.</summary>
    public string PackagePath { get; }

    /// <summary>Full path of the packed companion .nupkg (Microsoft.ML.Rnn.OnnxRuntime).</summary>
    public string CompanionPackagePath { get; }

    /// <summary>Output of <c>dotnet pack</c>.</summary>
    public string PackOutput { get; }

    /// <summary>The packages packed for this run.</summary>
    private static readonly string[] PackageIds = ["Microsoft.ML.Rnn", "Microsoft.ML.Rnn.OnnxRuntime"];

    public PackageFixture()
    {
        WorkDirectory = Path.Combine(Path.GetTempPath(), "rnn-package-test-" + Guid.NewGuid().ToString("N")[..12]);
        FeedDirectory = Path.Combine(WorkDirectory, "feed");
        Directory.CreateDirectory(FeedDirectory);
        Version = $"0.0.0-test.{DateTime.UtcNow:yyyyMMddHHmmss}.{Environment.ProcessId}";
        PackOutput = "";
        foreach (string id in PackageIds)
        {
            var project = Path.Combine(RepositoryRoot, id, id + ".csproj");
            PackOutput += DotnetCli.Run(RepositoryRoot, TimeSpan.FromMinutes(3), "pack", project, "-c", Configuration, "--no-build",
                "-o", FeedDirectory, $"-p:PackageVersion={Version}", $"-p:NuspecOutputPath={Path.Combine(WorkDirectory, "nuspec", id)}{Path.DirectorySeparatorChar}",
                "-nodeReuse:false");
            string packed = Path.Combine(FeedDirectory, $"{id}.{Version}.nupkg");
            if (!File.Exists(packed))
                throw new InvalidOperationException($"dotnet pack did not produce {packed}:\n{PackOutput}");
        }
        PackagePath = Path.Combine(FeedDirectory, $"Microsoft.ML.Rnn.{Version}.nupkg");
        CompanionPackagePath = Path.Combine(FeedDirectory, $"Microsoft.ML.Rnn.OnnxRuntime.{Version}.nupkg");
    }

    /// <summary>The NuGet global packages folder (NUGET_PACKAGES or the user default).</summary>
    public static string GlobalPackagesFolder =>
        Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } folder ? folder
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");

    public void Dispose()
    {
        TryDelete(WorkDirectory);
        foreach (string id in PackageIds)
        {
            string packageFolder = Path.Combine(GlobalPackagesFolder, id.ToLowerInvariant());
            TryDelete(Path.Combine(packageFolder, Version.ToLowerInvariant()));
            if (Directory.Exists(packageFolder) && !Directory.EnumerateFileSystemEntries(packageFolder).Any())
                TryDelete(packageFolder); // only this run's version was there
        }
    }

    private static void TryDelete(string directory)
    {
        try
        {
            if (Directory.Exists(directory))
                Directory.Delete(directory, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temporary folder is harmless; never fail a passing test on cleanup.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    private static string Metadata(string key) => typeof(PackageFixture).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
        .Single(a => a.Key == key).Value!;
}
