using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.Rnn.Core;

/// <summary>
/// A padded, batch-major batch of sequences and their lengths, validated once where it is made (the role of PyTorch's
/// <c>PackedSequence</c>, kept padded): the encoder, the unrollers, the cells and the fused kernels read the lengths and
/// their range from here instead of checking or scanning them again.
/// </summary>
/// <remarks>
/// <see cref="Data"/> is (N, L, ...): features (N, L, F) or token ids (N, L). <see cref="Lengths"/> is (N) int64 on
/// the CPU in [0, L], or null when every sequence has all L steps (the same meaning; the paths without lengths then
/// skip masks). The batch does not own its tensors: they follow the dispose scope they were made in.
/// </remarks>
public sealed class SequenceBatch
{
    private readonly long[]? _lengths;

    private SequenceBatch(Tensor data, Tensor? lengths, long[]? lengthValues, long min, long max)
    {
        Data = data;
        Lengths = lengths;
        _lengths = lengthValues;
        MinLength = min;
        MaxLength = max;
    }

    /// <summary>(N, L, ...) padded data; values past a sequence's length may hold anything.</summary>
    public Tensor Data { get; }

    /// <summary>(N) int64 lengths on the CPU, or null when every sequence has all <see cref="Steps"/> steps.</summary>
    public Tensor? Lengths { get; }

    /// <summary>
    /// For token ids: the (N, L, W) int64 character ids of every token (0 past a token's end), read by an encoder with
    /// a <c>CharacterEncoder</c>; null otherwise.
    /// </summary>
    public Tensor? Characters { get; private init; }

    /// <summary>
    /// For token text read with a word bag: each row's distinct bag word ids (N, B) int64 and how often each occurs
    /// (N, B) float32, 0 at padding (read by a classifier's <c>WordBagPath</c>); null otherwise.
    /// </summary>
    public (Tensor Ids, Tensor Counts)? WordBag { get; private init; }

    /// <summary>N: sequences in the batch.</summary>
    public long BatchSize => Data.shape[0];

    /// <summary>L: padded steps.</summary>
    public long Steps => Data.shape[1];

    /// <summary>The shortest length (L when every sequence is full, or when the batch is empty).</summary>
    public long MinLength { get; }

    /// <summary>The longest length (L when every sequence is full, or when the batch is empty).</summary>
    public long MaxLength { get; }

    /// <summary>True when every sequence has all <see cref="Steps"/> steps (<see cref="Lengths"/> is null).</summary>
    public bool AllFull => Lengths is null;

    /// <summary>The lengths as numbers (every one L when <see cref="AllFull"/>).</summary>
    public long[] LengthValues => _lengths?.ToArray() ?? Enumerable.Repeat(Steps, (int)BatchSize).ToArray();

    /// <summary>The lengths read by the fused kernels without a copy, or null when <see cref="AllFull"/>.</summary>
    internal long[]? VaryingLengths => _lengths;

    /// <summary>
    /// Validates <paramref name="data"/> (batch-major, rank 2 or more) and <paramref name="lengths"/> ((N) integers in
    /// [0, L], or null for all L) once, reading the lengths to the CPU; errors name <paramref name="caller"/> and the
    /// caller's parameter <paramref name="lengthsParameter"/>.
    /// </summary>
    public static SequenceBatch Create(Tensor data, Tensor? lengths = null, string caller = nameof(SequenceBatch),
        string lengthsParameter = "lengths")
    {
        ArgumentNullException.ThrowIfNull(data);
        if (data.dim() < 2)
            throw new ArgumentException($"{caller}: expected batch-major inputs of shape (N, L, ...), got {FormatShape(data.shape)}.", nameof(data));
        long n = data.shape[0], l = data.shape[1];
        if (lengths is null) return new SequenceBatch(data, null, null, l, l);
        if (lengths.dim() != 1 || lengths.shape[0] != n)
            throw new ArgumentException($"{caller}: expected sequence lengths of shape ({n}), got {FormatShape(lengths.shape)}.", lengthsParameter);
        if (lengths.is_floating_point() || lengths.dtype == ScalarType.Bool || lengths.is_complex())
            throw new ArgumentException($"{caller}: sequence lengths must be integers, got {lengths.dtype}.", lengthsParameter);
        var cpu = lengths.dtype == ScalarType.Int64 && lengths.device_type == DeviceType.CPU ? lengths : lengths.to(ScalarType.Int64, CPU);
        var values = cpu.data<long>().ToArray();
        if (n == 0) return new SequenceBatch(data, null, null, l, l);
        var (min, max) = Range(values);
        if (min < 0 || max > l)
        {
            throw new ArgumentOutOfRangeException(lengthsParameter,
                $"{caller}: sequence lengths must lie in [0, {l}] (the number of steps), got values from {min} to {max}.");
        }
        return min == l ? new SequenceBatch(data, null, null, l, l) : new SequenceBatch(data, cpu, values, min, max);
    }

