using Xunit;

namespace Microsoft.ML.Rnn.Tests.MLNet;

/// <summary>The <c>mlContext.Transforms.Rnn</c> entry point.</summary>
public sealed class RnnCatalogTests
{
    [Fact]
    public void RnnCatalogHangsOffTransformsAndSharesTheEnvironment()
    {
        var ml = new MLContext(seed: 3);
        RnnCatalog rnn = ml.Transforms.Rnn;
        Assert.Same(ml.Transforms, rnn.Transforms);
        Assert.Same(((Microsoft.ML.Data.IInternalCatalog)ml.Transforms).Environment, rnn.Environment);
    }
}
