using Microsoft.ML.Data;
using Microsoft.ML.Runtime;

namespace Microsoft.ML.Rnn;

/// <summary>
/// Recurrent-network transforms (sequence classification, tagging, encoding), reached as
/// <c>mlContext.Transforms.Rnn</c>.
/// </summary>
public sealed partial class RnnCatalog
{
    internal RnnCatalog(TransformsCatalog transforms)
    {
        ArgumentNullException.ThrowIfNull(transforms);
        Transforms = transforms;
        Environment = transforms.GetEnvironment();
    }

    /// <summary>The transforms catalog this catalog hangs off.</summary>
    public TransformsCatalog Transforms { get; }

    /// <summary>The ML.NET environment of the owning <see cref="MLContext"/> (seed, logging, cancellation).</summary>
    internal IHostEnvironment Environment { get; }
}
