using System.Diagnostics;
using System.Globalization;
using System.Reflection;

namespace Microsoft.ML.Rnn.Tests;

/// <summary>
/// Runs Microsoft.ML.Rnn.Tests.Loader (<c>dotnet Loader.dll</c>) in a fresh process: it loads a model zip with
/// <c>new MLContext().Model.Load</c> only, transforms data and prints the requested columns, parsed back here.
/// </summary>
internal static class LoaderProcess
{
    /// <summary>Path of the Loader's built dll (recorded at build time by the test project).</summary>
    public static string LoaderPath => typeof(LoaderProcess).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
        .Single(a => a.Key == "RnnTestsLoaderPath").Value!;

    /// <summary>The dotnet host running the tests (set by the SDK), else "dotnet" from PATH.</summary>
    private static string DotnetHost => Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet";

    /// <summary>
    /// Saves <paramref name="data"/> as a binary IDataView, runs the Loader on <paramref name="modelPath"/> and returns,
    /// for each of <paramref name="columns"/>, one float array per row (keys as their raw 1-based value).
    /// <paramref name="extraAssemblies"/> are loaded by path first (only for test-assembly components).
    /// </summary>
    public static Dictionary<string, List<float[]>> Run(MLContext mlContext, string modelPath, IDataView data,
        IReadOnlyList<string> columns, params string[] extraAssemblies)
    {
        string dataPath = Path.Combine(Path.GetDirectoryName(modelPath)!, Path.GetFileNameWithoutExtension(modelPath) + ".idv");
        using (var stream = File.Create(dataPath))
            mlContext.Data.SaveAsBinary(data, stream);

        var psi = new ProcessStartInfo(DotnetHost) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(LoaderPath);
        psi.ArgumentList.Add(modelPath);
        psi.ArgumentList.Add(dataPath);
        psi.ArgumentList.Add(string.Join(',', columns));
        foreach (var assembly in extraAssemblies)
            psi.ArgumentList.Add(assembly);
        using var process = Process.Start(psi)!;
        var stderrTask = process.StandardError.ReadToEndAsync();
        string stdout = process.StandardOutput.ReadToEnd();
        if (!process.WaitForExit(120_000))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException("The Loader process did not finish within 120 s.");
        }
        string stderr = stderrTask.Result;
        if (process.ExitCode != 0)
            throw new LoaderFailedException(process.ExitCode, stderr, stdout);

        var result = columns.ToDictionary(c => c, _ => new List<float[]>());
        foreach (var line in stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var parts = line.TrimEnd('\r').Split('\t');
            if (parts.Length != 3 || !result.TryGetValue(parts[0], out var rows))
                throw new FormatException($"Unexpected Loader output line: '{line}'.");
            rows.Add(parts[2].Length == 0 ? Array.Empty<float>()
                : parts[2].Split(' ').Select(v => float.Parse(v, CultureInfo.InvariantCulture)).ToArray());
        }
        return result;
    }
}

/// <summary>The Loader process exited with an error; <see cref="Exception.Message"/> holds its standard error.</summary>
internal sealed class LoaderFailedException(int exitCode, string stderr, string stdout)
    : Exception($"Loader exited with code {exitCode}:\n{stderr}\n{stdout}")
{
    public int ExitCode { get; } = exitCode;
}
