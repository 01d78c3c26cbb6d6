using System.Reflection;
using System.Text.RegularExpressions;
using Microsoft.ML.Rnn.Core;
using Microsoft.ML.Rnn.Tests.Packaging;
using Xunit;

namespace Microsoft.ML.Rnn.Tests.Architecture;

/// <summary>
/// The core and the task networks are TorchSharp-only layers: nothing in them may depend on ML.NET, so they can be
/// used (and tested) without it and the ML.NET adapter stays the only place that bridges the two.
/// </summary>
public class LayeringTests
{
    private static readonly string[] TorchOnlyNamespaces = ["Microsoft.ML.Rnn.Core", "Microsoft.ML.Rnn.Networks"];

    [Fact]
    public void CoreAndNetworkSignaturesReferenceNoMlNetType()
    {
        var offenders = new List<string>();
        foreach (var type in typeof(RnnCell).Assembly.GetTypes().Where(IsTorchOnly))
        {
            const BindingFlags all = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance |
                                     BindingFlags.Static | BindingFlags.DeclaredOnly;
            var referenced = new List<Type>();
            if (type.BaseType is not null) referenced.Add(type.BaseType);
            referenced.AddRange(type.GetInterfaces());
            referenced.AddRange(type.GetFields(all).Select(f => f.FieldType));
            referenced.AddRange(type.GetProperties(all).Select(p => p.PropertyType));
            foreach (var method in type.GetMethods(all).Cast<MethodBase>().Concat(type.GetConstructors(all)))
            {
                referenced.AddRange(method.GetParameters().Select(p => p.ParameterType));
                if (method is MethodInfo m) referenced.Add(m.ReturnType);
                referenced.AddRange(method.GetMethodBody()?.LocalVariables.Select(v => v.LocalType) ?? []);
            }
            offenders.AddRange(referenced.SelectMany(Flatten).Where(IsMlNet).Select(t => $"{type.FullName} -> {t.FullName}"));
        }
        Assert.Empty(offenders.Distinct());
    }

    [Fact]
    public void CoreAndNetworkSourcesImportNoMlNetNamespace()
    {
        string root = PackageFixture.RepositoryRoot;
        var imports = new Regex(@"^\s*(global\s+)?using\s+(static\s+)?(?<ns>Microsoft\.ML(\.[\w.]+)?)\s*;", RegexOptions.Multiline);
        var offenders = new[] { "Core", "Networks" }
            .SelectMany(folder => Directory.GetFiles(Path.Combine(root, "Microsoft.ML.Rnn", folder), "*.cs", SearchOption.AllDirectories))
            .SelectMany(file => imports.Matches(File.ReadAllText(file))
                .Select(m => m.Groups["ns"].Value)
                .Where(ns => !ns.StartsWith("Microsoft.ML.Rnn", StringComparison.Ordinal))
                .Select(ns => $"{Path.GetRelativePath(root, file)}: using {ns}"))
            .ToList();
        Assert.Empty(offenders);
    }

    /// <summary>The package's layers, lowest first: a source folder's layer, and the namespaces that belong to each.</summary>
    private static int LayerOfFolder(string folder) => folder switch
    {
        "Core" => 0,
        "Networks" => 1,
        "Experiments" => 3,
        _ => 2,   // the ML.NET adapter: Components, the component folders, its concept folders (Features, Scoring, Training, Ensembles, Persistence, Onnx), Evaluation and the root files
    };

    private static int LayerOfNamespace(string ns) =>
        ns.StartsWith("Microsoft.ML.Rnn.Core", StringComparison.Ordinal) ? 0
        : ns.StartsWith("Microsoft.ML.Rnn.Networks", StringComparison.Ordinal) ? 1
        : ns.StartsWith("Microsoft.ML.Rnn.Experiments", StringComparison.Ordinal) ? 3
        : 2;   // Microsoft.ML.Rnn (what users import) and the adapter's concept namespaces

    [Fact]
    public void NoSourceImportsALayerAboveItsOwn()
    {
        string package = Path.Combine(PackageFixture.RepositoryRoot, "Microsoft.ML.Rnn");
        var imports = new Regex(@"^\s*(global\s+)?using\s+(static\s+)?(?<ns>Microsoft\.ML\.Rnn(\.[\w]+)*)\s*;", RegexOptions.Multiline);
        var offenders = new List<string>();
        foreach (string file in Directory.GetFiles(package, "*.cs", SearchOption.AllDirectories)
                     .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}")
                              && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}")))
        {
            string relative = Path.GetRelativePath(package, file);
            string folder = relative.Contains(Path.DirectorySeparatorChar) ? relative[..relative.IndexOf(Path.DirectorySeparatorChar)] : "";
            int layer = LayerOfFolder(folder);
            offenders.AddRange(imports.Matches(File.ReadAllText(file)).Select(m => m.Groups["ns"].Value)
                .Where(ns => LayerOfNamespace(ns) > layer).Select(ns => $"{relative}: using {ns}"));
        }
        Assert.Empty(offenders);
        // The check sees the layers: an adapter file imports the core, an upward import would be named.
        Assert.True(LayerOfNamespace("Microsoft.ML.Rnn.Scoring") > LayerOfFolder("Networks"));
    }

    [Fact]
    public void TheChecksSeeMlNetTypes()
    {
        // Guard against a check that can never fail: an adapter type is recognised as ML.NET-dependent.
        Assert.True(IsMlNet(typeof(Microsoft.ML.IDataView)));
        Assert.False(IsMlNet(typeof(RnnCell)));
    }

    private static bool IsTorchOnly(Type type) =>
        type.Namespace is { } ns && TorchOnlyNamespaces.Any(p => ns == p || ns.StartsWith(p + ".", StringComparison.Ordinal));

    private static bool IsMlNet(Type type)
    {
        string assembly = type.Assembly.GetName().Name ?? "";
        return assembly.StartsWith("Microsoft.ML", StringComparison.Ordinal) && assembly != typeof(RnnCell).Assembly.GetName().Name;
    }

    private static IEnumerable<Type> Flatten(Type type)
    {
        yield return type;
        if (type.HasElementType && type.GetElementType() is { } element)
            foreach (var t in Flatten(element)) yield return t;
        if (type.IsGenericType)
            foreach (var t in type.GetGenericArguments().SelectMany(Flatten)) yield return t;
    }
}