    /// <summary>A batch from lengths its maker knows to be in [0, L] (e.g. counted while padding the rows).</summary>
    internal static SequenceBatch FromValidLengths(Tensor data, long[] lengths)
    {
        long l = data.shape[1];
        if (lengths.Length == 0) return new SequenceBatch(data, null, null, l, l);
        var (min, max) = Range(lengths);
        return min == l ? new SequenceBatch(data, null, null, l, l) : new SequenceBatch(data, tensor(lengths), lengths, min, max);
    }

    /// <summary>The same sequences' lengths (and characters) with other data of the same N and L (embedded tokens, a layer's outputs).</summary>
    public SequenceBatch WithData(Tensor data)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (data.dim() < 2 || data.shape[0] != BatchSize || data.shape[1] != Steps)
            throw new ArgumentException($"SequenceBatch: expected data of shape ({BatchSize}, {Steps}, ...), got {FormatShape(data.shape)}.", nameof(data));
        return With(data, Characters, WordBag);
    }

    /// <summary>This batch of token ids with their tokens' (N, L, W) int64 character ids (see <see cref="Characters"/>).</summary>
    public SequenceBatch WithCharacters(Tensor characters)
    {
        ArgumentNullException.ThrowIfNull(characters);
        if (characters.dim() != 3 || characters.shape[0] != BatchSize || characters.shape[1] != Steps || characters.dtype != ScalarType.Int64)
        {
            throw new ArgumentException(
                $"SequenceBatch: expected character ids of shape ({BatchSize}, {Steps}, W) int64, got {FormatShape(characters.shape)} {characters.dtype}.", nameof(characters));
        }
        return With(Data, characters, WordBag);
    }

    /// <summary>This batch with each row's bag of words (see <see cref="WordBag"/>): ids (N, B) int64 and counts (N, B) float32.</summary>
    public SequenceBatch WithWordBag(Tensor ids, Tensor counts)
    {
        ArgumentNullException.ThrowIfNull(ids);
        ArgumentNullException.ThrowIfNull(counts);
        if (ids.dim() != 2 || ids.shape[0] != BatchSize || ids.dtype != ScalarType.Int64
            || counts.dtype != ScalarType.Float32 || !counts.shape.SequenceEqual(ids.shape))
        {
            throw new ArgumentException($"SequenceBatch: expected word bag ids ({BatchSize}, B) int64 and counts of the same shape float32, got " +
                $"{FormatShape(ids.shape)} {ids.dtype} and {FormatShape(counts.shape)} {counts.dtype}.", nameof(ids));
        }
        return With(Data, Characters, (ids, counts));
    }

    /// <summary>These sequences' lengths with the given data, characters and word bag.</summary>
    private SequenceBatch With(Tensor data, Tensor? characters, (Tensor Ids, Tensor Counts)? wordBag)
        => new(data, Lengths, _lengths, MinLength, MaxLength) { Characters = characters, WordBag = wordBag };

    /// <summary>The batch with its data (characters, word bag) on <paramref name="device"/> (the lengths stay on the CPU).</summary>
    public SequenceBatch To(Device device)
    {
        if (Data.device_type == device.type && (device.type == DeviceType.CPU || Data.device_index == device.index)) return this;
        return With(Data.to(device), Characters?.to(device), WordBag is { } bag ? (bag.Ids.to(device), bag.Counts.to(device)) : null);
    }

    /// <summary>(N) int64 lengths on the CPU, made when <see cref="AllFull"/>.</summary>
    public Tensor LengthsOrFull()
    {
        if (Lengths is not null) return Lengths;
        using var steps = Steps.ToScalar();
        return full(BatchSize, steps, dtype: ScalarType.Int64);
    }

    /// <summary>"(2, 7)": the one shape formatter of error messages.</summary>
    public static string FormatShape(long[] shape) => "(" + string.Join(", ", shape) + ")";

    private static (long Min, long Max) Range(long[] values)
    {
        long min = long.MaxValue, max = long.MinValue;
        foreach (long v in values)
        {
            min = Math.Min(min, v);
            max = Math.Max(max, v);
        }
        return (min, max);
    }
}
