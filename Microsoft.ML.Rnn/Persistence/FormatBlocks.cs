using Microsoft.ML.Rnn.Ensembles;
using Microsoft.ML.Rnn.Features;

namespace Microsoft.ML.Rnn.Persistence;

/// <summary>
/// The blocks every component's zip entry shares — the feature column description (<see cref="FeatureEncoding"/>), the
/// encoder description (<see cref="EncoderOptionsPersistence"/>), the network weights (<see cref="NetworkWeights"/>) and
/// the ensemble's size (<see cref="EnsembleHeader"/>) — each with its own format version, so that a
/// change to one block bumps that block only, and a new component starts at any version of its own.
/// </summary>
/// <remarks>
/// <para>One format history (docs/persistence.md). Until component format 0x00010007 the blocks had no versions of
/// their own: every component wrote the blocks of its own format version, which went up together —</para>
/// <code>
/// 0x00010001  initial
/// 0x00010002  features: the longest sequence kept (MaxSequenceLength)
/// 0x00010003  weights: a fused built-in cell's weights named as its step path names them
/// 0x00010004  encoder: the bidirectional stacking
/// 0x00010005  encoder: the cell kind with its options
/// 0x00010006  features: text tokens with their vocabulary; encoder: the character encoder's sizes
/// 0x00010007  ensemble: the number of networks (classifier and tagger)
/// </code>
/// <para>and from 0x00010008 each block goes on alone: 0x00010008 encoder: the cell kind only (no RnnCellType).</para>
/// <para>so a block of an entry written before <see cref="SelfVersionedSince"/> has the entry's version. From component
/// format 0x00010008 on, each block starts with its version (a uint), written and checked here; a block version newer
/// than this package reads fails naming the component and the block.</para>
/// </remarks>
internal static class FormatBlocks
{
    /// <summary>The first component format version whose shared blocks carry their own versions.</summary>
    public const uint SelfVersionedSince = 0x00010008;

    /// <summary>The oldest block version (every block's first).</summary>
    private const uint Initial = 0x00010001;

    /// <summary>Writes the version of the block that follows.</summary>
    public static void Write(ModelSaveContext ctx, uint version) => ctx.Writer.Write(version);

    /// <summary>
    /// The version of block <paramref name="block"/> at the reader's position: read from the entry from
    /// <see cref="SelfVersionedSince"/> on, the entry's own version before; throws <see cref="FormatException"/> naming
    /// <paramref name="component"/> and the block when it is newer than <paramref name="current"/> or not a version.
    /// </summary>
    public static uint Read(ModelLoadContext ctx, uint current, string block, string component)
    {
        if (ctx.Header.ModelVerWritten < SelfVersionedSince)
            return ctx.Header.ModelVerWritten;
        uint version = ctx.Reader.ReadUInt32();
        if (version > current && (version >> 16) == (Initial >> 16))
        {
            throw new FormatException(
                $"{component}: cannot load this model: its {block} was saved in format version 0x{version:X8} by a newer " +
                $"Microsoft.ML.Rnn, and this version ({typeof(FormatBlocks).Assembly.GetName().Version}) reads it up to " +
                $"0x{current:X8}. Update the Microsoft.ML.Rnn package to load it.");
        }
        if (version < Initial || version > current)
            throw new FormatException($"{component}: corrupt model: the {block} has format version 0x{version:X8}.");
        return version;
    }
}
