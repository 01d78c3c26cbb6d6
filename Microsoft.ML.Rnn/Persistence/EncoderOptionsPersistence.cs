using Microsoft.ML.Rnn.Networks;

namespace Microsoft.ML.Rnn.Persistence;

/// <summary>
/// Writes and reads the shape of a <see cref="SequenceEncoder"/> (vocabulary size, embedding or input size, cell kind,
/// hidden size, layers, directions, dropout) so a loader can rebuild the same module before reading its weights.
/// </summary>
internal static class EncoderOptionsPersistence
{
    /// <summary>
    /// Writes the shape of <paramref name="encoder"/>. A pretrained embedding is written as its size only: its values
    /// are weights, saved with the module.
    /// </summary>
    public static void Write(ModelSaveContext ctx, SequenceEncoder encoder)
    {
        ArgumentNullException.ThrowIfNull(ctx);
        ArgumentNullException.ThrowIfNull(encoder);
        var o = encoder.Options;
        // *** Binary format ***
        // uint: the block's version (since component format 0x00010008; FormatBlocks)
        // long: vocabulary size V (0 for Single input)
        // long: features per step fed to the first layer (E for key input, F for Single input)
        // int: cell type (RnnCellType; until block version 0x00010006, the cell kind since)
        // long: hidden size H
        // int: number of layers
        // byte: bidirectional
        // double: dropout between layers
        // byte: bidirectional stacking (BidirectionalStacking; since block version 0x00010004)
        // strings: the cell kind's name, then its options' keys and values in turn (RnnCellKind; since block version
        //          0x00010005; until 0x00010006 none when the cell type said it all)
        // long: character vocabulary size (0: no characters), long: character embedding size, long: character features
        //       (since block version 0x00010006)
        FormatBlocks.Write(ctx, BlockVersion);
        ctx.Writer.Write(encoder.VocabularySize);
        ctx.Writer.Write(encoder.InputFeatures);
        ctx.Writer.Write(o.HiddenSize);
        ctx.Writer.Write(o.NumberOfLayers);
        ctx.Writer.Write((byte)(o.Bidirectional ? 1 : 0));
        ctx.Writer.Write(o.DropoutBetweenLayers);
        ctx.Writer.Write((byte)o.Stacking);
        SavedFields.WriteStrings(ctx, [o.Cell.Name, .. o.Cell.Options.SelectMany(p => new[] { p.Key, p.Value })]);
        ctx.Writer.Write(o.CharacterVocabularySize);
        ctx.Writer.Write(o.CharacterEmbeddingSize);
        ctx.Writer.Write(o.CharacterFeatures);
    }

    /// <summary>First version of this block (<see cref="FormatBlocks"/>) that writes the bidirectional stacking.</summary>
    public const uint StackingVersion = 0x00010004;

    /// <summary>First version of this block that writes the cell kind (<see cref="RnnCellKind"/>).</summary>
    public const uint CellKindVersion = 0x00010005;

    /// <summary>First version of this block that writes the character encoder's sizes.</summary>
    public const uint CharacterSizesVersion = 0x00010006;

    /// <summary>First version of this block that writes the cell kind only (no <see cref="RnnCellType"/>).</summary>
    public const uint CellKindOnlyVersion = 0x00010008;

    /// <summary>The version of this block written now.</summary>
    public const uint BlockVersion = CellKindOnlyVersion;

