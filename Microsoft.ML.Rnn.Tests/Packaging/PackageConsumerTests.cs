using System.IO.Compression;
using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using System.Text;
using System.Xml.Linq;
using Microsoft.ML.Runtime;
using Xunit;

namespace Microsoft.ML.Rnn.Tests.Packaging;

/// <summary>
/// The NuGet package as a user gets it: its contents, and a fresh console app outside the repository that references
/// it from a local folder next to each ML.NET version the package supports, builds (the package's build-transitive
/// targets apply the libstdc++ fix), trains, saves, converts to ONNX, and loads and scores in another process.
/// </summary>
public class PackageConsumerTests(PackageFixture package) : IClassFixture<PackageFixture>
{
    /// <summary>
    /// The ML.NET releases the package supports, each with the ONNX packages of that release (converter, transformer,
    /// runtime): what a user's application references next to the package.
    /// </summary>
    private static readonly Dictionary<string, (string OnnxConverter, string OnnxTransformer, string OnnxRuntime)> SupportedMLNet = new()
    {
        ["5.0.1"] = ("0.23.1", "5.0.1", "1.31.1"),
        ["6.0.0"] = ("0.24.0", "6.0.0", "1.32.0"),
    };

    /// <summary>A central package version of the repository (Directory.Packages.props).</summary>
    private static string RepositoryPackageVersion(string id) =>
        XDocument.Load(Path.Combine(PackageFixture.RepositoryRoot, "Directory.Packages.props"))
            .Descendants("PackageVersion").Single(e => (string?)e.Attribute("Include") == id).Attribute("Version")!.Value;

    /// <summary>
    /// The range of ML.NET versions the library declares (RnnSupportedMLNetRange in Directory.Packages.props, written
    /// "[lowest,above)"): its bounds, and the form NuGet writes into the nuspec ("[5.0.1, 6.1.0)").
    /// </summary>
    private static (Version Lowest, Version Above, string NuGetForm) DeclaredMLNetRange()
    {
        string declared = XDocument.Load(Path.Combine(PackageFixture.RepositoryRoot, "Directory.Packages.props"))
            .Descendants("RnnSupportedMLNetRange").Single().Value;
        var match = System.Text.RegularExpressions.Regex.Match(declared, @"^\[([0-9.]+),\s*([0-9.]+)\)$");
        Assert.True(match.Success, $"RnnSupportedMLNetRange '{declared}': expected [lowest,above)");
        var (lowest, above) = (Version.Parse(match.Groups[1].Value), Version.Parse(match.Groups[2].Value));
        static string Three(Version v) => $"{v.Major}.{v.Minor}.{Math.Max(v.Build, 0)}";
        return (lowest, above, $"[{Three(lowest)}, {Three(above)})");
    }

    [Fact]
    public void DeclaredMLNetRangeHoldsEverySupportedVersionAndTheRepositoryBuildsOnOneOfThem()
    {
        var range = DeclaredMLNetRange();
        foreach (var version in SupportedMLNet.Keys.Select(Version.Parse))
            Assert.True(version >= range.Lowest && version < range.Above, $"ML.NET {version} is tested but outside the declared range {range.NuGetForm}");
        Assert.Equal(range.Lowest, SupportedMLNet.Keys.Select(Version.Parse).Min()); // the lower bound itself is tested
        // The repository builds on one supported release, with that release's ONNX packages.
        string mlnet = RepositoryPackageVersion("Microsoft.ML");
        Assert.True(SupportedMLNet.TryGetValue(mlnet, out var onnx), $"the repository builds on ML.NET {mlnet}, which the consumer test does not run");
        Assert.Equal(onnx, (RepositoryPackageVersion("Microsoft.ML.OnnxConverter"), RepositoryPackageVersion("Microsoft.ML.OnnxTransformer"),
            RepositoryPackageVersion("Microsoft.ML.OnnxRuntime")));
    }

