using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Rnn;

// Where ML.NET finds the loaders of the components' zip entries (SignatureLoadModel) and of their row mappers
// (SignatureLoadRowMapper): the zip names this assembly and the loader signature; each transformer's static Create
// methods read the entry (docs/persistence.md). A new component adds its two lines here.

[assembly: LoadableClass(typeof(RnnSequenceClassifierTransformer), null, typeof(SignatureLoadModel),
    RnnSequenceClassifierTransformer.UserName, RnnSequenceClassifierTransformer.LoaderSignature)]
[assembly: LoadableClass(typeof(IRowMapper), typeof(RnnSequenceClassifierTransformer), null, typeof(SignatureLoadRowMapper),
    RnnSequenceClassifierTransformer.UserName, RnnSequenceClassifierTransformer.LoaderSignature)]
[assembly: LoadableClass(typeof(LstmTaggerTransformer), null, typeof(SignatureLoadModel),
    LstmTaggerTransformer.UserName, LstmTaggerTransformer.LoaderSignature)]
[assembly: LoadableClass(typeof(IRowMapper), typeof(LstmTaggerTransformer), null, typeof(SignatureLoadRowMapper),
    LstmTaggerTransformer.UserName, LstmTaggerTransformer.LoaderSignature)]
[assembly: LoadableClass(typeof(BiGruEncoderTransformer), null, typeof(SignatureLoadModel),
    BiGruEncoderTransformer.UserName, BiGruEncoderTransformer.LoaderSignature)]
[assembly: LoadableClass(typeof(IRowMapper), typeof(BiGruEncoderTransformer), null, typeof(SignatureLoadRowMapper),
    BiGruEncoderTransformer.UserName, BiGruEncoderTransformer.LoaderSignature)]
[assembly: LoadableClass(typeof(SequenceRegressorTransformer), null, typeof(SignatureLoadModel),
    SequenceRegressorTransformer.UserName, SequenceRegressorTransformer.LoaderSignature)]
[assembly: LoadableClass(typeof(IRowMapper), typeof(SequenceRegressorTransformer), null, typeof(SignatureLoadRowMapper),
    SequenceRegressorTransformer.UserName, SequenceRegressorTransformer.LoaderSignature)]
