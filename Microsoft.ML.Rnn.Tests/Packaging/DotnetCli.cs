using System.Diagnostics;
using System.Text;

namespace Microsoft.ML.Rnn.Tests.Packaging;

/// <summary>Runs the dotnet CLI (the SDK host running the tests) as a child process and returns its output.</summary>
internal static class DotnetCli
{
    private static string Host => Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet";

    /// <summary>Runs <c>dotnet args</c> in <paramref name="workingDirectory"/>; throws with the output on a non-zero exit code.</summary>
    public static string Run(string workingDirectory, TimeSpan timeout, params string[] args)
    {
        var (exitCode, output) = RunAllowingFailure(workingDirectory, timeout, args);
        if (exitCode != 0)
            throw new InvalidOperationException($"'dotnet {string.Join(' ', args)}' exited with code {exitCode}:\n{output}");
        return output;
    }

    /// <summary>Runs <c>dotnet args</c>; returns the exit code and the interleaved standard output and error.</summary>
    public static (int ExitCode, string Output) RunAllowingFailure(string workingDirectory, TimeSpan timeout, params string[] args)
    {
        var psi = new ProcessStartInfo(Host)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in args)
            psi.ArgumentList.Add(arg);
        // The test host runs inside `dotnet test`, whose MSBuild environment (MSBuildExtensionsPath, MSBUILD* node
        // settings, ...) would leak into the child build; start it as a user's shell would.
        foreach (var name in psi.Environment.Keys.Where(k => k.StartsWith("MSBuild", StringComparison.OrdinalIgnoreCase)).ToList())
            psi.Environment.Remove(name);
        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        psi.Environment["DOTNET_NOLOGO"] = "1";
        psi.Environment["DOTNET_SKIP_FIRST_TIME_EXPERIENCE"] = "1";
        // No build server may outlive the command: it would inherit the redirected output and keep it open.
        psi.Environment["UseSharedCompilation"] = "false";
        psi.Environment["DOTNET_CLI_DO_NOT_USE_MSBUILD_SERVER"] = "1";
        // Another test process may compute at the same time on few cores: one libtorch thread each.
        psi.Environment["OMP_NUM_THREADS"] = "1";

        var output = new StringBuilder();
        using var process = new Process { StartInfo = psi };
        process.OutputDataReceived += (_, e) => { if (e.Data != null) lock (output) output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data != null) lock (output) output.AppendLine(e.Data); };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (!process.WaitForExit((int)timeout.TotalMilliseconds))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"'dotnet {string.Join(' ', args)}' did not finish within {timeout.TotalSeconds:F0} s:\n{output}");
        }
        process.WaitForExit(); // flushes the asynchronous output readers
        lock (output)
            return (process.ExitCode, output.ToString());
    }
}