    [Fact]
    public void PackageHoldsLibraryDocsReadmeAndBuildTransitiveTargetsOnly()
    {
        using var zip = ZipFile.OpenRead(package.PackagePath);
        var entries = zip.Entries.Select(e => e.FullName)
            .Where(n => !n.StartsWith("_rels/") && !n.StartsWith("package/") && n != "[Content_Types].xml")
            .OrderBy(n => n, StringComparer.Ordinal).ToArray();
        Assert.Equal(new[]
        {
            "buildTransitive/MarkGlibcxxNeedWeak.cs",
            "buildTransitive/Microsoft.ML.Rnn.targets",
            "lib/net10.0/Microsoft.ML.Rnn.dll",
            "lib/net10.0/Microsoft.ML.Rnn.xml",
            "Microsoft.ML.Rnn.nuspec",
            "README.md",
        }.OrderBy(n => n, StringComparer.Ordinal), entries);

        // The XML docs document the public surface (a sample of members users meet first).
        var docs = XDocument.Load(zip.GetEntry("lib/net10.0/Microsoft.ML.Rnn.xml")!.Open());
        var documented = docs.Descendants("member").Select(m => (string)m.Attribute("name")!).ToHashSet();
        Assert.Contains("T:Microsoft.ML.Rnn.RnnSequenceClassifier", documented);
        Assert.Contains("T:Microsoft.ML.Rnn.Core.RnnCell", documented);
        Assert.Contains("F:Microsoft.ML.Rnn.RnnOptionsBase.HiddenSize", documented);

        // The targets file shipped is the repository's fix, pointing at the task source next to it.
        string targets = Read(zip, "buildTransitive/Microsoft.ML.Rnn.targets");
        Assert.Contains("RnnFixLibTorchSharpForOldLibStdCxx", targets);
        Assert.Contains("$(MSBuildThisFileDirectory)MarkGlibcxxNeedWeak.cs", targets);
        Assert.Equal(File.ReadAllText(Path.Combine(PackageFixture.RepositoryRoot, "build", "MarkGlibcxxNeedWeak.cs")),
            Read(zip, "buildTransitive/MarkGlibcxxNeedWeak.cs"));

        // Dependencies: the real Microsoft.ML package (no publicized copy travels) and TorchSharp, nothing else.
        var nuspec = XDocument.Parse(Read(zip, "Microsoft.ML.Rnn.nuspec"));
        XNamespace ns = nuspec.Root!.Name.Namespace;
        var dependencies = nuspec.Descendants(ns + "dependency").Select(d => (string)d.Attribute("id")!).OrderBy(x => x).ToArray();
        Assert.Equal(new[] { "Microsoft.ML", "TorchSharp" }, dependencies);
        // Microsoft.ML as the declared range of supported versions, not the version the repository builds on.
        Assert.Equal(DeclaredMLNetRange().NuGetForm, (string?)nuspec.Descendants(ns + "dependency")
            .Single(d => (string?)d.Attribute("id") == "Microsoft.ML").Attribute("version"));
        Assert.Equal("README.md", (string?)nuspec.Descendants(ns + "readme").SingleOrDefault());
    }

    [Fact]
    public void CompanionPackageHoldsItsLibraryAndDependsOnThePackageAndTheLowestSupportedOnnxRuntime()
    {
        using var zip = ZipFile.OpenRead(package.CompanionPackagePath);
        var files = zip.Entries.Select(e => e.FullName).Where(n => n.StartsWith("lib/")).OrderBy(n => n, StringComparer.Ordinal).ToArray();
        Assert.Equal(new[] { "lib/net10.0/Microsoft.ML.Rnn.OnnxRuntime.dll", "lib/net10.0/Microsoft.ML.Rnn.OnnxRuntime.xml" }, files);

        // The same version of the package, and ONNX Runtime from the release of the lowest supported ML.NET on, so an
        // application on that ML.NET keeps its runtime (a higher floor would fail its restore with NU1605).
        var nuspec = XDocument.Parse(Read(zip, "Microsoft.ML.Rnn.OnnxRuntime.nuspec"));
        XNamespace ns = nuspec.Root!.Name.Namespace;
        var dependencies = nuspec.Descendants(ns + "dependency").ToDictionary(d => (string)d.Attribute("id")!, d => (string)d.Attribute("version")!);
        Assert.Equal(2, dependencies.Count);
        Assert.Equal(package.Version, dependencies["Microsoft.ML.Rnn"]);
        string lowestRuntime = SupportedMLNet[SupportedMLNet.Keys.MinBy(Version.Parse)!].OnnxRuntime;
        Assert.Equal(lowestRuntime, dependencies["Microsoft.ML.OnnxRuntime"]);
    }

