using Microsoft.ML.Data;
using Microsoft.ML.Rnn.Networks;
using Microsoft.ML.Runtime;
using static TorchSharp.torch;

namespace Microsoft.ML.Rnn.MLNet;

/// <summary>
/// What every component does with its feature column: build the encoder options from the user's options and the
/// column kind (training), write/read the feature column's description (persistence), and check that a scoring schema
/// has the same kind of column (scoring).
/// </summary>
internal sealed record FeatureEncoding(string Name, SequenceItemKind Kind, ulong KeyCount, int FeaturesPerStep, int? MaxSteps = null)
{
    /// <summary>Largest <see cref="MaxSteps"/> a model may claim (a sanity bound for loading untrusted files).</summary>
    public const int MaxStepsBound = 1 << 28;

    /// <summary>First format version (of every component) that writes <see cref="MaxSteps"/>.</summary>
    public const uint MaxStepsVersion = 0x00010002;

    /// <summary>The encoding of a bound training column (with its <see cref="SequenceColumn.MaxSteps"/>).</summary>
    public static FeatureEncoding Of(SequenceColumn column) => new(column.Name, column.Kind, column.KeyCount, column.FeaturesPerStep, column.MaxSteps);

    /// <summary>Encoder options for this feature column: an embedding with one extra row for missing keys, or Single steps.</summary>
    public SequenceEncoderOptions EncoderOptions(RnnOptionsBase o, IChannel ch, DataViewSchema.Column featureColumn, int seed, string component)
    {
        if (Kind == SequenceItemKind.Singles)
        {
            if (o.WordVectorsFile is not null)
            {
                throw new ArgumentException($"{component}: WordVectorsFile initialises token embeddings, but feature column '{Name}' " +
                    "holds Single steps (no embedding); use a key-typed token column or leave WordVectorsFile unset.", nameof(o.WordVectorsFile));
            }
            return new SequenceEncoderOptions
            {
                InputSize = FeaturesPerStep, CellType = o.CellType, Cell = o.Cell, HiddenSize = o.HiddenSize,
                NumberOfLayers = o.NumberOfLayers, Bidirectional = o.Bidirectional, Stacking = o.BidirectionalStacking, DropoutBetweenLayers = o.Dropout,
                Initialization = o.Initialization,
            };
        }
        // One embedding row per key plus one for missing keys (tokens not in the dictionary at scoring time).
        long vocabulary = checked((long)KeyCount + 1);
        Tensor? pretrained = null;
        if (o.WordVectorsFile is { } file)
        {
            var words = KeyValueAnnotation.FromColumn(featureColumn)?.ToStrings()
                ?? throw new InvalidOperationException($"{component}: WordVectorsFile needs the KeyValues annotation (the vocabulary) on feature column '{Name}'.");
            try
            {
                // The file's vectors become the embedding, so its size must be the one the user asked for: checked on
                // the first line, before reading a possibly large file.
                int dimension = WordVectorFile.ReadDimension(file);
                if (dimension != o.EmbeddingSize)
                {
                    throw new ArgumentException($"{component}: WordVectorsFile '{file}' holds vectors of {dimension} values but " +
                        $"EmbeddingSize is {o.EmbeddingSize}; set EmbeddingSize to {dimension}.", nameof(o.EmbeddingSize));
                }
                pretrained = WordVectorFile.Load(file, words, (int)vocabulary, seed, out int found);
                ch.Info($"{component}: {found} of {words.Length} tokens found in WordVectorsFile '{file}'.");
            }
            catch (FormatException e)
            {
                // Name the option the user set rather than the internal reader.
                const string reader = "WordVectorFile: ";
                string detail = e.Message.StartsWith(reader, StringComparison.Ordinal) ? e.Message[reader.Length..] : e.Message;
                throw new FormatException($"{component}: WordVectorsFile {detail}", e);
            }
        }
        return new SequenceEncoderOptions
        {
            VocabularySize = vocabulary, EmbeddingSize = o.EmbeddingSize, PretrainedEmbeddings = pretrained,
            FreezeEmbeddings = o.FreezeWordVectors, CellType = o.CellType, Cell = o.Cell, HiddenSize = o.HiddenSize,
            NumberOfLayers = o.NumberOfLayers, Bidirectional = o.Bidirectional, Stacking = o.BidirectionalStacking, DropoutBetweenLayers = o.Dropout,
            Initialization = o.Initialization,
        };
    }

