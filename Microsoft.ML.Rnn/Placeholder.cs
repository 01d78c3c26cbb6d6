namespace Microsoft.ML.Rnn;
