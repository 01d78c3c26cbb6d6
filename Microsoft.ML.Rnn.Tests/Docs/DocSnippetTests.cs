using Xunit;

namespace Microsoft.ML.Rnn.Tests.Docs;

/// <summary>The code in the README and docs/ is the code the tests compile and run.</summary>
public class DocSnippetTests
{
    [Fact]
    public void EveryDocSnippetIsTheCodeATestRuns()
    {
        var compiled = DocSnippets.FromTestSources();
        var shown = DocSnippets.FromMarkdown().ToList();
        // The README's pipeline, the getting-started guide, the core unroll example and the custom cell at least.
        Assert.Contains(shown, s => s.File == "README.md" && s.Name == "text-classification");
        Assert.Contains(shown, s => s.File.EndsWith("PackageReadme.md") && s.Name == "text-classification");
        Assert.Contains(shown, s => s.File.EndsWith("getting-started.md") && s.Name == "text-classification");
        Assert.Contains(shown, s => s.Name == "core-unroll");
        Assert.Contains(shown, s => s.Name == "custom-cell");
        Assert.Contains(shown, s => s.File == "README.md" && s.Name == "tagging-pipeline");
        Assert.Contains(shown, s => s.File == "README.md" && s.Name == "encoder-pipeline");
        foreach (var (file, name, lines) in shown)
        {
            Assert.True(compiled.TryGetValue(name, out var code), $"{file}: snippet '{name}' has no compiled copy in the tests.");
            for (int i = 0; i < Math.Max(lines.Length, code!.Length); i++)
            {
                string docLine = i < lines.Length ? lines[i] : "<end>";
                string codeLine = i < code.Length ? code[i] : "<end>";
                Assert.True(docLine == codeLine, $"{file}: snippet '{name}' line {i + 1} differs from the test's copy:\n  doc:  {docLine}\n  test: {codeLine}");
            }
        }
    }
}
