using System.Diagnostics;
using System.Text;
using Xunit;
using Xunit.Abstractions;

namespace Microsoft.ML.Rnn.Tests.Reliability;

/// <summary>
/// Corrupted and hostile model zips: a seeded fuzzer mutates the checked-in fixtures of the three components and
/// loads each mutant with <see cref="RnnModelOperations.LoadUntrusted(ModelOperationsCatalog, Stream, out DataViewSchema)"/>.
/// Every outcome must be a model that loads and scores, or an <see cref="InvalidDataException"/>; never a crash,
/// a hang (time limit per case) or an allocation beyond a bound derived from the file size. Plus targeted absurd
/// header values (a hidden size of 2^31).
/// </summary>
public sealed class CorruptModelTests(ITestOutputHelper output)
{
    /// <summary>Managed bytes one load-and-score of a model of <paramref name="fileBytes"/> may allocate.</summary>
    /// <remarks>
    /// ML.NET inflates each entry into memory and builds its pipeline (a few MB whatever the file); the network is
    /// bounded by its weights entry, itself bounded by the file (deflate expands at most about 1,032×).
    /// </remarks>
    internal static long AllocationBound(long fileBytes) => 64L * 1024 * 1024 + 1032L * fileBytes;

    private static readonly TimeSpan CaseTimeout = TimeSpan.FromSeconds(30);

    [Fact]
    public void FuzzShort() => Fuzz(seed: 1, cases: 600);

    [SoakFact, Trait("Category", "Soak")]
    public void FuzzSoak() => Fuzz(seed: 2, cases: int.TryParse(Environment.GetEnvironmentVariable("RNN_FUZZ_CASES"), out int n) ? n : 20_000);

