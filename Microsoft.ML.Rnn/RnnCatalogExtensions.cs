namespace Microsoft.ML.Rnn;

/// <summary>Adds <c>Rnn</c> to <see cref="TransformsCatalog"/>.</summary>
public static class RnnCatalogExtensions
{
    extension(TransformsCatalog catalog)
    {
        /// <summary>The recurrent-network transforms: <c>mlContext.Transforms.Rnn</c>.</summary>
        public RnnCatalog Rnn => new(catalog);
    }
}
