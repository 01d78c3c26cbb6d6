using Microsoft.ML.Rnn.Core;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Microsoft.ML.Rnn.Networks;

/// <summary>
/// Reads padded sequences with a stack of recurrent layers, optionally bidirectional, and returns every step's
/// output plus each direction's final hidden output.
/// </summary>
/// <remarks>
/// Inputs (N batch, L steps): token ids (N, L) int64 read through an embedding (padding is handled by the lengths,
/// there is no pad embedding), or float features (N, L, F). <c>lengths</c>: (N) int64 in [0, L], or null for all L.
/// Outputs: see <see cref="EncoderOutput"/>; D = 2 when bidirectional, else 1. Unidirectional stacks run through
/// <see cref="DynamicUnroller"/> with a <see cref="StackedCell"/>, bidirectional ones through
/// <see cref="StackedBidirectionalUnroller"/>; both use libtorch's fused kernels when the cells allow it.
/// </remarks>
public sealed class SequenceEncoder : nn.Module
{
    private readonly Embedding? embedding;
    private readonly CharacterEncoder? characters;
    // Unidirectional: one StackedCell (fusable as a whole). Bidirectional, layer by layer: a list of layers per
    // direction, since a deeper layer reads both directions and the layers of one direction do not chain as a
    // StackedCell. Bidirectional per direction: one StackedCell per direction (stacked and backward_stacked).
    private readonly StackedCell? stacked;
    private readonly StackedCell? backward_stacked;
    private readonly ModuleList<RnnCell>? forward_layers;
    private readonly ModuleList<RnnCell>? backward_layers;

    /// <summary>Creates an encoder of <see cref="SequenceEncoderOptions.Cell"/> cells.</summary>
    public SequenceEncoder(SequenceEncoderOptions options)
        : this(options, CellFactory.ForKind((options ?? throw new ArgumentNullException(nameof(options))).Cell)) { }

    /// <summary>Creates an encoder whose layers are built by <paramref name="cellBuilder"/> (custom cells).</summary>
    public SequenceEncoder(SequenceEncoderOptions options, CellBuilder cellBuilder) : base(nameof(SequenceEncoder))
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(cellBuilder);
        Options = options;
        long stepFeatures;
        if (options.UsesTokens)
        {
            if (options.PretrainedEmbeddings is { } pretrained)
            {
                if (pretrained.dim() != 2 || (options.VocabularySize > 0 && pretrained.shape[0] != options.VocabularySize))
                {
                    throw new ArgumentException(
                        $"SequenceEncoder: expected pretrained embeddings of shape ({options.VocabularySize}, E), got {SequenceBatch.FormatShape(pretrained.shape)}.",
                        nameof(options));
                }
                // Not Embedding_from_pretrained: in TorchSharp 0.107 its parameters() still report requires_grad
                // after freeze: true, so an optimizer would train the "frozen" matrix.
                embedding = nn.Embedding(pretrained.shape[0], pretrained.shape[1]);
                embedding.weight = new Parameter(pretrained.detach().clone(), requires_grad: !options.FreezeEmbeddings);
                VocabularySize = pretrained.shape[0];
                stepFeatures = pretrained.shape[1];
            }
            else
            {
                if (options.EmbeddingSize < 1)
                    throw new ArgumentOutOfRangeException(nameof(options), options.EmbeddingSize, "SequenceEncoder: EmbeddingSize must be at least 1.");
                embedding = nn.Embedding(options.VocabularySize, options.EmbeddingSize);
                VocabularySize = options.VocabularySize;
                stepFeatures = options.EmbeddingSize;
            }
            if (options.InputSize != 0)
                throw new ArgumentException("SequenceEncoder: set either VocabularySize (token input) or InputSize (float input), not both.", nameof(options));
            if (options.UsesCharacters)
            {
                characters = new CharacterEncoder(options.CharacterVocabularySize, options.CharacterEmbeddingSize, options.CharacterFeatures);
                stepFeatures += options.CharacterFeatures;
            }
        }
        else
        {
            if (options.UsesCharacters)
                throw new ArgumentException("SequenceEncoder: CharacterVocabularySize needs token input (VocabularySize); float input has no characters.", nameof(options));
            if (options.InputSize < 1)
                throw new ArgumentException("SequenceEncoder: set VocabularySize (token input) or InputSize (float input) to at least 1.", nameof(options));
            stepFeatures = options.InputSize;
        }

