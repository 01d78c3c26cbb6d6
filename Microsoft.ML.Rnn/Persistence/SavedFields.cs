using Microsoft.ML.Data.IO;
using Microsoft.ML.Data;
using Microsoft.ML.Rnn.Features;
using Microsoft.ML.Runtime;

namespace Microsoft.ML.Rnn.Persistence;

/// <summary>
/// The fields a component writes into its zip entry besides ML.NET's own (strings through the string table, ints):
/// string arrays, float arrays and key-value annotations (vocabularies, label names), each read back with its counts
/// checked against the bytes left in the entry (<see cref="ModelPersistence.CheckCount"/>) before anything is allocated.
/// </summary>
internal static class SavedFields
{
    /// <summary>Writes a string array: int count, then one string-table id per string (null allowed).</summary>
    public static void WriteStrings(ModelSaveContext ctx, IReadOnlyList<string?> values)
    {
        ArgumentNullException.ThrowIfNull(ctx);
        ArgumentNullException.ThrowIfNull(values);
        ctx.Writer.Write(values.Count);
        foreach (var value in values)
            ctx.SaveStringOrNull(value);
    }

    /// <summary>Reads a string array written by <see cref="WriteStrings"/>.</summary>
    public static string?[] ReadStrings(ModelLoadContext ctx)
    {
        ArgumentNullException.ThrowIfNull(ctx);
        int count = ctx.Reader.ReadInt32();
        ModelPersistence.CheckCount(ctx, count, sizeof(int), "string");
        var values = new string?[count];
        for (int i = 0; i < count; i++)
            values[i] = ctx.LoadStringOrNull();
        return values;
    }

    /// <summary>Writes a float array: int count, then the values.</summary>
    public static void WriteSingles(ModelSaveContext ctx, ReadOnlySpan<float> values)
    {
        ArgumentNullException.ThrowIfNull(ctx);
        ctx.Writer.Write(values.Length);
        foreach (float value in values)
            ctx.Writer.Write(value);
    }

    /// <summary>Reads a float array written by <see cref="WriteSingles"/>.</summary>
    public static float[] ReadSingles(ModelLoadContext ctx)
    {
        ArgumentNullException.ThrowIfNull(ctx);
        int count = ctx.Reader.ReadInt32();
        ModelPersistence.CheckCount(ctx, count, sizeof(float), "float");
        var values = new float[count];
        for (int i = 0; i < count; i++)
            values[i] = ctx.Reader.ReadSingle();
        return values;
    }

    /// <summary>
    /// Writes optional key values (e.g. a label column's <c>KeyValues</c> annotation): byte 0 when
    /// <paramref name="keyValues"/> is null; byte 2 and a string array (<see cref="WriteStrings"/>) for text (since
    /// format 0x00010002); otherwise byte 1 and the type and value in ML.NET's binary codec.
    /// </summary>
    public static void WriteKeyValues(ModelSaveContext ctx, IHostEnvironment env, KeyValueAnnotation? keyValues)
    {
        ArgumentNullException.ThrowIfNull(ctx);
        ArgumentNullException.ThrowIfNull(env);
        if (keyValues is null)
        {
            ctx.Writer.Write((byte)0);
            return;
        }
        if (keyValues.Type.ItemType is TextDataViewType)
        {
            // Text as our own string array (bounded reading), not ML.NET's text codec, which sizes its character
            // buffer from a count in the file (a flipped byte asked for 4.5 GB in the fuzz test).
            ctx.Writer.Write((byte)2);
            WriteStrings(ctx, keyValues.ToStrings());
            return;
        }
        ctx.Writer.Write((byte)1);
        var saver = new BinarySaver(env, new BinarySaver.Arguments());
        if (!keyValues.TryWrite(saver, ctx.Writer.BaseStream))
            throw new InvalidOperationException($"Cannot save key values of type {keyValues.Type}: ML.NET has no codec for it.");
    }

    /// <summary>
    /// Reads key values written by <see cref="WriteKeyValues"/>; null when none were saved. With
    /// <paramref name="expectedCount"/>, the saved vector must have exactly that many values (checked, like every
    /// size ML.NET's codec would allocate from, before the codec reads the value).
    /// </summary>
    public static KeyValueAnnotation? ReadKeyValues(ModelLoadContext ctx, IHostEnvironment env, int? expectedCount = null)
    {
        ArgumentNullException.ThrowIfNull(ctx);
        ArgumentNullException.ThrowIfNull(env);
        byte present = ctx.Reader.ReadByte();
        if (present == 0)
            return null;
        if (present == 2)
        {
            var strings = ReadStrings(ctx);
            if (expectedCount is int expected && strings.Length != expected)
                throw new FormatException($"Corrupt model: {strings.Length} key value names, expected {expected}.");
            return KeyValueAnnotation.FromStrings(strings.Select(v => v ?? "").ToArray());
        }
        if (present != 1)
            throw new FormatException($"Corrupt model: key values marker {present}.");
        var stream = ctx.Reader.BaseStream;
        if (stream.CanSeek)
        {
            long start = stream.Position;
            long left = stream.Length - start;
            var codec = CodecCheck.Read(ctx.Reader, left);
            if (codec.ItemCodec == "TextSpan" && ctx.Header.ModelVerWritten >= FeatureEncoding.MaxStepsVersion)
                throw new FormatException("Corrupt model: text key values in ML.NET's codec, which this format version never writes.");
            if (codec.Name != "VBuffer" || (expectedCount is int n && (codec.Dimensions.Length != 1 || codec.Dimensions[0] != n)))
                throw new FormatException($"Corrupt model: key values of codec '{codec.Name}' and dimensions [{string.Join(", ", codec.Dimensions)}], expected {expectedCount?.ToString() ?? "a vector"}.");
            CodecCheck.CheckValue(ctx.Reader, codec, stream.Length - stream.Position);
            stream.Position = start;
        }
        var saver = new BinarySaver(env, new BinarySaver.Arguments());
        // EndCheckedStream: ML.NET's codecs loop forever on a stream that ends before a (corrupt) count is satisfied.
        if (!saver.TryLoadTypeAndValue(new EndCheckedStream(ctx.Reader.BaseStream), out DataViewType type, out object value)
            || type is not VectorDataViewType vectorType)
            throw new FormatException("Corrupt model: cannot decode the saved key values.");
        return new KeyValueAnnotation(vectorType, value);
    }
}