    [Fact]
    public void PackedAssemblyReferencesTheRealSignedMLNetAssemblies()
    {
        using var zip = ZipFile.OpenRead(package.PackagePath);
        using var dll = new MemoryStream();
        using (var entry = zip.GetEntry("lib/net10.0/Microsoft.ML.Rnn.dll")!.Open())
            entry.CopyTo(dll);
        dll.Position = 0;
        using var pe = new PEReader(dll);
        var reader = pe.GetMetadataReader();
        var references = reader.AssemblyReferences.Select(h => reader.GetAssemblyReference(h))
            .ToDictionary(r => reader.GetString(r.Name), r => r.GetAssemblyName());

        // Compiled against publicized copies, the assembly must still bind to the identities of the real ones.
        foreach (var real in new[] { typeof(IHostEnvironment).Assembly.GetName(), typeof(MLContext).Assembly.GetName() })
        {
            Assert.True(references.TryGetValue(real.Name!, out var reference), $"no reference to {real.Name}");
            Assert.Equal(real.GetPublicKeyToken(), reference!.GetPublicKeyToken());
            Assert.Equal(real.Version, reference.Version);
        }
    }

    [Fact]
    public void FreshConsoleAppOnEachSupportedMLNetTrainsSavesConvertsAndScoresInAnotherProcess()
    {
        var outputs = new Dictionary<string, string>();
        foreach (string mlnet in SupportedMLNet.Keys)
        {
            string app = Path.Combine(package.WorkDirectory, $"ConsumerApp-mlnet-{mlnet}");
            Directory.CreateDirectory(app);
            WriteConsumerApp(app, mlnet);

            // Warnings are errors in the app: a range that excluded this ML.NET would fail the build (NU1608).
            string build = DotnetCli.Run(app, TimeSpan.FromMinutes(5), "build", "-c", "Release", "-nodeReuse:false", "--disable-build-servers");
            string output = outputs[mlnet] = Path.Combine(app, "bin", "Release", "net10.0");
            Assert.True(File.Exists(Path.Combine(output, "ConsumerApp.dll")), $"ML.NET {mlnet}: {build}");
            AssertLibStdCxxFixApplied(output, expectPatch: true);

            // Train, save and convert in one process; load the zip and the ONNX file and score them in another.
            Assert.Contains($"ML.NET {mlnet}: trained, saved model.zip and model.onnx", RunApp(output, output, mlnet, "train"));
            Assert.Contains($"ML.NET {mlnet}: the reloaded zip scored 40 rows identically, the ONNX model within 1e-5, " +
                "the zip through ONNX Runtime within 1e-5", RunApp(output, output, mlnet, "score"));
        }

        // A zip saved under one supported ML.NET loads and scores the same under every other (and so does its ONNX file).
        foreach (var (saved, savedOutput) in outputs)
            foreach (var (loading, loadingOutput) in outputs.Where(o => o.Key != saved))
                Assert.Contains($"ML.NET {loading}: the reloaded zip scored 40 rows identically",
                    RunApp(loadingOutput, savedOutput, $"{loading} (a zip saved by ML.NET {saved})", "score"));

        // Once, on the ML.NET the repository builds on: a second build over the same output is idempotent (the entry
        // is already weak), and the documented switch turns the step off (a separate output folder, so TorchSharp
        // copies a fresh library there).
        string current = RepositoryPackageVersion("Microsoft.ML");
        string currentApp = Path.Combine(package.WorkDirectory, $"ConsumerApp-mlnet-{current}");
        DotnetCli.Run(currentApp, TimeSpan.FromMinutes(3), "build", "-c", "Release", "-nodeReuse:false", "--disable-build-servers");
        AssertLibStdCxxFixApplied(outputs[current], expectPatch: true);
        string unpatched = Path.Combine(package.WorkDirectory, "unpatched");
        DotnetCli.Run(currentApp, TimeSpan.FromMinutes(3), "build", "-c", "Release", "-o", unpatched, "-p:RnnSkipLibStdCxxFix=true",
            "-nodeReuse:false", "--disable-build-servers");
        AssertLibStdCxxFixApplied(unpatched, expectPatch: false);

        // dotnet publish gets the fix too, and the published app runs.
        string published = Path.Combine(package.WorkDirectory, "published");
        DotnetCli.Run(currentApp, TimeSpan.FromMinutes(3), "publish", "-c", "Release", "-o", published, "-nodeReuse:false", "--disable-build-servers");
        AssertLibStdCxxFixApplied(published, expectPatch: true);
        Assert.Contains($"ML.NET {current}: trained", RunApp(published, published, current, "train"));
    }

