namespace Microsoft.ML.Rnn;

/// <summary>What <see cref="BiGruEncoder"/> trains its encoder on.</summary>
public enum EncoderObjective
{
    /// <summary>Predict the row's label (key or Boolean column) from the pooled encoding; the classification head is dropped after training.</summary>
    Supervised,
    /// <summary>No label: predict each next step (token or feature vector) from the forward direction's outputs.</summary>
    NextStepPrediction,
}
