namespace Microsoft.ML.Rnn;

/// <summary>
/// How a component weights the classes in its loss, from their training frequencies (n training targets, T classes,
/// count_k of class k): <see cref="RnnSequenceClassifier.Options.ClassWeighting"/> (rows) and
/// <see cref="LstmTagger.Options.TagWeighting"/> (tokens); like scikit-learn's <c>class_weight</c> and Keras' <c>class_weight</c>.
/// </summary>
public enum ClassWeighting
{
    /// <summary>Every target counts the same.</summary>
    None,

    /// <summary>Weight n / (T · count_k): every class contributes as much as if classes were equally frequent (scikit-learn's "balanced").</summary>
    InverseFrequency,

    /// <summary>Weight sqrt(n / (T · count_k)): a milder push towards rare classes, which keeps more precision on them.</summary>
    InverseSquareRootFrequency,
}
