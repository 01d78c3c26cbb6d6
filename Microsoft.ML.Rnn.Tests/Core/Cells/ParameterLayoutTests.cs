using Microsoft.ML.Rnn.Core;
using Xunit;
using static TorchSharp.torch;

namespace Microsoft.ML.Rnn.Tests.Core.Cells;

/// <summary>One parameter layout per cell: the names of its weights do not depend on whether its options let it fuse.</summary>
public class ParameterLayoutTests
{
    private static readonly string[] Weights = ["bias_hh", "bias_ih", "weight_hh", "weight_ih"];

    public static TheoryData<string> Cells() => new() { "lstm", "gru", "rnn" };

    [Theory]
    [MemberData(nameof(Cells))]
    public void FusedAndStepCellsNameTheirWeightsAlike(string kind)
    {
        using var scope = NewDisposeScope();
        (RnnCell fused, RnnCell? step) = kind switch
        {
            "lstm" => ((RnnCell)new LstmCell(3, 4), (RnnCell?)new LstmCell(3, 4, new LstmCellOptions { ForgetBias = 1 })),
            "gru" => (new GruCell(3, 4), new GruCell(3, 4, GruResetGate.BeforeRecurrentMatmul)),
            _ => (new SimpleRnnCell(3, 4), null),
        };
        Assert.True(fused.CanFuse);
        Assert.Equal(Weights, fused.state_dict().Keys.Order());
        Assert.Equal(Weights, fused.named_parameters().Select(p => p.name).Order());
        if (step is not null)
        {
            Assert.False(step.CanFuse);
            Assert.Equal(Weights, step.state_dict().Keys.Order());
            // The same names, so one cell's saved weights load into the other.
            using var buffer = new MemoryStream();
            fused.save(new BinaryWriter(buffer));
            buffer.Position = 0;
            step.load(new BinaryReader(buffer));
            foreach (var name in Weights)
                Assert.Equal(fused.state_dict()[name].data<float>().ToArray(), step.state_dict()[name].data<float>().ToArray());
        }
        // The names a parent module sees are the cell's, prefixed.
        using var stacked = new StackedCell([fused]);
        Assert.All(stacked.state_dict().Keys, key => Assert.Contains(key.Split('.').Last(), Weights));
    }
}