    private void Fuzz(int seed, int cases)
    {
        var components = new[] { "classifier", "tagger", "encoder", "regressor" };
        var originals = components.Select(c => File.ReadAllBytes(c == "regressor"
            ? VersionToleranceTests.FixturePath(c, VersionToleranceTests.CurrentFormatTag)   // the regressor's first format
            : VersionToleranceTests.FixturePath(c))).ToArray();
        var outcomes = new Dictionary<string, int>();
        var overBound = new List<string>();
        long maxAllocated = 0;
        var slowest = TimeSpan.Zero;
        long rssBefore = Process.GetCurrentProcess().WorkingSet64;
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < cases; i++)
        {
            int component = i % components.Length;
            var random = new Random(seed * 1_000_003 + i);
            var (zip, what) = ZipMutation.Mutate(originals[component], random);
            string label = $"case {i} ({components[component]}: {what})";
            var result = RunCase(zip, components[component] == "tagger");
            if (!result.Finished)
                Assert.Fail($"{label}: no result within {CaseTimeout.TotalSeconds} s (hang)");
            if (result.Error is { } error && error is not InvalidDataException)
                Assert.Fail($"{label}: undocumented exception {error.GetType().FullName}: {error}");
            long bound = AllocationBound(zip.Length);
            if (result.Allocated > bound)
                overBound.Add($"{label}: {result.Allocated:N0} bytes, bound {bound:N0}, then {result.Error?.Message ?? "loaded"}");
            maxAllocated = Math.Max(maxAllocated, result.Allocated);
            if (result.Elapsed > slowest) slowest = result.Elapsed;
            string outcome = result.Error is null ? "loaded and scored" : $"InvalidDataException ({Classify(result.Error)})";
            outcomes[outcome] = outcomes.GetValueOrDefault(outcome) + 1;
        }
        GC.Collect();
        GC.WaitForPendingFinalizers();
        long rssGrowth = Process.GetCurrentProcess().WorkingSet64 - rssBefore;
        output.WriteLine($"{cases} mutants in {clock.Elapsed.TotalSeconds:F1} s; slowest case {slowest.TotalMilliseconds:F0} ms; " +
                         $"max managed allocation {maxAllocated:N0} bytes; RSS growth {rssGrowth / 1048576.0:F1} MiB");
        foreach (var (outcome, count) in outcomes.OrderByDescending(o => o.Value))
            output.WriteLine($"  {count,5}  {outcome}");
        Assert.True(overBound.Count == 0, $"over the allocation bound:\n{string.Join("\n", overBound)}");
        // Some mutants must load (flips in weight values) and many must be rejected, or the fuzzer tests nothing.
        Assert.True(outcomes.GetValueOrDefault("loaded and scored") > 0, "no mutant loaded");
        Assert.True(outcomes.Where(o => o.Key != "loaded and scored").Sum(o => o.Value) > cases / 4, "too few mutants rejected");
        Assert.True(rssGrowth < 512L * 1024 * 1024, $"resident memory grew by {rssGrowth:N0} bytes over the run");
    }

    /// <summary>Which layer rejected the file, for the outcome table: the inner exception type chain.</summary>
    private static string Classify(Exception error)
    {
        var names = new List<string>();
        for (var e = error.InnerException; e is not null && names.Count < 3; e = e.InnerException)
            names.Add(e.GetType().Name);
        string component = error.Message.StartsWith("RNN Sequence Classifier:", StringComparison.Ordinal)
            || error.Message.StartsWith("LSTM Sequence Tagger:", StringComparison.Ordinal)
            || error.Message.StartsWith("Recurrent Sequence Encoder:", StringComparison.Ordinal) ? "component check" : "ML.NET or zip";
        return $"{component}: {string.Join(" > ", names)}";
    }

    private sealed record CaseResult(bool Finished, Exception? Error, long Allocated, TimeSpan Elapsed);

    /// <summary>Loads <paramref name="zip"/> and, when it loads, scores the fixture inputs, on its own thread with a time limit.</summary>
    private static CaseResult RunCase(byte[] zip, bool tokens)
    {
        Exception? error = null;
        long allocated = 0;
        var clock = Stopwatch.StartNew();
        var thread = new Thread(() =>
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            try
            {
                var ml = new MLContext(seed: 1);
                var model = ml.Model.LoadUntrusted(new MemoryStream(zip), out _);
                try
                {
                    var input = tokens ? VersionToleranceTests.TokenInputs(ml) : VersionToleranceTests.StepInputs(ml);
                    ScoreAll(model.Transform(input));
                }
                catch (Exception e)
                {
                    // The model loaded; scoring the fixture input may only fail because the (corrupted) model now
                    // asks for other input columns: ML.NET's schema errors.
                    if (!e.Message.StartsWith("Could not find ", StringComparison.Ordinal) && !e.Message.StartsWith("Schema mismatch for ", StringComparison.Ordinal))
                        throw new InvalidOperationException($"scoring a loaded mutant failed: {e}", e);
                }
                finally
                {
                    (model as IDisposable)?.Dispose();
                }
            }
            catch (Exception e)
            {
                error = e;
            }
            allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        }, maxStackSize: 16 * 1024 * 1024) { IsBackground = true };
        thread.Start();
        bool finished = thread.Join(CaseTimeout);
        return new CaseResult(finished, error, allocated, clock.Elapsed);
    }

    private static void ScoreAll(IDataView output)
    {
        var columns = output.Schema.Where(c => !c.IsHidden).ToArray();
        foreach (var column in columns)
            ColumnValues.Read(output, column.Name);
    }

    /// <summary>Edits the fixture's Model.key in place of its encoder description (found by value) and returns the zip.</summary>
    private static byte[] PatchEncoderHeader(string component, Func<byte[], int> locate, Action<byte[], int> patch)
    {
        var entries = ZipMutation.Read(File.ReadAllBytes(VersionToleranceTests.FixturePath(component)));
        int index = entries.FindIndex(e => e.Name.EndsWith("Model.key", StringComparison.Ordinal) && locate(e.Content) >= 0);
        Assert.True(index >= 0, "encoder description not found");
        var content = (byte[])entries[index].Content.Clone();
        patch(content, locate(content));
        entries[index] = (entries[index].Name, content);
        return ZipMutation.Write(entries);
    }

    /// <summary>The classifier fixture's encoder description: V 0, F 2, LSTM, H 6, 1 layer, unidirectional.</summary>
    private static int LocateClassifierEncoder(byte[] bytes)
    {
        var pattern = new MemoryStream();
        using (var w = new BinaryWriter(pattern, Encoding.UTF8, leaveOpen: true))
        {
            w.Write(0L); w.Write(2L); w.Write(0); w.Write(6L); w.Write(1); w.Write((byte)0);
        }
        return ZipMutation.IndexOf(bytes, pattern.ToArray());
    }

    [Theory]
    [InlineData(1L << 31, "hidden 2147483648")]
    [InlineData(1L << 19, "needs at least")] // within the sanity bound, far beyond what the weights entry holds
    public void AbsurdHiddenSizeFailsBeforeAllocating(long hidden, string expected)
    {
        // V (8 bytes) and F (8 bytes) and the cell type (4 bytes) precede the hidden size.
        byte[] zip = PatchEncoderHeader("classifier", LocateClassifierEncoder, (bytes, at) => BitConverter.GetBytes(hidden).CopyTo(bytes, at + 20));
        long before = GC.GetAllocatedBytesForCurrentThread();
        long rssBefore = Process.GetCurrentProcess().WorkingSet64;
        var error = Assert.Throws<InvalidDataException>(() => new MLContext().Model.LoadUntrusted(new MemoryStream(zip), out _));
        Assert.StartsWith("RNN Sequence Classifier: ", error.Message);
        Assert.Contains(expected, error.Message);
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < AllocationBound(zip.Length));
        Assert.True(Process.GetCurrentProcess().WorkingSet64 - rssBefore < 256L * 1024 * 1024, "a network of the claimed size was allocated");

        // Plain Model.Load: ML.NET wraps the same FormatException in a TargetInvocationException.
        var plain = Assert.ThrowsAny<Exception>(() => new MLContext().Model.Load(new MemoryStream(zip), out _));
        Assert.IsType<FormatException>(plain.InnerException);
    }

    [Fact]
    public void WeightsOfTheWrongShapeAreRejectedBeforeTorchSharpReadsThem()
    {
        // Claim a rank of 2^40 for the first tensor: TorchSharp's loader would allocate a shape array of that rank.
        var entries = ZipMutation.Read(File.ReadAllBytes(VersionToleranceTests.FixturePath("encoder")));
        int index = entries.FindIndex(e => e.Name.EndsWith("/Encoder", StringComparison.Ordinal));
        var weights = (byte[])entries[index].Content.Clone();
        var reader = new BinaryReader(new MemoryStream(weights));
        reader.Read7BitEncodedInt64(); // entry count
        reader.ReadString(); // first name
        reader.Read7BitEncodedInt64(); // type code
        int rankAt = (int)reader.BaseStream.Position;
        Assert.Equal(2, weights[rankAt]); // a weight matrix
        var patched = new MemoryStream();
        patched.Write(weights, 0, rankAt);
        using (var w = new BinaryWriter(patched, Encoding.UTF8, leaveOpen: true))
            w.Write7BitEncodedInt64(1L << 40);
        patched.Write(weights, rankAt + 1, weights.Length - rankAt - 1);
        entries[index] = (entries[index].Name, patched.ToArray());
        var error = Assert.Throws<InvalidDataException>(() => new MLContext().Model.LoadUntrusted(new MemoryStream(ZipMutation.Write(entries)), out _));
        Assert.StartsWith("Recurrent Sequence Encoder: the network weights in the model ('Encoder') do not match", error.Message);
        Assert.Contains("has rank 1099511627776, expected 2", error.Message);
    }

    [Theory]
    [InlineData(-1L)] // the two soak mutants (seed 2, cases 4594 and 13210) that made ML.NET's decoder allocate 1.5 GB
    [InlineData(4294967295L)]
    public void CorruptCountInAnAnnotationOfTheSavedSchemaFailsBeforeMLNetDecodesIt(long value)
    {
        // Offset 268 of the tagger's Schema entry lies inside the deflated KeyValues annotation block of its Label column
        // (the block starts at 256, right after the header): the flip inflates to an absurd count.
        var entries = ZipMutation.Read(File.ReadAllBytes(VersionToleranceTests.FixturePath("tagger")));
        int index = entries.FindIndex(e => e.Name == "Schema");
        var schema = (byte[])entries[index].Content.Clone();
        BitConverter.GetBytes((uint)value).CopyTo(schema, 268);
        entries[index] = ("Schema", schema);
        byte[] zip = ZipMutation.Write(entries);

        long before = GC.GetAllocatedBytesForCurrentThread();
        var error = Assert.Throws<InvalidDataException>(() => new MLContext().Model.LoadUntrusted(new MemoryStream(zip), out _));
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(error.Message.Contains("annotation 'KeyValues'", StringComparison.Ordinal), error.Message);
        Assert.True(allocated < AllocationBound(zip.Length), $"allocated {allocated:N0} bytes");
    }

    [Fact]
    public void TruncatedAndEmptyFilesFailCleanly()
    {
        byte[] original = File.ReadAllBytes(VersionToleranceTests.FixturePath("tagger"));
        foreach (int length in new[] { 0, 1, 22, original.Length / 2, original.Length - 1 })
            Assert.Throws<InvalidDataException>(() => new MLContext().Model.LoadUntrusted(new MemoryStream(original[..length]), out _));
        Assert.Throws<InvalidDataException>(() => new MLContext().Model.LoadUntrusted(new MemoryStream(Encoding.ASCII.GetBytes("not a zip at all")), out _));
    }
}