    /// <summary>
    /// Runs the consumer app built in <paramref name="folder"/> with one argument, in <paramref name="workingDirectory"/>
    /// (where it writes or reads model.zip, model.onnx and scores.txt); fails naming the ML.NET version.
    /// </summary>
    private static string RunApp(string folder, string workingDirectory, string mlnet, string mode)
    {
        var (exitCode, run) = DotnetCli.RunAllowingFailure(workingDirectory, TimeSpan.FromMinutes(3), Path.Combine(folder, "ConsumerApp.dll"), mode);
        Assert.True(exitCode == 0, $"ML.NET {mlnet}: consumer app '{mode}' exited with {exitCode}:\n{run}");
        return run;
    }

    /// <summary>
    /// The package's buildTransitive targets must have run on the app's build: where the host's libstdc++ lacks
    /// GLIBCXX_3.4.32 (and <paramref name="expectPatch"/>) the output copy of libLibTorchSharp.so differs from the
    /// NuGet cache's copy in the version-need flag only (one byte: 0 to 2); otherwise it is unchanged. The cache copy
    /// is never modified.
    /// </summary>
    private static void AssertLibStdCxxFixApplied(string outputDirectory, bool expectPatch)
    {
        var copies = Directory.GetFiles(outputDirectory, "libLibTorchSharp.so", SearchOption.AllDirectories);
        Assert.NotEmpty(copies);
        string cached = Directory.GetFiles(Path.Combine(PackageFixture.GlobalPackagesFolder, "torchsharp"), "libLibTorchSharp.so",
            SearchOption.AllDirectories).Single(p => p.Contains("0.107.0") && p.Contains("linux-x64"));
        byte[] original = File.ReadAllBytes(cached);
        Assert.Equal(0, FlagOfVersionNeed(original)); // the cache keeps the package as shipped

        bool hostLacksVersion = HostLibStdCxx() is { } lib && !Contains(File.ReadAllBytes(lib), "GLIBCXX_3.4.32\0"u8.ToArray());
        bool patch = expectPatch && hostLacksVersion;
        foreach (var copy in copies)
        {
            byte[] patched = File.ReadAllBytes(copy);
            Assert.Equal(original.Length, patched.Length);
            int differing = original.Zip(patched).Count(p => p.First != p.Second);
            Assert.Equal(patch ? 1 : 0, differing);
            Assert.Equal(patch ? 2 : 0, FlagOfVersionNeed(patched)); // VER_FLG_WEAK
        }
    }

    /// <summary>Reads vna_flags of the GLIBCXX_3.4.32 entry through the ELF section headers (independent of the task's code path).</summary>
    private static int FlagOfVersionNeed(byte[] elf)
    {
        long shoff = BitConverter.ToInt64(elf, 0x28);
        int shentsize = BitConverter.ToUInt16(elf, 0x3A), shnum = BitConverter.ToUInt16(elf, 0x3C);
        for (int i = 0; i < shnum; i++)
        {
            long sh = shoff + (long)i * shentsize;
            if (BitConverter.ToUInt32(elf, (int)sh + 4) != 0x6ffffffe) // SHT_GNU_verneed
                continue;
            long offset = BitConverter.ToInt64(elf, (int)sh + 0x18);
            int link = (int)BitConverter.ToUInt32(elf, (int)sh + 0x28);
            long strtab = BitConverter.ToInt64(elf, (int)(shoff + (long)link * shentsize) + 0x18);
            long need = offset;
            while (true)
            {
                int count = BitConverter.ToUInt16(elf, (int)need + 2);
                long aux = need + BitConverter.ToUInt32(elf, (int)need + 8);
                for (int a = 0; a < count; a++)
                {
                    long name = strtab + BitConverter.ToUInt32(elf, (int)aux + 8);
                    int end = Array.IndexOf(elf, (byte)0, (int)name);
                    if (Encoding.ASCII.GetString(elf, (int)name, end - (int)name) == "GLIBCXX_3.4.32")
                        return BitConverter.ToUInt16(elf, (int)aux + 4);
                    aux += BitConverter.ToUInt32(elf, (int)aux + 12);
                }
                uint next = BitConverter.ToUInt32(elf, (int)need + 12);
                if (next == 0) break;
                need += next;
            }
        }
        throw new InvalidDataException("no GLIBCXX_3.4.32 version need in libLibTorchSharp.so");
    }