    /// <summary>Reads what <see cref="Write"/> wrote; throws <see cref="FormatException"/> naming <paramref name="component"/> on corrupt values.</summary>
    public static SequenceEncoderOptions Read(ModelLoadContext ctx, string component)
    {
        ArgumentNullException.ThrowIfNull(ctx);
        // *** Binary format ***: see Write.
        uint version = FormatBlocks.Read(ctx, BlockVersion, "encoder description", component);
        long vocabulary = ctx.Reader.ReadInt64();
        long features = ctx.Reader.ReadInt64();
        int cell = version < CellKindOnlyVersion ? ctx.Reader.ReadInt32() : 0;
        long hidden = ctx.Reader.ReadInt64();
        int layers = ctx.Reader.ReadInt32();
        byte bidirectional = ctx.Reader.ReadByte();
        double dropout = ctx.Reader.ReadDouble();
        byte stacking = version >= StackingVersion ? ctx.Reader.ReadByte() : (byte)BidirectionalStacking.LayerByLayer;
        var kind = version >= CellKindVersion ? ReadCellKind(ctx, component) : null;
        if (kind is null && version >= CellKindOnlyVersion)
            throw new FormatException($"{component}: corrupt network description in the model: no cell kind.");
        bool hasCharacterSizes = version >= CharacterSizesVersion;
        long characters = hasCharacterSizes ? ctx.Reader.ReadInt64() : 0;
        long characterEmbedding = hasCharacterSizes ? ctx.Reader.ReadInt64() : 16;
        long characterFeatures = hasCharacterSizes ? ctx.Reader.ReadInt64() : 0;
        // Sanity bounds before anything is sized from these values; the weights entry then bounds the total
        // (NetworkWeights.CheckNetworkFits with MinimumParameters).
        if (vocabulary < 0 || vocabulary > (long)uint.MaxValue + 1 || features < 1 || features > 1 << 24
            || (kind is null && !Enum.IsDefined((RnnCellType)cell)) || hidden < 1 || hidden > 1 << 20 || layers < 1 || layers > 1024 || bidirectional > 1
            || !(dropout >= 0 && dropout < 1) || !Enum.IsDefined((BidirectionalStacking)stacking)
            || characters < 0 || characters > char.MaxValue + 2 || (characters > 0 && (vocabulary == 0 || characterEmbedding < 1
                || characterEmbedding > 1 << 16 || characterFeatures < 1 || characterFeatures >= features)))
        {
            throw new FormatException($"{component}: corrupt network description in the model (vocabulary {vocabulary}, " +
                $"features {features}, cell {cell}, hidden {hidden}, layers {layers}, bidirectional {bidirectional}, dropout {dropout}, stacking {stacking}, " +
                $"characters {characters}, character embedding {characterEmbedding}, character features {characterFeatures}).");
        }
        return new SequenceEncoderOptions
        {
            VocabularySize = vocabulary,
            // For token input the first layer reads the word embedding and the character features side by side.
            EmbeddingSize = vocabulary > 0 ? features - (characters > 0 ? characterFeatures : 0) : 64,
            InputSize = vocabulary > 0 ? 0 : features,
            HiddenSize = hidden,
            NumberOfLayers = layers,
            Bidirectional = bidirectional == 1,
            Stacking = (BidirectionalStacking)stacking,
            Cell = kind ?? RnnCellKind.FromType((RnnCellType)cell),
            DropoutBetweenLayers = dropout,
            CharacterVocabularySize = characters,
            CharacterEmbeddingSize = characterEmbedding,
            CharacterFeatures = characterFeatures,
        };
    }

    /// <summary>The cell kind written by <see cref="Write"/>, resolved in this process's registry (an unregistered name fails saying which to register).</summary>
    private static RnnCellKind? ReadCellKind(ModelLoadContext ctx, string component)
    {
        var strings = SavedFields.ReadStrings(ctx);
        if (strings.Length == 0) return null;
        if (strings.Length % 2 != 1 || strings.Any(string.IsNullOrEmpty))
            throw new FormatException($"{component}: corrupt cell kind in the model ({strings.Length} strings).");
        var options = new Dictionary<string, string>(StringComparer.Ordinal);
        for (int i = 1; i < strings.Length; i += 2)
        {
            if (!options.TryAdd(strings[i]!, strings[i + 1]!))
                throw new FormatException($"{component}: corrupt cell kind in the model (option '{strings[i]}' twice).");
        }
        return RnnCellKind.Resolve(strings[0]!, options, component);
    }

    /// <summary>
    /// A lower bound on the number of weights of an encoder built from <paramref name="o"/> (embedding, input-to-hidden
    /// and hidden-to-hidden matrices of every layer and direction; biases left out), in double so hostile values
    /// cannot overflow. Compared with the weights entry's size before the encoder is built.
    /// </summary>
    /// <param name="o">The encoder's options.</param>
    /// <param name="headOutputs">Outputs of a linear layer over the encoder's D*H features (its weights are added), or 0.</param>
    public static double MinimumParameters(SequenceEncoderOptions o, long headOutputs = 0)
    {
        ArgumentNullException.ThrowIfNull(o);
        double gates = o.Cell.GatesPerUnit;
        double directions = o.Bidirectional ? 2 : 1;
        double h = o.HiddenSize, output = o.Cell.OutputSize(o.HiddenSize);
        double firstInput = o.VocabularySize > 0 ? o.EmbeddingSize + (o.UsesCharacters ? o.CharacterFeatures : 0) : o.InputSize;
        double embedding = o.VocabularySize > 0 ? (double)o.VocabularySize * o.EmbeddingSize : 0;
        if (o.UsesCharacters)
            embedding += (double)o.CharacterVocabularySize * o.CharacterEmbeddingSize + CharacterEncoder.Window * o.CharacterEmbeddingSize * (double)o.CharacterFeatures;
        double recurrent = directions * gates * h * (firstInput + output);
        double deeperInput = o.Stacking == BidirectionalStacking.PerDirection ? output : directions * output;
        double deeper = (o.NumberOfLayers - 1) * directions * gates * h * (deeperInput + output);
        double head = (double)headOutputs * directions * output;
        return embedding + recurrent + deeper + head;
    }
}
