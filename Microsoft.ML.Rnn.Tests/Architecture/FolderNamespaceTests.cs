using System.Text.RegularExpressions;
using Microsoft.ML.Rnn.Core;
using Microsoft.ML.Rnn.Tests.Packaging;
using Xunit;

namespace Microsoft.ML.Rnn.Tests.Architecture;

/// <summary>
/// Folders = namespaces (docs/architecture.md): a source file's namespace is its folder's, from the one table below, so
/// that the tree says where a type lives. What a user of the components touches — public options, enums, catalogs,
/// estimators, transformers — is in <c>Microsoft.ML.Rnn</c>, the one namespace ML.NET users import, wherever its file
/// sits; the adapter's concept folders hold internal types only.
/// </summary>
public class FolderNamespaceTests
{
    private const string Root = "Microsoft.ML.Rnn";

    /// <summary>Every folder of the package and its namespace. A new folder adds its line here and in docs/architecture.md.</summary>
    private static readonly Dictionary<string, string> s_namespaceOfFolder = new(StringComparer.Ordinal)
    {
        // Core: one public namespace for the cells, wrappers, fused kernels and unrollers; its training loop apart.
        ["Core"] = $"{Root}.Core", ["Core/Cells"] = $"{Root}.Core", ["Core/Fused"] = $"{Root}.Core",
        ["Core/Wrappers"] = $"{Root}.Core", ["Core/Training"] = $"{Root}.Core.Training",
        ["Networks"] = $"{Root}.Networks",
        // The ML.NET adapter: the components (what users touch) and its concept folders (internal).
        [""] = Root, ["Components"] = Root, ["SequenceClassifier"] = Root, ["LstmTagger"] = Root, ["BiGruEncoder"] = Root,
        ["SequenceRegressor"] = Root, ["Evaluation"] = Root,
        ["Features"] = $"{Root}.Features", ["Scoring"] = $"{Root}.Scoring", ["Training"] = $"{Root}.Training",
        ["Ensembles"] = $"{Root}.Ensembles", ["Persistence"] = $"{Root}.Persistence", ["Onnx"] = $"{Root}.Onnx",
        ["Experiments"] = $"{Root}.Experiments",
    };

    /// <summary>The adapter's concept namespaces: internal types only (a user never imports them).</summary>
    private static readonly string[] s_internalNamespaces =
        ["Features", "Scoring", "Training", "Ensembles", "Persistence", "Onnx"];

    private static readonly Regex s_namespace = new(@"^namespace\s+(?<ns>[\w.]+)\s*;", RegexOptions.Multiline);
    private static readonly Regex s_topLevelType = new(
        @"^(?<modifiers>(\w+\s+)*)(class|record|struct|enum|interface|delegate)\s", RegexOptions.Multiline);

    [Fact]
    public void EverySourceFileIsInItsFoldersNamespace()
    {
        string package = Path.Combine(PackageFixture.RepositoryRoot, Root);
        var offenders = new List<string>();
        foreach (string file in SourceFiles(package))
        {
            string relative = Path.GetRelativePath(package, file).Replace(Path.DirectorySeparatorChar, '/');
            string folder = relative.Contains('/') ? relative[..relative.LastIndexOf('/')] : "";
            string text = File.ReadAllText(file);
            var match = s_namespace.Match(text);
            if (!match.Success) continue;   // assembly attributes only
            string ns = match.Groups["ns"].Value;
            offenders.AddRange(Check(relative, folder, ns, text));
        }
        Assert.Empty(offenders);
    }

    /// <summary>Why <paramref name="file"/> (in <paramref name="folder"/>, declaring <paramref name="ns"/>) breaks the rule, if it does.</summary>
    private static IEnumerable<string> Check(string file, string folder, string ns, string text)
    {
        if (!s_namespaceOfFolder.TryGetValue(folder, out string? expected))
        {
            yield return $"{file}: folder '{folder}' has no namespace in the table";
            yield break;
        }
        if (ns == expected) yield break;
        // The runtime finds the persistence bridge's attribute by its full name.
        if (file == "Persistence/IgnoresAccessChecksToAttribute.cs" && ns == "System.Runtime.CompilerServices") yield break;
        // A user-facing type in the namespace users import, wherever it sits: every top-level type public.
        if (ns == Root && s_topLevelType.Matches(text).All(m => m.Groups["modifiers"].Value.Contains("public ", StringComparison.Ordinal)))
            yield break;
        yield return $"{file}: namespace {ns}, expected {expected} (or {Root} for public types only)";
    }

    [Fact]
    public void TheAdaptersConceptNamespacesHoldNoPublicType()
    {
        var offenders = typeof(RnnCell).Assembly.GetExportedTypes()
            .Where(t => s_internalNamespaces.Any(n => t.Namespace == $"{Root}.{n}"))
            .Select(t => t.FullName).ToList();
        Assert.Empty(offenders);
    }

    [Fact]
    public void TheRuleCanFail()
    {
        // An internal type in the namespace users import, a file in an unknown folder, a wrong namespace: all named.
        Assert.NotEmpty(Check("Features/X.cs", "Features", Root, "internal sealed class X { }"));
        Assert.NotEmpty(Check("Stuff/X.cs", "Stuff", $"{Root}.Stuff", "internal sealed class X { }"));
        Assert.NotEmpty(Check("Scoring/X.cs", "Scoring", $"{Root}.Features", "internal sealed class X { }"));
        Assert.Empty(Check("Core/Cells/X.cs", "Core/Cells", Root, "public enum X { A }"));
        Assert.NotEmpty(s_namespaceOfFolder);
    }

    private static IEnumerable<string> SourceFiles(string package)
    {
        string sep = Path.DirectorySeparatorChar.ToString();
        return Directory.GetFiles(package, "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{sep}obj{sep}") && !f.Contains($"{sep}bin{sep}"));
    }
}
