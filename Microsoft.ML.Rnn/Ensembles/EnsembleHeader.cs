using Microsoft.ML.Rnn.Persistence;

namespace Microsoft.ML.Rnn.Ensembles;

/// <summary>
/// The number of networks an ensemble's component (classifier, tagger) writes at the end of its header: a shared block
/// with its own version (<see cref="FormatBlocks"/>; first written by component format 0x00010007).
/// </summary>
internal static class EnsembleHeader
{
    /// <summary>The first version of this block, and the one written now.</summary>
    public const uint BlockVersion = 0x00010007;

    /// <summary>Writes the block: its version and <paramref name="networks"/>.</summary>
    public static void Write(ModelSaveContext ctx, int networks)
    {
        FormatBlocks.Write(ctx, BlockVersion);
        ctx.Writer.Write(networks);
    }

    /// <summary>
    /// The number of networks: 1 to <see cref="RnnOptionsValidation.MaxEnsembleSize"/>, or 0 for a model written before
    /// ensembles (one network whose weights are named as a single network's); null when the saved count is out of range.
    /// </summary>
    public static int? Read(ModelLoadContext ctx, string component)
    {
        uint version = FormatBlocks.Read(ctx, BlockVersion, "ensemble header", component);
        if (version < BlockVersion)
            return 0;
        int networks = ctx.Reader.ReadInt32();
        return networks is >= 1 and <= RnnOptionsValidation.MaxEnsembleSize ? networks : null;
    }
}
