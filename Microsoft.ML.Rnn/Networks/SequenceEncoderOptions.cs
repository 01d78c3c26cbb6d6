using Microsoft.ML.Rnn.Core;
using static TorchSharp.torch;

namespace Microsoft.ML.Rnn.Networks;

/// <summary>Configuration of a <see cref="SequenceEncoder"/>.</summary>
public sealed class SequenceEncoderOptions
{
    /// <summary>For token input: number of distinct token ids (ids lie in [0, VocabularySize)); 0 for float input.</summary>
    public long VocabularySize { get; init; }

    /// <summary>For token input: embedding size E (ignored when <see cref="PretrainedEmbeddings"/> is set).</summary>
    public long EmbeddingSize { get; init; } = 64;

    /// <summary>For token input: an optional (VocabularySize, E) matrix to initialise the embedding with.</summary>
    public Tensor? PretrainedEmbeddings { get; init; }

    /// <summary>Keep <see cref="PretrainedEmbeddings"/> fixed during training.</summary>
    public bool FreezeEmbeddings { get; init; }

    /// <summary>
    /// For token input: character ids read by a <see cref="CharacterEncoder"/> whose features join each token's
    /// embedding (<see cref="TokenVocabulary.CharacterCount"/>); 0 (default) reads no characters.
    /// </summary>
    public long CharacterVocabularySize { get; init; }

    /// <summary>With characters: the character embedding size.</summary>
    public long CharacterEmbeddingSize { get; init; } = 16;

    /// <summary>With characters: features per token from its characters (the character CNN's filters).</summary>
    public long CharacterFeatures { get; init; } = 32;

    /// <summary>True when the encoder reads each token's characters too.</summary>
    public bool UsesCharacters => CharacterVocabularySize > 0;

    /// <summary>For float input: features F per step; 0 for token input.</summary>
    public long InputSize { get; init; }

    /// <summary>The cell kind (a built-in one with its options, or a registered cell of your own; ignored when a custom
    /// <see cref="CellBuilder"/> is given to the encoder); the fused LSTM by default.</summary>
    public RnnCellKind Cell { get; init; } = RnnCellKind.Lstm();

    /// <summary>H: hidden size of every layer and direction.</summary>
    public long HiddenSize { get; init; } = 64;

    /// <summary>Number of stacked recurrent layers, at least 1.</summary>
    public int NumberOfLayers { get; init; } = 1;

    /// <summary>Run a backward direction too (D = 2), concatenated to the forward one.</summary>
    public bool Bidirectional { get; init; }

    /// <summary>How stacked bidirectional layers connect (layer by layer, or one multi-layer cell per direction).</summary>
    public BidirectionalStacking Stacking { get; init; } = BidirectionalStacking.LayerByLayer;

    /// <summary>Dropout probability on the outputs of every layer but the last, in [0, 1).</summary>
    public double DropoutBetweenLayers { get; init; }

    /// <summary>How the built-in cells' weights start; PyTorch's by default (training only: a loaded encoder takes its saved weights).</summary>
    public RecurrentInitialization Initialization { get; init; } = RecurrentInitialization.PyTorch;

    /// <summary>True when the encoder reads token ids through an embedding.</summary>
    public bool UsesTokens => VocabularySize > 0 || PretrainedEmbeddings is not null;
}
