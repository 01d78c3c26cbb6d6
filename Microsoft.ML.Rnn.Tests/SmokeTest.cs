using TorchSharp;
using Xunit;
public class SmokeTest
{
    [Fact]
    public void LstmForwardRuns()
    {
        using var lstm = torch.nn.LSTM(5, 3, batchFirst: true);
        using var x = torch.randn(2, 4, 5);
        var (y, h, c) = lstm.forward(x);
        Assert.Equal(new long[] { 2, 4, 3 }, y.shape);
    }
}