    private static string? HostLibStdCxx() => new[]
    {
        "/usr/lib/x86_64-linux-gnu/libstdc++.so.6", "/lib/x86_64-linux-gnu/libstdc++.so.6", "/usr/lib64/libstdc++.so.6", "/usr/lib/libstdc++.so.6",
    }.FirstOrDefault(File.Exists);

    private static bool Contains(byte[] haystack, byte[] needle) => haystack.AsSpan().IndexOf(needle) >= 0;

    private static string Read(ZipArchive zip, string name)
    {
        using var reader = new StreamReader(zip.GetEntry(name)!.Open());
        return reader.ReadToEnd();
    }

    /// <summary>
    /// Writes the app: its own NuGet.config (the local feed, then the repository's sources), empty Directory.*.props
    /// and .targets so that nothing above the folder is imported, a csproj referencing the package and its ONNX
    /// Runtime companion with ML.NET <paramref name="mlnet"/> and that release's ONNX packages, and a Program.cs that
    /// either trains a small binary classifier, saves it, converts it to ONNX and writes its scores ("train"), or loads
    /// both files and checks the scores, through libtorch and through ONNX Runtime ("score"). Each mode prints the
    /// ML.NET version it runs on.
    /// </summary>
    private void WriteConsumerApp(string app, string mlnet)
    {
        var config = XDocument.Load(Path.Combine(PackageFixture.RepositoryRoot, "NuGet.config"));
        var sources = config.Root!.Element("packageSources")!;
        var local = new XElement("add", new XAttribute("key", "rnn-local-feed"), new XAttribute("value", package.FeedDirectory));
        if (sources.Element("clear") is { } clear) clear.AddAfterSelf(local);
        else sources.AddFirst(new XElement("clear"), local);
        if (config.Root.Element("packageSourceMapping") is { } mapping)
            mapping.Add(new XElement("packageSource", new XAttribute("key", "rnn-local-feed"),
                new XElement("package", new XAttribute("pattern", "Microsoft.ML.Rnn")),
                new XElement("package", new XAttribute("pattern", "Microsoft.ML.Rnn.OnnxRuntime"))));
        config.Save(Path.Combine(app, "NuGet.config"));

        File.WriteAllText(Path.Combine(app, "Directory.Build.props"), "<Project />\n");
        File.WriteAllText(Path.Combine(app, "Directory.Build.targets"), "<Project />\n");
        File.WriteAllText(Path.Combine(app, "Directory.Packages.props"), "<Project />\n");
        var onnx = SupportedMLNet[mlnet];
        File.WriteAllText(Path.Combine(app, "ConsumerApp.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <Nullable>enable</Nullable>
                <ImplicitUsings>enable</ImplicitUsings>
                <TreatWarningsAsErrors>true</TreatWarningsAsErrors>
                <NoWarn>$(NoWarn);NU1603</NoWarn>
              </PropertyGroup>
              <ItemGroup>
                <PackageReference Include="Microsoft.ML.Rnn" Version="{package.Version}" />
                <PackageReference Include="Microsoft.ML.Rnn.OnnxRuntime" Version="{package.Version}" />
                <PackageReference Include="libtorch-cpu-linux-x64" Version="{RepositoryPackageVersion("libtorch-cpu-linux-x64")}" />
                <PackageReference Include="Microsoft.ML" Version="{mlnet}" />
                <PackageReference Include="Microsoft.ML.OnnxConverter" Version="{onnx.OnnxConverter}" />
                <PackageReference Include="Microsoft.ML.OnnxTransformer" Version="{onnx.OnnxTransformer}" />
                <PackageReference Include="Microsoft.ML.OnnxRuntime" Version="{onnx.OnnxRuntime}" />
              </ItemGroup>
            </Project>
            """);
        File.WriteAllText(Path.Combine(app, "Program.cs"), """
            using System.Globalization;
            using System.Reflection;
            using Microsoft.ML;
            using Microsoft.ML.Data;
            using Microsoft.ML.Rnn;

            TorchSharp.torch.set_num_threads(1);
            // The app references Microsoft.ML.Rnn.OnnxRuntime, so Auto would score through ONNX Runtime: the reference
            // scores and the reload checks are libtorch's; the last check scores the zip through ONNX Runtime.
            RnnTransformerBase.DefaultScoringEngine = RnnScoringEngine.TorchSharp;
            string mlnet = typeof(MLContext).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()!.InformationalVersion.Split('+')[0];
            var random = new Random(1);
            Row MakeRow()
            {
                var features = Enumerable.Range(0, 12).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
                return new Row { Features = features, Label = features.Where((_, i) => i % 2 == 0).Sum() > 0 };
            }
            var train = Enumerable.Range(0, 160).Select(_ => MakeRow()).ToList();
            var test = Enumerable.Range(0, 40).Select(_ => MakeRow()).ToList();
            var ml = new MLContext(seed: 1);
            var testView = ml.Data.LoadFromEnumerable(test);

            if (args[0] == "train")
            {
                var trainView = ml.Data.LoadFromEnumerable(train);
                var model = ml.Transforms.Rnn.SequenceClassifier(featuresPerStep: 2, hiddenSize: 8, maxEpochs: 3).Fit(trainView);
                ml.Model.Save(model, trainView.Schema, "model.zip");
                using (var onnx = File.Create("model.onnx"))
                    ml.Model.ConvertToOnnx(model, trainView, onnx);
                var scores = model.Transform(testView).GetColumn<float>("Probability").ToArray();
                File.WriteAllLines("scores.txt", scores.Select(p => p.ToString("R", CultureInfo.InvariantCulture)));
                Console.WriteLine($"ML.NET {mlnet}: trained, saved model.zip and model.onnx");
                return 0;
            }

            var expected = File.ReadAllLines("scores.txt").Select(l => float.Parse(l, CultureInfo.InvariantCulture)).ToArray();
            var loaded = new MLContext().Model.Load("model.zip", out _);
            var after = loaded.Transform(testView).GetColumn<float>("Probability").ToArray();
            var engine = ml.Model.CreatePredictionEngine<Row, Prediction>(loaded);
            var single = test.Select(r => engine.Predict(r).Probability).ToArray();
            var onnxScores = ml.Transforms.ApplyOnnxModel("model.onnx").Fit(testView).Transform(testView)
                .GetColumn<float[]>("Probability").Select(p => p[0]).ToArray();
            // The same batches through the same kernels are bit-identical after a reload; one row at a time and ONNX
            // Runtime agree to float rounding (other batch sizes and engines take other matrix kernels).
            bool Close(float[] a, float[] b) => a.Length == b.Length && a.Zip(b).All(p => Math.Abs(p.First - p.Second) <= 1e-5f);
            if (expected.Length != 40 || !expected.SequenceEqual(after) || !Close(expected, single) || !Close(expected, onnxScores))
            {
                Console.Error.WriteLine($"ML.NET {mlnet}: scores differ after reloading the model or in ONNX Runtime");
                return 1;
            }

            // The default engine with the companion package: the zip scores through ONNX Runtime in-process, and says so.
            RnnTransformerBase.DefaultScoringEngine = RnnScoringEngine.Auto;
            var log = new System.Collections.Concurrent.ConcurrentQueue<string>();
            var served = new MLContext();
            served.Log += (_, e) => log.Enqueue(e.Message);
            var viaOnnxRuntime = served.Model.Load("model.zip", out _);
            var ortBatch = viaOnnxRuntime.Transform(testView).GetColumn<float>("Probability").ToArray();
            var ortEngine = served.Model.CreatePredictionEngine<Row, Prediction>(viaOnnxRuntime);
            var ortSingle = test.Select(r => ortEngine.Predict(r).Probability).ToArray();
            if (!Close(expected, ortBatch) || !Close(expected, ortSingle) || !log.Any(m => m.Contains("scoring with ONNX Runtime")))
            {
                Console.Error.WriteLine($"ML.NET {mlnet}: the zip did not score through ONNX Runtime within 1e-5 of libtorch");
                return 1;
            }
            Console.WriteLine($"ML.NET {mlnet}: the reloaded zip scored {after.Length} rows identically, the ONNX model within 1e-5, " +
                "the zip through ONNX Runtime within 1e-5");
            return 0;

            class Row
            {
                [VectorType(12)] public float[] Features { get; set; } = [];
                public bool Label { get; set; }
            }

            class Prediction
            {
                public float Probability { get; set; }
            }
            """);
    }
}