    /// <summary>Writes the feature column's description.</summary>
    public void Write(ModelSaveContext ctx)
    {
        // *** Binary format ***
        // int: id of the feature column name
        // int: features per step
        // byte: feature kind (0 Single steps, 1 keys)
        // long: feature key count (0 for Single input)
        // int: longest sequence kept, 0 for no limit (since format 0x00010002 of every component)
        ctx.SaveNonEmptyString(Name);
        ctx.Writer.Write(FeaturesPerStep);
        ctx.Writer.Write((byte)(Kind == SequenceItemKind.Keys ? 1 : 0));
        ctx.Writer.Write((long)KeyCount);
        ctx.Writer.Write(MaxSteps ?? 0);
    }

    /// <summary>Reads what <see cref="Write"/> wrote; throws <see cref="FormatException"/> on corrupt values.</summary>
    public static FeatureEncoding Read(ModelLoadContext ctx, string component)
    {
        string name = ctx.LoadNonEmptyString();
        int featuresPerStep = ctx.Reader.ReadInt32();
        byte kind = ctx.Reader.ReadByte();
        long keyCount = ctx.Reader.ReadInt64();
        int maxSteps = ctx.Header.ModelVerWritten >= MaxStepsVersion ? ctx.Reader.ReadInt32() : 0;
        // Bounds: a key count beyond UInt32 cannot come from an ML.NET key type; F beyond 2^24 Single values per
        // step is no sequence model anyone trains.
        if (featuresPerStep < 1 || featuresPerStep > 1 << 24 || kind > 1 || keyCount < 0 || keyCount > uint.MaxValue
            || (kind == 1 && (keyCount == 0 || featuresPerStep != 1)) || maxSteps < 0 || maxSteps > MaxStepsBound)
        {
            throw new FormatException($"{component}: corrupt feature column description in the model (features per step " +
                $"{featuresPerStep}, kind {kind}, key count {keyCount}, longest sequence {maxSteps}).");
        }
        return new FeatureEncoding(name, kind == 1 ? SequenceItemKind.Keys : SequenceItemKind.Singles, (ulong)keyCount, featuresPerStep,
            maxSteps == 0 ? null : maxSteps);
    }

    /// <summary>
    /// Throws <see cref="FormatException"/> naming <paramref name="component"/> when a loaded network description does
    /// not fit this feature column (a corrupt file could otherwise load and fail inside libtorch at scoring time).
    /// </summary>
    public void CheckNetwork(SequenceEncoderOptions encoder, string component)
    {
        ArgumentNullException.ThrowIfNull(encoder);
        bool fits = Kind == SequenceItemKind.Keys
            ? encoder.VocabularySize == (long)KeyCount + 1
            : encoder.VocabularySize == 0 && encoder.InputSize == FeaturesPerStep;
        if (!fits)
        {
            throw new FormatException($"{component}: corrupt model: the network (vocabulary {encoder.VocabularySize}, input size " +
                $"{encoder.InputSize}) does not fit feature column '{Name}' ({Kind}, key count {KeyCount}, features per step {FeaturesPerStep}).");
        }
    }

    /// <summary>Binds the feature column of a scoring (or validation) schema, which must be of the kind the model was trained on.</summary>
    /// <param name="schema">The schema to bind.</param>
    /// <param name="parameterName">The caller's parameter named in the exception (e.g. "validationData").</param>
    public SequenceColumn Bind(DataViewSchema schema, string parameterName = "schema")
    {
        // Key steps are bound one per step whatever the model's F, so a key column given to a Single-step model is
        // reported as the type mismatch it is rather than as a features-per-step error.
        bool keyColumn = schema.GetColumnOrNull(Name)?.Type is VectorDataViewType { ItemType: KeyDataViewType };
        var column = SequenceColumn.Bind(schema, Name, Kind == SequenceItemKind.Keys || keyColumn ? 1 : FeaturesPerStep);
        if (column.Kind != Kind || column.KeyCount != KeyCount)
        {
            string expected = Kind == SequenceItemKind.Keys
                ? new VectorDataViewType(new KeyDataViewType(typeof(uint), KeyCount)).ToString()
                : "vector of Single";
            throw Contracts.ExceptSchemaMismatch(parameterName, "feature", Name, expected, column.Type.ToString());
        }
        return column.WithMaxSteps(MaxSteps);
    }
}
