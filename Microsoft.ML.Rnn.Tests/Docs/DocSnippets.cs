using System.Text.RegularExpressions;
using Microsoft.ML.Rnn.Tests.Packaging;

namespace Microsoft.ML.Rnn.Tests.Docs;

/// <summary>
/// Code shown in the README and docs/ is compiled and run by tests. A markdown file marks a fenced C# block with
/// <c>&lt;!-- snippet: name --&gt;</c> on the line before it; a test source file holds the same code between
/// <c>// snippet: name</c> and <c>// end snippet</c>. The two are compared line by line, ignoring indentation and
/// blank lines, so a doc cannot drift from the code the tests run.
/// </summary>
internal static partial class DocSnippets
{
    /// <summary>Every marked block of the README, the package README and docs/*.md: (file relative to the repository root, snippet name, lines).</summary>
    public static IEnumerable<(string File, string Name, string[] Lines)> FromMarkdown()
    {
        string root = PackageFixture.RepositoryRoot;
        var files = new[] { Path.Combine(root, "README.md"), Path.Combine(root, "Microsoft.ML.Rnn", "PackageReadme.md") }
            .Concat(Directory.GetFiles(Path.Combine(root, "docs"), "*.md", SearchOption.AllDirectories));
        foreach (var file in files.Order(StringComparer.Ordinal))
        {
            string[] lines = File.ReadAllLines(file);
            for (int i = 0; i < lines.Length; i++)
            {
                var marker = MarkdownMarker().Match(lines[i]);
                if (!marker.Success)
                    continue;
                if (i + 1 >= lines.Length || !lines[i + 1].TrimStart().StartsWith("```csharp", StringComparison.Ordinal))
                    throw new FormatException($"{file}:{i + 1}: a snippet marker must be followed by a ```csharp block.");
                int end = Array.FindIndex(lines, i + 2, l => l.TrimStart().StartsWith("```", StringComparison.Ordinal));
                yield return (Path.GetRelativePath(root, file), marker.Groups[1].Value, Normalize(lines[(i + 2)..end]));
            }
        }
    }

    /// <summary>The snippets of the test sources under Microsoft.ML.Rnn.Tests/, by name.</summary>
    public static Dictionary<string, string[]> FromTestSources()
    {
        var result = new Dictionary<string, string[]>();
        string tests = Path.Combine(PackageFixture.RepositoryRoot, "Microsoft.ML.Rnn.Tests");
        foreach (var file in Directory.GetFiles(tests, "*.cs", SearchOption.AllDirectories)
                     .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}")))
        {
            string[] lines = File.ReadAllLines(file);
            for (int i = 0; i < lines.Length; i++)
            {
                var marker = SourceMarker().Match(lines[i]);
                if (!marker.Success)
                    continue;
                int end = Array.FindIndex(lines, i + 1, l => l.Trim() == "// end snippet");
                if (end < 0)
                    throw new FormatException($"{file}:{i + 1}: snippet '{marker.Groups[1].Value}' has no '// end snippet'.");
                result.Add(marker.Groups[1].Value, Normalize(lines[(i + 1)..end]));
            }
        }
        return result;
    }

    private static string[] Normalize(IEnumerable<string> lines) =>
        lines.Select(l => l.Trim()).Where(l => l.Length > 0).ToArray();

    [GeneratedRegex(@"^\s*<!--\s*snippet:\s*([\w-]+)\s*-->\s*$")]
    private static partial Regex MarkdownMarker();

    [GeneratedRegex(@"^\s*// snippet: ([\w-]+)\s*$")]
    private static partial Regex SourceMarker();
}
