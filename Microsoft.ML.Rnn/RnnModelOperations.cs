using System.IO.Compression;
using System.Reflection;
using Microsoft.ML.Data.IO;
using Microsoft.ML.Data;
using Microsoft.ML.Rnn.Persistence;

namespace Microsoft.ML.Rnn;

/// <summary>
/// Loading model zips that may be corrupt or hostile (files from elsewhere, partial downloads) with one documented
/// failure type. <c>mlContext.Model.Load</c> loads the same models; this wrapper only changes how failures surface.
/// </summary>
public static class RnnModelOperations
{
    /// <summary>
    /// Loads a model zip like <see cref="ModelOperationsCatalog.Load(Stream, out DataViewSchema)"/>, but every failure
    /// caused by the content of <paramref name="stream"/> (a damaged zip, a corrupt or hostile entry, a format newer
    /// than this package reads, an unknown component) is an <see cref="InvalidDataException"/> whose message is the
    /// root cause (e.g. "RNN Sequence Classifier: cannot load this model: ...") and whose
    /// <see cref="Exception.InnerException"/> is what ML.NET threw. Plain <c>Model.Load</c> throws the same causes
    /// wrapped in <see cref="TargetInvocationException"/> by ML.NET's reflection-based loader.
    /// </summary>
    /// <param name="catalog">The MLContext's <c>Model</c> catalog.</param>
    /// <param name="stream">A readable, seekable stream holding the zip.</param>
    /// <param name="inputSchema">The input schema saved with the model.</param>
    public static ITransformer LoadUntrusted(this ModelOperationsCatalog catalog, Stream stream, out DataViewSchema inputSchema)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(stream);
        try
        {
            CheckSchemaEntry(catalog, stream);
            return catalog.Load(stream, out inputSchema);
        }
        catch (Exception e) when (e is not (OperationCanceledException or OutOfMemoryException or InvalidDataException))
        {
            var root = e;
            while (root is TargetInvocationException { InnerException: { } inner })
                root = inner;
            throw new InvalidDataException(root.Message, e);
        }
    }

    /// <summary>
    /// Checks the saved input schema (the zip's "Schema" entry) with <see cref="SchemaEntryCheck"/>, then reads it
    /// through a stream that fails at its end: ML.NET's own reader of that entry spins forever when a corrupt count asks
    /// for more bytes than the entry holds (found by the fuzz test), so a bad entry must fail here before
    /// <c>Model.Load</c> reads it.
    /// </summary>
    private static void CheckSchemaEntry(ModelOperationsCatalog catalog, Stream stream)
    {
        long start = stream.Position;
        try
        {
            using var archive = new ZipArchive(stream, ZipArchiveMode.Read, leaveOpen: true);
            if (archive.GetEntry("Schema") is not { } entry)
                return;
            var content = new MemoryStream();
            using (var source = entry.Open())
                source.CopyTo(content);
            SchemaEntryCheck.Check(content.ToArray());
            content.Position = 0;
            var env = ((IInternalCatalog)catalog).Environment;
            _ = new BinaryLoader(env, new BinaryLoader.Arguments(), new EndCheckedStream(content)).Schema;
        }
        finally
        {
            stream.Position = start;
        }
    }

    /// <summary>
    /// Saves <paramref name="model"/> like <see cref="ModelOperationsCatalog.Save(ITransformer, DataViewSchema, string)"/>
    /// but never leaves a partial file: the zip is written to a temporary file in the same folder and moved over
    /// <paramref name="filePath"/> only when complete (an existing file stays untouched if saving fails). Plain
    /// <c>Model.Save</c> to a path creates the file first and leaves a truncated zip behind when saving throws.
    /// </summary>
    /// <param name="catalog">The MLContext's <c>Model</c> catalog.</param>
    /// <param name="model">The transformer (or chain) to save.</param>
    /// <param name="inputSchema">The schema of the data the model is applied to (saved with it).</param>
    /// <param name="filePath">Where the zip goes.</param>
    public static void SaveAtomically(this ModelOperationsCatalog catalog, ITransformer model, DataViewSchema inputSchema, string filePath)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(model);
        ArgumentException.ThrowIfNullOrEmpty(filePath);
        string full = Path.GetFullPath(filePath);
        string temporary = Path.Combine(Path.GetDirectoryName(full)!, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write))
            {
                catalog.Save(model, inputSchema, stream);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temporary, full, overwrite: true);
        }
        finally
        {
            if (File.Exists(temporary))
                File.Delete(temporary);
        }
    }

    /// <summary>
    /// Loads the model zip at <paramref name="filePath"/>; see <see cref="LoadUntrusted(ModelOperationsCatalog, Stream, out DataViewSchema)"/>.
    /// File system errors (missing file, no access) are thrown as they are.
    /// </summary>
    public static ITransformer LoadUntrusted(this ModelOperationsCatalog catalog, string filePath, out DataViewSchema inputSchema)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentException.ThrowIfNullOrEmpty(filePath);
        using var stream = File.OpenRead(filePath);
        return catalog.LoadUntrusted(stream, out inputSchema);
    }
}
