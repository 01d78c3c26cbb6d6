using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.ML.Rnn.Tests.Packaging;
using Xunit;

namespace Microsoft.ML.Rnn.Tests;

/// <summary>
/// ONNX Runtime for JavaScript, through <c>Microsoft.ML.Rnn.Tests/OnnxJs/score.mjs</c>: "node" (onnxruntime-node) or
/// "web" (onnxruntime-web, wasm, in headless Chromium). Installed with <c>npm ci</c> in that folder (and Debian's
/// <c>chromium</c> for the web runtime); see its README.
/// </summary>
internal static class JavaScriptOnnxRuntime
{
    public static string Folder => Path.Combine(PackageFixture.RepositoryRoot, "Microsoft.ML.Rnn.Tests", "OnnxJs");

    /// <summary>Why <paramref name="runtime"/> cannot run here, or null when it can.</summary>
    public static string? Missing(string runtime)
    {
        if (FindOnPath("node") is null)
            return "Node.js (node) is not on the PATH";
        if (!Directory.Exists(Path.Combine(Folder, "node_modules", runtime == "web" ? "onnxruntime-web" : "onnxruntime-node")))
            return "ONNX Runtime for JavaScript is not installed: run `npm ci` in Microsoft.ML.Rnn.Tests/OnnxJs";
        if (runtime == "web" && new[] { "chromium", "chromium-browser", "google-chrome-stable", "google-chrome" }.All(c => FindOnPath(c) is null))
            return "Chromium is not installed (apt-get install -y chromium)";
        return null;
    }

    /// <summary>A graph input: element type (as score.mjs names it), dimensions, flat values.</summary>
    public sealed record Input(string Type, long[] Dims, object[] Data);

    /// <summary>Scores <paramref name="model"/> in <paramref name="runtime"/>; every numeric graph output as flat doubles.</summary>
    public static Dictionary<string, double[]> Score(string runtime, string model, IReadOnlyDictionary<string, Input> inputs, string directory)
    {
        string id = Guid.NewGuid().ToString("N");
        string inputsPath = Path.Combine(directory, id + ".inputs.json"), outputsPath = Path.Combine(directory, id + ".outputs.json");
        var json = new JsonObject();
        foreach (var (name, input) in inputs)
            json[name] = new JsonObject { ["type"] = input.Type, ["dims"] = new JsonArray(input.Dims.Select(d => (JsonNode)d).ToArray()),
                ["data"] = new JsonArray(input.Data.Select(v => JsonValue.Create(v)).ToArray<JsonNode?>()) };
        File.WriteAllText(inputsPath, json.ToJsonString());

        var psi = new ProcessStartInfo("node") { WorkingDirectory = Folder, RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (string arg in new[] { "score.mjs", "--runtime", runtime, "--model", model, "--inputs", inputsPath, "--outputs", outputsPath })
            psi.ArgumentList.Add(arg);
        using var process = Process.Start(psi)!;
        var stderr = process.StandardError.ReadToEndAsync();
        process.StandardOutput.ReadToEnd();
        if (!process.WaitForExit(TimeSpan.FromMinutes(3)))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"score.mjs --runtime {runtime} did not finish in 3 minutes.");
        }
        Assert.True(process.ExitCode == 0, $"score.mjs --runtime {runtime} exited with {process.ExitCode}: {stderr.Result}");
        var outputs = JsonNode.Parse(File.ReadAllText(outputsPath))!.AsObject();
        return outputs.Where(o => o.Value!["type"]!.GetValue<string>() != "string").ToDictionary(o => o.Key, o => o.Value!["data"]!.AsArray().Select(v => v!.GetValueKind() == JsonValueKind.String
            ? double.Parse(v.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture) : v.GetValue<double>()).ToArray());
    }

    private static string? FindOnPath(string file) => (Environment.GetEnvironmentVariable("PATH") ?? "")
        .Split(Path.PathSeparator).Select(dir => Path.Combine(dir, file)).FirstOrDefault(File.Exists);
}

/// <summary>A test of ONNX Runtime for JavaScript (<see cref="JavaScriptOnnxRuntime"/>), skipped saying what to install where it is absent.</summary>
public sealed class JavaScriptOnnxRuntimeFactAttribute : FactAttribute
{
    public JavaScriptOnnxRuntimeFactAttribute(string runtime)
    {
        if (JavaScriptOnnxRuntime.Missing(runtime) is { } why)
            Skip = $"ONNX Runtime {(runtime == "web" ? "Web" : "for Node.js")} cannot run here: {why}.";
    }
}
