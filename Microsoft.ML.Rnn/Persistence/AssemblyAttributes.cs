using System.Runtime.CompilerServices;

// The ML.NET persistence bridge (docs/persistence.md): this assembly compiles against publicized copies of these
// two assemblies and uses their internal members at run time.
[assembly: IgnoresAccessChecksTo("Microsoft.ML.Core")]
[assembly: IgnoresAccessChecksTo("Microsoft.ML.Data")]

[assembly: InternalsVisibleTo("Microsoft.ML.Rnn.Tests")]
