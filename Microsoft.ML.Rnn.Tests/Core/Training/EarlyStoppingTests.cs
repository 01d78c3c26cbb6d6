using Microsoft.ML.Rnn.Core.Training;
using Xunit;
using static TorchSharp.torch;

namespace Microsoft.ML.Rnn.Tests.Core.Training;

public class EarlyStoppingTests
{
    [Fact]
    public void StopsAfterPatienceEpochsWithoutImprovement()
    {
        var rule = new EarlyStopping(patience: 2, minDelta: 0.1);
        Assert.True(rule.Report(0, 1.0));
        Assert.True(rule.Report(1, 0.8));
        Assert.False(rule.Report(2, 0.75));   // better, but by less than minDelta
        Assert.False(rule.ShouldStop);
        Assert.False(rule.Report(3, 0.9));
        Assert.True(rule.ShouldStop);
        Assert.Equal(1, rule.BestEpoch);
        Assert.Equal(0.8, rule.BestMetric);
    }

    [Fact]
    public void HigherIsBetterAndNaNNeverImproves()
    {
        var rule = new EarlyStopping(patience: 3, higherIsBetter: true);
        Assert.True(rule.Report(0, 0.5));
        Assert.False(rule.Report(1, double.NaN));
        Assert.False(rule.Report(2, 0.4));
        Assert.True(rule.Report(3, 0.6));
        Assert.Equal(0, rule.EpochsWithoutImprovement);
        Assert.Equal(3, rule.BestEpoch);
    }

    [Fact]
    public void RestoresTheWeightsOfTheBestEpoch()
    {
        using var scope = NewDisposeScope();
        var module = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4));
        using var rule = new EarlyStopping(patience: 5);
        Assert.False(rule.RestoreBest(module));

        var bestWeights = module.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone());
        using (var epochScope = NewDisposeScope())
        {
            rule.Report(0, 1.0, module);   // the snapshot must survive the caller's scope
        }
        using (no_grad())
        {
            foreach (var p in module.parameters()) p.add_(1.0);
            module.state_dict()["1.running_mean"].fill_(7.0);   // buffers are restored too
        }
        rule.Report(1, 2.0, module);        // worse: no new snapshot

        Assert.True(rule.RestoreBest(module));
        foreach (var (name, value) in module.state_dict())
            Assert.True(value.equal(bestWeights[name]).all().item<bool>(), name);
        Assert.True(module.parameters().All(p => p.requires_grad));
    }

    [Fact]
    public void RejectsBadArguments()
    {
        Assert.Equal("patience", Assert.Throws<ArgumentOutOfRangeException>(() => new EarlyStopping(0)).ParamName);
        Assert.Equal("minDelta", Assert.Throws<ArgumentOutOfRangeException>(() => new EarlyStopping(1, -1)).ParamName);
        Assert.Equal("minDelta", Assert.Throws<ArgumentOutOfRangeException>(() => new EarlyStopping(1, double.NaN)).ParamName);
    }
}
