using System.Runtime.CompilerServices;

// The test-only LinearProbeTransformer uses ML.NET's internal persistence API exactly like the library's components
// (docs/persistence.md); the attribute class comes from Microsoft.ML.Rnn through InternalsVisibleTo.
[assembly: IgnoresAccessChecksTo("Microsoft.ML.Core")]
[assembly: IgnoresAccessChecksTo("Microsoft.ML.Data")]
