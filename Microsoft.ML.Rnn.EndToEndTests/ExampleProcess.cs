using System.Diagnostics;
using System.Reflection;
using System.Text;

namespace Microsoft.ML.Rnn.EndToEndTests;

/// <summary>Runs one of the built example apps (<c>dotnet App.dll args</c>) as a separate process.</summary>
internal static class ExampleProcess
{
    /// <summary>examples/DigitsRows, built with the tests.</summary>
    public static string DigitsRows => Metadata("DigitsRowsPath");

    /// <summary>examples/HmLstm, built with the tests.</summary>
    public static string HmLstm => Metadata("HmLstmPath");

    /// <summary>examples/EchoRnn, built with the tests.</summary>
    public static string EchoRnn => Metadata("EchoRnnPath");

    /// <summary>examples/SeriesForecast, built with the tests.</summary>
    public static string SeriesForecast => Metadata("SeriesForecastPath");

    /// <summary>examples/ProductionApp, built with the tests.</summary>
    public static string ProductionApp => Metadata("ProductionAppPath");

    /// <summary>examples/OnnxProductionApp (ONNX Runtime only), built with the tests.</summary>
    public static string OnnxProductionApp => Metadata("OnnxProductionAppPath");

    private static string Host => Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet";

    /// <summary>The exit code, standard output and standard error of <c>dotnet <paramref name="app"/> args</c> run in <paramref name="workingDirectory"/>.</summary>
    public static (int ExitCode, string Output, string Error) Run(string app, string workingDirectory, params string[] args)
        => Run(app, workingDirectory, new Dictionary<string, string>(), args);

    /// <summary>As <see cref="Run(string, string, string[])"/>, with <paramref name="environment"/> set in the child process.</summary>
    public static (int ExitCode, string Output, string Error) Run(string app, string workingDirectory, IReadOnlyDictionary<string, string> environment,
        params string[] args)
    {
        var psi = new ProcessStartInfo(Host)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add(app);
        foreach (var arg in args)
            psi.ArgumentList.Add(arg);
        // Other test processes may compute at the same time on few cores: one libtorch thread per process.
        psi.Environment["OMP_NUM_THREADS"] = "1";
        // `dotnet publish` from a test: the test host's MSBuild settings must not leak into the child build, and no
        // build server may outlive it.
        foreach (var name in psi.Environment.Keys.Where(k => k.StartsWith("MSBuild", StringComparison.OrdinalIgnoreCase)).ToList())
            psi.Environment.Remove(name);
        psi.Environment["UseSharedCompilation"] = "false";
        psi.Environment["DOTNET_CLI_DO_NOT_USE_MSBUILD_SERVER"] = "1";
        foreach (var (name, value) in environment)
            psi.Environment[name] = value;
        // The predictions are compared bit for bit across processes: this relies on the default fused-kernel policy
        // (VerifyWithoutTiming), under which every process takes the same way of computing each kernel.
        psi.Environment.Remove("MICROSOFT_ML_RNN_FUSED_KERNELS");
        var output = new StringBuilder();
        var error = new StringBuilder();
        using var process = new Process { StartInfo = psi };
        process.OutputDataReceived += (_, e) => { if (e.Data != null) lock (output) output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data != null) lock (error) error.AppendLine(e.Data); };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (!process.WaitForExit(180_000))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{Path.GetFileName(app)} did not finish within 180 s:\n{output}\n{error}");
        }
        process.WaitForExit(); // flushes the asynchronous readers
        return (process.ExitCode, output.ToString(), error.ToString());
    }

    private static string Metadata(string key) => typeof(ExampleProcess).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
        .Single(a => a.Key == key).Value!;
}
