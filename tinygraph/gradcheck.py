"""A finite-difference check of the analytic gradients, in float64."""
import numpy as np

from .grad_mode import enable_grad, no_grad
from .tensor import Tensor


class GradcheckError(AssertionError):
    """An analytic gradient disagrees with central differences."""


def _as_float64_inputs(inputs):
    out = []
    for x in inputs:
        if isinstance(x, Tensor):
            # A C-ordered copy: perturbing it through a flat view must reach the input, whatever x's layout.
            data = np.array(x.data, dtype=np.float64, order="C") if x.dtype.kind == "f" else x.data
            out.append(Tensor(data, requires_grad=x.requires_grad, name=x.name))
        else:
            out.append(x)
    return out


def _label(position, tensor):
    return f"input {position}" + (f" ({tensor.name!r})" if tensor.name else "")


def gradcheck(fn, *inputs, eps=1e-6, atol=1e-5, rtol=1e-3, seed=0):
    """Compare the gradient of `fn(*inputs)` for every input that requires grad with central differences.

    A non-scalar output is projected on a fixed random direction, so every element of it is checked.
    Returns True, or raises GradcheckError naming the input, the worst element and both values.
    """
    inputs = _as_float64_inputs(inputs)
    checked = [(i, t) for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input requires grad; pass Tensors with requires_grad=True")
    with enable_grad():
        out = fn(*inputs)
    if not isinstance(out, Tensor):
        raise TypeError(f"gradcheck: fn must return a Tensor, got {type(out).__name__}")
    direction = np.random.default_rng(seed).standard_normal(out.shape)
    if not out.requires_grad:
        raise ValueError(f"gradcheck: the output of shape {out.shape} does not depend on any input that requires grad")
    for _, t in checked:
        t.grad = None
    out.backward(direction)

    def projected():
        with no_grad():
            value = fn(*inputs)
        return float(np.sum(np.asarray(value.data, dtype=np.float64) * direction))

    for position, t in checked:
        analytic = np.zeros(t.shape) if t.grad is None else np.asarray(t.grad, dtype=np.float64)
        numeric = np.zeros(t.shape)
        flat = t.data.reshape(-1)  # a view: perturbing it perturbs the input
        for k in range(flat.size):
            original = flat[k]
            flat[k] = original + eps
            plus = projected()
            flat[k] = original - eps
            minus = projected()
            flat[k] = original
            numeric.reshape(-1)[k] = (plus - minus) / (2 * eps)
        error = np.abs(analytic - numeric) - (atol + rtol * np.abs(numeric))
        if error.size and error.max() > 0:
            worst = np.unravel_index(np.argmax(error), t.shape)
            raise GradcheckError(
                f"gradcheck: {_label(position, t)} of shape {t.shape}: at index {tuple(int(i) for i in worst)} "
                f"the analytic gradient is {analytic[worst]:.8g} but central differences give {numeric[worst]:.8g} "
                f"(output {out.op or 'leaf'} of shape {out.shape})"
            )
    return True


def gradgradcheck(fn, *inputs, eps=1e-6, atol=1e-5, rtol=1e-3, seed=0):
    """Check second derivatives, as PyTorch's gradgradcheck: the first derivative of `fn` computed with
    `create_graph=True`, projected on fixed random directions (so every element of every Hessian-vector product
    counts), is itself checked with `gradcheck`, against the inputs and against the gradient fed to the output.
    The latter catches a backward that is linear in that gradient but drops its graph, which the inputs alone
    cannot show (an op whose gradient does not depend on its inputs, such as a sum, has a zero Hessian).
    Returns True, or raises GradcheckError."""
    from .engine import grad

    inputs = _as_float64_inputs(inputs)
    checked = [t for t in inputs if isinstance(t, Tensor) and t.requires_grad]
    if not checked:
        raise ValueError("gradgradcheck: no input requires grad; pass Tensors with requires_grad=True")
    rng = np.random.default_rng(seed + 1)
    with enable_grad():
        out = fn(*inputs)
    if not isinstance(out, Tensor):
        raise TypeError(f"gradgradcheck: fn must return a Tensor, got {type(out).__name__}")
    output_grad = Tensor(rng.standard_normal(out.shape), requires_grad=True, name="grad of the output")
    weights = [rng.standard_normal(t.shape) for t in checked]

    def first_derivative(*args):
        *args, direction = args
        with enable_grad():
            result = fn(*args)
            wanted = [a for a in args if isinstance(a, Tensor) and a.requires_grad]
            grads = grad(result, wanted, grad_outputs=direction, create_graph=True, allow_unused=True)
            total = (direction * 0.0).sum()  # a zero that depends on the direction: a linear fn has no Hessian
            for g, w in zip(grads, weights):
                if g is not None:
                    total = total + (g * w).sum()
        return total

    return gradcheck(first_derivative, *inputs, output_grad, eps=eps, atol=atol, rtol=rtol, seed=seed)
