using Microsoft.ML.Data;
using Microsoft.ML.Rnn.Networks;
using Microsoft.ML.Rnn.Persistence;
using Microsoft.ML.Runtime;
using static TorchSharp.torch;

namespace Microsoft.ML.Rnn.Features;

/// <summary>
/// What every component does with its feature column: build the encoder options from the user's options and the
/// column kind (training), write/read the feature column's description (persistence), and check that a scoring schema
/// has the same kind of column (scoring).
/// </summary>
internal sealed record FeatureEncoding(string Name, SequenceItemKind Kind, ulong KeyCount, int FeaturesPerStep, int? MaxSteps = null,
    TokenVocabulary? Vocabulary = null)
{
    /// <summary>Largest <see cref="MaxSteps"/> a model may claim (a sanity bound for loading untrusted files).</summary>
    public const int MaxStepsBound = 1 << 28;

    /// <summary>First version of this block (<see cref="FormatBlocks"/>) that writes <see cref="MaxSteps"/>.</summary>
    public const uint MaxStepsVersion = 0x00010002;

    /// <summary>First version of this block that reads text tokens (kind 2, with the vocabulary).</summary>
    public const uint TokensVersion = 0x00010006;

    /// <summary>First version of this block that reads a classifier's word bag (written only by models that have one, so
    /// that older packages still read the others).</summary>
    public const uint WordBagVersion = 0x00010009;

    /// <summary>The newest version of this block.</summary>
    public const uint BlockVersion = WordBagVersion;

    /// <summary>The encoding of a bound training column (with its <see cref="SequenceColumn.MaxSteps"/> and vocabulary).</summary>
    public static FeatureEncoding Of(SequenceColumn column)
        => new(column.Name, column.Kind, column.KeyCount, column.FeaturesPerStep, column.MaxSteps, column.Vocabulary);

    /// <summary>
    /// A bound training column, ready to read: a token column gets the vocabulary of <paramref name="data"/>'s tokens
    /// (words seen at least <see cref="RnnOptionsBase.MinimumWordCount"/> times, every character); other kinds are
    /// returned as they are.
    /// </summary>
    public static SequenceColumn WithTrainingVocabulary(IHost host, IDataView data, SequenceColumn column, RnnOptionsBase o, string component,
        bool wordBag = false)
    {
        if (column.Kind != SequenceItemKind.Tokens) return column;
        // The tokens are counted as the cursor reads them, not collected: the training text is never held whole.
        long count = 0;
        IEnumerable<string> Tokens()
        {
            using var cursor = data.GetRowCursor(new[] { data.Schema[column.Index] });
            var reader = new SequenceColumnReader(cursor, column);
            while (cursor.MoveNext())
            {
                host.CheckAlive();
                foreach (var token in reader.ReadTokenText())
                {
                    count++;
                    yield return token.ToString();
                }
            }
        }
        var vocabulary = TokenVocabulary.Build(Tokens(), o.MinimumWordCount, readCharacters: o.CharacterFeatures > 0, wordBag);
        using var ch = host.Start("Vocabulary");
        ch.Info($"{component}: feature column '{column.Name}': {count} tokens, {vocabulary.Words.Count} words seen at least " +
                $"{o.MinimumWordCount} time(s) (the others read as the unknown word), {(vocabulary.Characters is { } characters ? $"{characters.Length} characters" : "no characters read")}" +
                (vocabulary.Bag is { } bag ? $", {bag.Words.Count} words in the word bag." : "."));
        return column.WithVocabulary(vocabulary);
    }

    /// <summary>Encoder options for this feature column: an embedding with one extra row for missing keys, or Single steps.</summary>
    public SequenceEncoderOptions EncoderOptions(RnnOptionsBase o, IChannel ch, DataViewSchema.Column featureColumn, int seed, string component)
    {
        if (Kind == SequenceItemKind.Singles)
        {
            if (o.WordVectorsFile is not null)
            {
                throw new ArgumentException($"{component}: WordVectorsFile initialises token embeddings, but feature column '{Name}' " +
                    "holds Single steps (no embedding); use a key or text token column or leave WordVectorsFile unset.", nameof(o.WordVectorsFile));
            }
            return new SequenceEncoderOptions
            {
                InputSize = FeaturesPerStep, Cell = o.Cell, HiddenSize = o.HiddenSize,
                NumberOfLayers = o.NumberOfLayers, Bidirectional = o.Bidirectional, Stacking = o.BidirectionalStacking, DropoutBetweenLayers = o.Dropout,
                Initialization = o.Initialization,
            };
        }
        // One embedding row per key (or known word) plus one for missing keys (unknown words).
        long vocabulary = Vocabulary?.WordCount ?? checked((long)KeyCount + 1);
        Tensor? pretrained = null;
        if (o.WordVectorsFile is { } file)
        {
            var words = Vocabulary?.Words.ToArray() ?? KeyValueAnnotation.FromColumn(featureColumn)?.ToStrings()
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
            FreezeEmbeddings = o.FreezeWordVectors,
            CharacterVocabularySize = Vocabulary?.CharacterCount ?? 0,
            CharacterFeatures = o.CharacterFeatures, Cell = o.Cell, HiddenSize = o.HiddenSize,
            NumberOfLayers = o.NumberOfLayers, Bidirectional = o.Bidirectional, Stacking = o.BidirectionalStacking, DropoutBetweenLayers = o.Dropout,
            Initialization = o.Initialization,
        };
    }

    /// <summary>Writes the feature column's description.</summary>
    public void Write(ModelSaveContext ctx)
    {
        // *** Binary format ***
        // uint: the block's version (since component format 0x00010008; FormatBlocks)
        // int: id of the feature column name
        // int: features per step
        // byte: feature kind (0 Single steps, 1 keys, 2 text tokens since block version 0x00010006)
        // long: feature key count (0 for Single and token input)
        // int: longest sequence kept, 0 for no limit (since block version 0x00010002)
        // for text tokens: strings: the known words in id order; int: character count (-1: words only), then each
        //                 character as UInt16; since block version 0x00010009 (written only with a word bag): strings:
        //                 the word bag's words in id order
        FormatBlocks.Write(ctx, Vocabulary?.Bag is null ? TokensVersion : WordBagVersion);
        ctx.SaveNonEmptyString(Name);
        ctx.Writer.Write(FeaturesPerStep);
        ctx.Writer.Write((byte)Kind);
        ctx.Writer.Write((long)KeyCount);
        ctx.Writer.Write(MaxSteps ?? 0);
        if (Kind != SequenceItemKind.Tokens) return;
        var vocabulary = Vocabulary ?? throw new InvalidOperationException($"Token column '{Name}' has no vocabulary to save.");
        SavedFields.WriteStrings(ctx, vocabulary.Words);
        ctx.Writer.Write(vocabulary.Characters?.Length ?? -1);
        foreach (char c in vocabulary.Characters ?? "")
            ctx.Writer.Write((ushort)c);
        if (vocabulary.Bag is { } bag)
            SavedFields.WriteStrings(ctx, bag.Words);
    }

    /// <summary>Reads what <see cref="Write"/> wrote; throws <see cref="FormatException"/> on corrupt values.</summary>
    public static FeatureEncoding Read(ModelLoadContext ctx, string component)
    {
        uint version = FormatBlocks.Read(ctx, BlockVersion, "feature column description", component);
        string name = ctx.LoadNonEmptyString();
        int featuresPerStep = ctx.Reader.ReadInt32();
        byte kind = ctx.Reader.ReadByte();
        long keyCount = ctx.Reader.ReadInt64();
        int maxSteps = version >= MaxStepsVersion ? ctx.Reader.ReadInt32() : 0;
        // Bounds: a key count beyond UInt32 cannot come from an ML.NET key type; F beyond 2^24 Single values per
        // step is no sequence model anyone trains.
        int kinds = version >= TokensVersion ? 3 : 2;
        if (featuresPerStep < 1 || featuresPerStep > 1 << 24 || kind >= kinds || keyCount < 0 || keyCount > uint.MaxValue
            || (kind == 1 && (keyCount == 0 || featuresPerStep != 1)) || (kind == 2 && (keyCount != 0 || featuresPerStep != 1))
            || maxSteps < 0 || maxSteps > MaxStepsBound)
        {
            throw new FormatException($"{component}: corrupt feature column description in the model (features per step " +
                $"{featuresPerStep}, kind {kind}, key count {keyCount}, longest sequence {maxSteps}).");
        }
        return new FeatureEncoding(name, (SequenceItemKind)kind, (ulong)keyCount, featuresPerStep, maxSteps == 0 ? null : maxSteps,
            kind == 2 ? ReadVocabulary(ctx, component, readsBag: version >= WordBagVersion) : null);
    }

    private static TokenVocabulary ReadVocabulary(ModelLoadContext ctx, string component, bool readsBag)
    {
        var words = SavedFields.ReadStrings(ctx);
        int characters = ctx.Reader.ReadInt32();
        if (words.Length > TokenVocabulary.MaxWords || words.Any(w => w is null) || characters < -1 || characters > char.MaxValue + 1)
            throw new FormatException($"{component}: corrupt token vocabulary in the model ({words.Length} words, {characters} characters).");
        var text = new char[Math.Max(characters, 0)];
        for (int i = 0; i < text.Length; i++)
            text[i] = (char)ctx.Reader.ReadUInt16();
        var bagWords = readsBag ? SavedFields.ReadStrings(ctx) : null;
        try
        {
            return new TokenVocabulary(words!, characters < 0 ? null : new string(text), bagWords is null ? null : new WordBagVocabulary(bagWords!));
        }
        catch (ArgumentException e)
        {
            throw new FormatException($"{component}: corrupt token vocabulary in the model: {e.Message}", e);
        }
    }

    /// <summary>
    /// Throws <see cref="FormatException"/> naming <paramref name="component"/> when a loaded network description does
    /// not fit this feature column (a corrupt file could otherwise load and fail inside libtorch at scoring time).
    /// </summary>
    public void CheckNetwork(SequenceEncoderOptions encoder, string component)
    {
        ArgumentNullException.ThrowIfNull(encoder);
        bool fits = Kind switch
        {
            SequenceItemKind.Keys => encoder.VocabularySize == (long)KeyCount + 1 && !encoder.UsesCharacters,
            SequenceItemKind.Tokens => encoder.VocabularySize == Vocabulary!.WordCount
                && encoder.CharacterVocabularySize == Vocabulary.CharacterCount,
            _ => encoder.VocabularySize == 0 && encoder.InputSize == FeaturesPerStep && !encoder.UsesCharacters,
        };
        if (!fits)
        {
            throw new FormatException($"{component}: corrupt model: the network (vocabulary {encoder.VocabularySize}, characters " +
                $"{encoder.CharacterVocabularySize}, input size {encoder.InputSize}) does not fit feature column '{Name}' ({Kind}, key count " +
                $"{KeyCount}, words {Vocabulary?.WordCount ?? 0}, features per step {FeaturesPerStep}).");
        }
    }

    /// <summary>Binds the feature column of a scoring (or validation) schema, which must be of the kind the model was trained on.</summary>
    /// <param name="schema">The schema to bind.</param>
    /// <param name="parameterName">The caller's parameter named in the exception (e.g. "validationData").</param>
    public SequenceColumn Bind(DataViewSchema schema, string parameterName = "schema")
    {
        // Key and text steps are bound one per step whatever the model's F, so such a column given to a Single-step model is
        // reported as the type mismatch it is rather than as a features-per-step error.
        bool oneStepItems = schema.GetColumnOrNull(Name)?.Type is VectorDataViewType { ItemType: KeyDataViewType or TextDataViewType };
        var column = SequenceColumn.Bind(schema, Name, Kind != SequenceItemKind.Singles || oneStepItems ? 1 : FeaturesPerStep);
        if (column.Kind != Kind || column.KeyCount != KeyCount)
        {
            string expected = Kind switch
            {
                SequenceItemKind.Keys => new VectorDataViewType(new KeyDataViewType(typeof(uint), KeyCount)).ToString(),
                SequenceItemKind.Tokens => "vector of String (tokens)",
                _ => "vector of Single",
            };
            throw Contracts.ExceptSchemaMismatch(parameterName, "feature", Name, expected, column.Type.ToString());
        }
        column = column.WithMaxSteps(MaxSteps);
        return Vocabulary is null ? column : column.WithVocabulary(Vocabulary);
    }
}