        InputFeatures = stepFeatures;
        var layers = CellFactory.BuildLayers(cellBuilder, stepFeatures, options.HiddenSize, options.NumberOfLayers,
            options.Bidirectional, options.DropoutBetweenLayers, options.Stacking);
        foreach (var cell in layers.Forward.Concat(layers.Backward ?? []))
            RecurrentInitializer.Apply(cell, options.Initialization);
        DirectionOutputSize = layers.Forward[^1].OutputSize;
        if (layers.Backward is null)
        {
            stacked = new StackedCell(layers.Forward, "forward");
        }
        else if (options.Stacking == BidirectionalStacking.PerDirection)
        {
            stacked = new StackedCell(layers.Forward, "forward");
            backward_stacked = new StackedCell(layers.Backward, "backward");
        }
        else
        {
            forward_layers = new ModuleList<RnnCell>(layers.Forward.ToArray());
            backward_layers = new ModuleList<RnnCell>(layers.Backward.ToArray());
        }
        RegisterComponents();
    }

    /// <summary>The configuration this encoder was built from.</summary>
    public SequenceEncoderOptions Options { get; }

    /// <summary>Number of token ids for token input, 0 for float input.</summary>
    public long VocabularySize { get; }

    /// <summary>Features per step fed to the first layer (E, E plus the character features, or F).</summary>
    public long InputFeatures { get; }

    /// <summary>H: hidden size per direction.</summary>
    public long HiddenSize => Options.HiddenSize;

    /// <summary>D: 2 when bidirectional, else 1.</summary>
    public int Directions => stacked is null || backward_stacked is not null ? 2 : 1;

    /// <summary>Features per step of each direction: H, or an LSTM's projection size.</summary>
    public long DirectionOutputSize { get; }

    /// <summary>D·H (D times <see cref="DirectionOutputSize"/>): features per step of <see cref="EncoderOutput.Outputs"/> and of pooled vectors.</summary>
    public long OutputSize => Directions * DirectionOutputSize;

    /// <summary>The forward layers (and backward layers when bidirectional).</summary>
    public CellLayers Cells => stacked is null
        ? new(forward_layers!.ToArray(), backward_layers!.ToArray())
        : new(stacked.Layers, backward_stacked?.Layers);

    /// <summary>Encodes a batch; see the class remarks for shapes.</summary>
    public EncoderOutput Encode(Tensor input, Tensor? lengths = null, UnrollPath path = UnrollPath.Auto) => Encode(Batch(input, lengths), path);

    /// <summary>The checked batch of token ids (N, L) or features (N, L, F) and (N) lengths (null: all L), for the tensor overloads of the task networks.</summary>
    public static SequenceBatch Batch(Tensor input, Tensor? lengths)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (input.dim() < 2)
            throw new ArgumentException($"SequenceEncoder: expected input of shape (N, L) or (N, L, F), got {SequenceBatch.FormatShape(input.shape)}.", nameof(input));
        return SequenceBatch.Create(input, lengths, nameof(SequenceEncoder), nameof(lengths));
    }

    /// <summary>
    /// What the first layer reads at every step: the embedded token ids (N, L, E), or the checked float features
    /// (N, L, F) — for running the encoder's cells through other unrollers (e.g. <see cref="ScanUnroller"/>).
    /// </summary>
    public Tensor LayerInputs(Tensor input, Tensor? lengths = null) => FirstLayerInputs(Batch(input, lengths));

    /// <summary>Encodes a batch whose lengths were validated where it was made (token ids (N, L) or features (N, L, F)).</summary>
    public EncoderOutput Encode(SequenceBatch input, UnrollPath path = UnrollPath.Auto)
    {
        ArgumentNullException.ThrowIfNull(input);
        using var scope = NewDisposeScope();
        long n = input.BatchSize, l = input.Steps;
        var x = input.WithData(FirstLayerInputs(input));

        // Only the outputs are read (the final hidden state is gathered from them below), so the unrollers skip the
        // final state: an LSTM with varying lengths then need not recompute its final cell state.
        Tensor outputs;
        if (backward_stacked is not null)
        {
            var (forward, _, backwardOutputs) = BidirectionalUnroller.UnrollBoth(stacked!, backward_stacked, x, null, null, path, finalState: false);
            outputs = cat([forward.Outputs, backwardOutputs], 2);
        }
        else
        {
            outputs = stacked is not null
                ? DynamicUnroller.UnrollBatch(stacked, x, null, path, finalState: false, nameof(SequenceEncoder)).Outputs
                : StackedBidirectionalUnroller.UnrollLayers(forward_layers!.ToArray(), backward_layers!.ToArray(), x, null, null, path, finalState: false).Outputs;
        }

        var lens = input.LengthsOrFull();
        Tensor final;
        if (l == 0)
        {
            final = zeros(n, OutputSize, dtype: outputs.dtype, device: outputs.device);
        }
        else
        {
            // Every sequence full (the common case of fixed-size input): the last step is one select instead of the
            // handful of calls a gather by lengths needs, which is a visible share of scoring a single row.
            var lastOutputs = input.AllFull
                ? outputs.select(1, l - 1)
                : outputs.gather(1, LastSteps(lens, outputs)).squeeze(1);
            final = Directions == 1
                ? lastOutputs
                : cat([lastOutputs.narrow(1, 0, DirectionOutputSize), outputs.select(1, 0).narrow(1, DirectionOutputSize, DirectionOutputSize)], 1);
        }
        return new EncoderOutput(outputs.MoveToOuterDisposeScope(), final.MoveToOuterDisposeScope(), lens.MoveToOuterDisposeScope());
    }

    /// <summary>
    /// (N, 1, D*H) indices of each sequence's last valid step in <paramref name="outputs"/>; outputs are zero past each
    /// length, so an empty sequence (index clamped to 0) gets a zero final output.
    /// </summary>
    private static Tensor LastSteps(Tensor lengths, Tensor outputs)
    {
        long n = outputs.shape[0];
        return lengths.sub(KeptScalars.One).clamp_min(KeptScalars.Zero).to(outputs.device).view(n, 1, 1).expand(n, 1, outputs.shape[2]);
    }

    /// <summary>Reduces encoded sequences to one (N, D*H) vector each, looking at valid steps only.</summary>
    public static Tensor Pool(EncoderOutput encoded, SequencePooling pooling)
    {
        ArgumentNullException.ThrowIfNull(encoded);
        if (pooling == SequencePooling.LastState) return encoded.FinalHidden.alias();

        using var scope = NewDisposeScope();
        var outputs = encoded.Outputs;
        long l = outputs.shape[1];
        var lens = encoded.Lengths.to(outputs.device);
        var valid = LengthMask.Valid(lens, l, outputs.device).unsqueeze(2);                    // (N, L, 1)
        Tensor pooled = pooling switch
        {
            SequencePooling.Mean => outputs.masked_fill(valid.logical_not(), KeptScalars.Zero).sum(1)
                / lens.clamp_min(KeptScalars.One).unsqueeze(1).to_type(outputs.dtype),
            SequencePooling.Max => l == 0
                ? zeros(outputs.shape[0], outputs.shape[2], dtype: outputs.dtype, device: outputs.device)
                : outputs.masked_fill(valid.logical_not(), KeptScalars.NegativeInfinity).amax([1])
                    .masked_fill(lens.eq(KeptScalars.Zero).unsqueeze(1), KeptScalars.Zero),
            _ => throw new ArgumentOutOfRangeException(nameof(pooling), pooling, "SequenceEncoder: unknown pooling."),
        };
        return pooled.MoveToOuterDisposeScope();
    }

    /// <summary>(N, L, E) embedded tokens (with their character features appended when the encoder reads characters), or the (N, L, F) float input.</summary>
    /// <param name="input">Token ids or float features; token ids past the lengths may hold anything (e.g. -1 as padding).</param>
    private Tensor Embed(SequenceBatch input)
    {
        var data = input.Data;
        if (embedding is null) return data;
        if (data.dim() != 2 || data.dtype != ScalarType.Int64)
        {
            throw new ArgumentException(
                $"SequenceEncoder: expected token ids of shape (N, L) int64, got {SequenceBatch.FormatShape(data.shape)} {data.dtype}.", nameof(input));
        }
        // Padding ids become 0 so any padding value is accepted; the unroller zeroes those steps' outputs anyway.
        var ids = input.Lengths is { } lengths
            ? data.masked_fill(LengthMask.Valid(lengths, input.Steps, data.device).logical_not(), KeptScalars.Zero)
            : data;
        if (ids.numel() > 0)
        {
            long min = ids.min().item<long>(), max = ids.max().item<long>();
            if (min < 0 || max >= VocabularySize)
            {
                throw new ArgumentOutOfRangeException(nameof(input),
                    $"SequenceEncoder: token ids at valid steps must lie in [0, {VocabularySize}), got values from {min} to {max}.");
            }
        }
        var embedded = embedding.call(ids);
        if (characters is null) return embedded;
        if (input.Characters is not { } characterIds)
        {
            throw new ArgumentException("SequenceEncoder: this encoder reads each token's characters too; pass a batch made with " +
                "SequenceBatch.WithCharacters (character ids (N, L, W)).", nameof(input));
        }
        return cat([embedded, characters.call(characterIds)], 2);
    }

    /// <summary>The embedded tokens or float features of <paramref name="input"/>, checked as what the first layer reads.</summary>
    private Tensor FirstLayerInputs(SequenceBatch input)
    {
        var x = Embed(input);
        CheckInputFeatures(x);
        return x;
    }

    /// <summary>Checks that the layers' input has <see cref="InputFeatures"/> float features per step.</summary>
    private void CheckInputFeatures(Tensor x)
    {
        if (x.dim() != 3 || x.shape[2] != InputFeatures || !x.is_floating_point())
        {
            throw new ArgumentException(
                $"SequenceEncoder: expected float input of shape (N, L, {InputFeatures}), got {SequenceBatch.FormatShape(x.shape)} {x.dtype}.", "input");
        }
    }
}
