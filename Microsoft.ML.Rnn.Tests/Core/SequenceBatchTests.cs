using Microsoft.ML.Rnn.Core;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Microsoft.ML.Rnn.Tests.Core;

/// <summary>The one batch value: validated where it is made, then read (not checked again) by everything below.</summary>
public class SequenceBatchTests
{
    [Fact]
    public void CreateReadsTheLengthsOnceAndKeepsTheirRange()
    {
        using var scope = NewDisposeScope();
        var batch = SequenceBatch.Create(zeros(3, 5, 2), tensor(new int[] { 5, 0, 2 }));
        Assert.False(batch.AllFull);
        Assert.Equal((3L, 5L), (batch.BatchSize, batch.Steps));
        Assert.Equal((0L, 5L), (batch.MinLength, batch.MaxLength));
        Assert.Equal(ScalarType.Int64, batch.Lengths!.dtype);
        Assert.Equal(DeviceType.CPU, batch.Lengths.device_type);
        Assert.Equal(new long[] { 5, 0, 2 }, batch.LengthValues);
    }

    [Fact]
    public void FullLengthsMeanNoLengths()
    {
        using var scope = NewDisposeScope();
        var given = SequenceBatch.Create(zeros(2, 4, 1), tensor(new long[] { 4, 4 }));
        var absent = SequenceBatch.Create(zeros(2, 4, 1));
        foreach (var batch in new[] { given, absent })
        {
            Assert.True(batch.AllFull);
            Assert.Null(batch.Lengths);
            Assert.Equal((4L, 4L), (batch.MinLength, batch.MaxLength));
            Assert.Equal(new long[] { 4, 4 }, batch.LengthsOrFull().data<long>().ToArray());
        }
    }

    [Fact]
    public void BadLengthsAreReportedNamingTheCallerAndTheParameter()
    {
        using var scope = NewDisposeScope();
        var range = Assert.Throws<ArgumentOutOfRangeException>(() => SequenceBatch.Create(zeros(2, 4, 1), tensor(new long[] { 1, 5 }), "Caller", "len"));
        Assert.Equal("Caller: sequence lengths must lie in [0, 4] (the number of steps), got values from 1 to 5. (Parameter 'len')", range.Message);
        var negative = Assert.Throws<ArgumentOutOfRangeException>(() => SequenceBatch.Create(zeros(2, 4, 1), tensor(new long[] { -1, 2 }), "Caller", "len"));
        Assert.Contains("got values from -1 to 2", negative.Message);
        var shape = Assert.Throws<ArgumentException>(() => SequenceBatch.Create(zeros(2, 4, 1), tensor(new long[] { 1, 2, 3 }), "Caller", "len"));
        Assert.Equal("Caller: expected sequence lengths of shape (2), got (3). (Parameter 'len')", shape.Message);
        var type = Assert.Throws<ArgumentException>(() => SequenceBatch.Create(zeros(2, 4, 1), tensor(new[] { 1f, 2f }), "Caller", "len"));
        Assert.Equal("Caller: sequence lengths must be integers, got Float32. (Parameter 'len')", type.Message);
        var rank = Assert.Throws<ArgumentException>(() => SequenceBatch.Create(zeros(4), null, "Caller"));
        Assert.StartsWith("Caller: expected batch-major inputs of shape (N, L, ...), got (4).", rank.Message);
    }

    [Fact]
    public void WithDataKeepsTheLengthsAndChecksTheShape()
    {
        using var scope = NewDisposeScope();
        var batch = SequenceBatch.Create(zeros(2, 3), tensor(new long[] { 1, 3 }));
        var embedded = batch.WithData(ones(2, 3, 8));
        Assert.Same(batch.Lengths, embedded.Lengths);
        Assert.Equal((1L, 3L), (embedded.MinLength, embedded.MaxLength));
        var e = Assert.Throws<ArgumentException>(() => batch.WithData(ones(2, 4, 8)));
        Assert.StartsWith("SequenceBatch: expected data of shape (2, 3, ...), got (2, 4, 8).", e.Message);
        Assert.Same(batch, batch.To(CPU));
    }
}
