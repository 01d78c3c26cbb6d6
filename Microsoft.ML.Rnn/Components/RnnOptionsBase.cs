using Microsoft.ML.Rnn.Core;

namespace Microsoft.ML.Rnn;

/// <summary>
/// Options shared by the recurrent components (<c>RnnSequenceClassifier.Options</c>, <c>LstmTagger.Options</c>,
/// <c>BiGruEncoder.Options</c>): input columns, network shape, training schedule and device.
/// </summary>
public abstract class RnnOptionsBase
{
    /// <summary>
    /// Input column: a vector of Single (read as steps of <see cref="FeaturesPerStep"/> values), of keys (token ids) or
    /// of text (tokens, e.g. from <c>TokenizeIntoWords</c>: the component keeps its own vocabulary and reads each token's
    /// characters too, see <see cref="CharacterFeatures"/>). Default "Features".
    /// </summary>
    public string FeatureColumnName = "Features";

    /// <summary>Label column used for training. Default "Label".</summary>
    public string LabelColumnName = "Label";

    /// <summary>Single input: values per step F, at least 1; a known-size input must hold a multiple of it. Must be 1 for key input.</summary>
    public int FeaturesPerStep = 1;

    /// <summary>
    /// Longest sequence read, at least 1; longer rows keep their first <c>MaxSequenceLength</c> steps, in training and
    /// in scoring (saved with the model). Null (default) reads every step: a recurrent network scores sequences
    /// longer than any seen in training, at a time and memory cost linear in their length.
    /// </summary>
    public int? MaxSequenceLength;

    /// <summary>
    /// Text input: features each token gets from its characters (a character CNN whose output joins the word
    /// embedding), so that words never seen in training still carry their spelling; 0 reads words only. At least 0;
    /// ignored for key and Single input (their text is not in the column). Default 32.
    /// </summary>
    public int CharacterFeatures = 32;

    /// <summary>
    /// Text input: times a word must occur in the training data to get an embedding row of its own, at least 1; rarer
    /// words share the unknown word's row, which is how that row learns what unseen words look like in context. Default 2.
    /// </summary>
    public int MinimumWordCount = 2;

    /// <summary>Key or text input: embedding size E, at least 1; with <see cref="WordVectorsFile"/>, it must equal the file's vector size.</summary>
    public int EmbeddingSize = 64;

    /// <summary>Key or text input: optional word-vector text file (GloVe: "word v1 ... vE" per line; word2vec text: the same after a "count E" header line) initialising the embedding rows of the tokens it contains (exact match, else lower-cased); other rows start random. Read at training only: the model keeps the embedding.</summary>
    public string? WordVectorsFile;

    /// <summary>Keep the embedding loaded from <see cref="WordVectorsFile"/> fixed during training.</summary>
    public bool FreezeWordVectors;

    /// <summary>Hidden size H of every recurrent layer and direction, at least 1.</summary>
    public int HiddenSize = 64;

    /// <summary>Stacked recurrent layers, at least 1.</summary>
    public int NumberOfLayers = 1;

    /// <summary>Read the sequence in both directions (outputs concatenated).</summary>
    public bool Bidirectional;

    /// <summary>
    /// With <see cref="Bidirectional"/> and more than one layer: whether every layer reads both directions of the layer
    /// below (<see cref="BidirectionalStacking.LayerByLayer"/>, the default) or each direction is its own multi-layer
    /// cell (<see cref="BidirectionalStacking.PerDirection"/>, TensorFlow 1.x's <c>bidirectional_dynamic_rnn</c> over two
    /// <c>MultiRNNCell</c>s). Saved with the model.
    /// </summary>
    public BidirectionalStacking BidirectionalStacking = BidirectionalStacking.LayerByLayer;

    /// <summary>
    /// The recurrent cell: a built-in kind — the fused LSTM (the default; <see cref="RnnSequenceClassifier"/> and
    /// <see cref="BiGruEncoder"/>: GRU), <see cref="RnnCellKind.Gru"/>, <see cref="RnnCellKind.SimpleRnn"/>, or with
    /// TensorFlow's options (<see cref="RnnCellKind.Lstm"/> with peepholes, <see cref="RnnCellKind.Gru"/> with
    /// TensorFlow's reset gate, <see cref="RnnCellKind.LayerNormLstm"/>, ...) — or a cell of your own registered with
    /// <see cref="RnnCellKind.Register"/>. Saved with the model by name.
    /// </summary>
    public RnnCellKind Cell = RnnCellKind.Lstm();

