using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Microsoft.ML.Rnn.Core.Training;

/// <summary>
/// TorchSharp's <see cref="Adam"/> (its defaults: betas 0.9 and 0.999, ε 1e-8, no weight decay), whose step holds
/// every scalar in a variable until the call that reads it returns. TorchSharp's own step converts numbers to scalars
/// implicitly, which only the finalizer frees: when networks train side by side, the other thread's allocations
/// trigger collections that free a scalar while libtorch reads it ("Expected false to be true" from <c>mul_</c> or
/// <c>addcdiv_</c>; docs/reliability.md). The same operations in the same order: the same updates to the bit, and the
/// same state, which <c>save_state_dict</c> writes for training checkpoints.
/// </summary>
internal sealed class KeptScalarAdam(IEnumerable<Parameter> parameters, double learningRate) : Adam(parameters, learningRate)
{
    public override Tensor step(Func<Tensor>? closure = null) => _step<ParamGroup>(group =>
    {
        var options = (Options)group.Options;
        double beta1 = options.beta1!.Value, beta2 = options.beta2!.Value, learningRate = options.LearningRate!.Value;
        if (options.weight_decay is not (null or 0) || options.amsgrad == true || options.maximize == true)
            throw new NotSupportedException("KeptScalarAdam: weight decay, AMSGrad and maximize are not implemented.");
        using Scalar keptAverage = beta1.ToScalar(), newAverage = (1 - beta1).ToScalar();
        using Scalar keptSquares = beta2.ToScalar(), newSquares = (1 - beta2).ToScalar(), epsilon = options.eps!.Value.ToScalar();
        foreach (var parameter in group.Parameters)
        {
            var grad = parameter.grad;
            if (grad is null) continue;
            var state = (State)_state[parameter.Handle];
            state.step += 1;
            double correction1 = 1 - Math.Pow(beta1, state.step), correction2 = 1 - Math.Pow(beta2, state.step);
            state.exp_avg.mul_(keptAverage).add_(grad, alpha: newAverage);
            state.exp_avg_sq.mul_(keptSquares).addcmul_(grad, grad.conj(), value: newSquares);
            using Scalar root = Math.Sqrt(correction2).ToScalar(), stepSize = (-(learningRate / correction1)).ToScalar();
            var denominator = state.exp_avg_sq.sqrt().div(root).add_(epsilon, KeptScalars.One);
            parameter.addcdiv_(state.exp_avg, denominator, value: stepSize);
        }
    }, closure);
}