    /// <summary>How the recurrent cells' weights start (<see cref="RecurrentInitialization"/>).</summary>
    public RecurrentInitialization Initialization = RecurrentInitialization.PyTorch;

    /// <summary>Dropout probability between layers and before the output layer, in [0, 1).</summary>
    public float Dropout;

    /// <summary>Maximum training epochs, at least 1.</summary>
    public int MaxEpochs = 10;

    /// <summary>Rows per mini-batch for training and for batched scoring, at least 1.</summary>
    public int BatchSize = 32;

    /// <summary>Adam learning rate, greater than 0.</summary>
    public float LearningRate = 0.01f;

    /// <summary>How the learning rate changes between epochs, starting from <see cref="LearningRate"/>.</summary>
    public LearningRateSchedule LearningRateSchedule = LearningRateSchedule.Constant;

    /// <summary>Largest global L2 norm of the gradients (clipping); 0 disables clipping. At least 0.</summary>
    public float MaxGradientNorm = 5f;

    /// <summary>Seed of weight initialisation, dropout, shuffling and the validation split; null takes one from the MLContext's seed.</summary>
    public int? Seed;

    /// <summary>Fraction of the training rows held out for validation and early stopping, in [0, 1); 0 disables the split (early stopping then watches the training loss).</summary>
    public float ValidationFraction = 0.1f;

    /// <summary>Epochs without improvement before training stops, at least 1; null runs every epoch; <see cref="AutomaticPatience"/> (0, the default) a third of <see cref="MaxEpochs"/>, at least 3. The best epoch's weights are kept.</summary>
    public int? EarlyStoppingPatience = AutomaticPatience;

    /// <summary>
    /// <see cref="EarlyStoppingPatience"/>'s default: a third of <see cref="MaxEpochs"/> (rounded up), at least 3, so that
    /// a longer run is not stopped while still improving (measured: docs/components/common-options.md, "Defaults").
    /// </summary>
    public const int AutomaticPatience = 0;

    /// <summary>The patience in force: <see cref="EarlyStoppingPatience"/>, resolved when it is <see cref="AutomaticPatience"/>.</summary>
    internal int? ResolvedPatience => EarlyStoppingPatience == AutomaticPatience ? Math.Max(3, (MaxEpochs + 2) / 3) : EarlyStoppingPatience;

    /// <summary>Where the network trains and runs. CUDA falls back to the CPU with a logged warning when unavailable.</summary>
    public RnnDevice Device = RnnDevice.Cpu;

    /// <summary>
    /// libtorch threads while training, at least 1; null uses all cores but one (one on a two-core machine), which
    /// measured fastest when anything else shares the cores. The count is process-wide and restored after training.
    /// An ensemble without dropout trains this many of its networks at a time (null: one per core), each on one thread;
    /// 1 trains them one after the other. Either way a seed gives the same networks.
    /// </summary>
    public int? NumberOfThreads;

    /// <summary>
    /// Whether libtorch's fused RNN kernels are checked before use (<see cref="FusedKernelPolicy"/>); null (default)
    /// follows the process's policy, <see cref="FusedKernelChecks.Policy"/>, which is <see cref="FusedKernelPolicy.VerifyWithoutTiming"/>
    /// unless changed: each kernel shape is checked once per process against its float64 equations, wrong kernels are
    /// avoided with a warning in the log, and the first right way is taken (libtorch's kernel, without oneDNN, the step loop). Applies to training and to scoring with
    /// the transformer that <c>Fit</c> returns; a model loaded from a zip follows the process's policy.
    /// </summary>
    public FusedKernelPolicy? FusedKernels;

    /// <summary>Receives one report per finished epoch (also logged to the MLContext's log).</summary>
    public IProgress<EpochProgress>? Progress;

    /// <summary>A shallow copy (experiments derive each trial's options from the user's).</summary>
    internal RnnOptionsBase Clone() => (RnnOptionsBase)MemberwiseClone();
}
