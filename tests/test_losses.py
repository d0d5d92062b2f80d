"""Losses against PyTorch (values and gradients to both inputs, every reduction), their edge cases and their errors.

The table-shaped checks (forward against NumPy, float64 gradcheck, dtypes) are rows of tests/cases.py.
"""
import numpy as np
import pytest

import tinygraph as tg
from tinygraph import Tensor

pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")
REDUCTIONS = ["mean", "sum", "none"]


def _torch_pair(torch_loss, ours, a, b, reduction, seed=0):
    """Our loss and PyTorch's on float64 copies of a and b (both requiring grad when float), with one random
    upstream gradient: (our value, our grads, torch's value, torch's grads)."""
    torch = pytest.importorskip("torch")
    x, y = Tensor(a, requires_grad=True), Tensor(b, requires_grad=b.dtype.kind == "f")
    out = ours(x, y, reduction=reduction)
    g = np.random.default_rng(seed).standard_normal(out.shape)
    out.backward(g)
    xt = torch.tensor(a, requires_grad=True)
    yt = torch.tensor(b, requires_grad=b.dtype.kind == "f")
    ot = torch_loss(xt, yt, reduction=reduction)
    ot.backward(torch.tensor(g))
    ours_grads = [x.grad] + ([y.grad] if y.requires_grad else [])
    torch_grads = [xt.grad.numpy()] + ([yt.grad.numpy()] if yt.requires_grad else [])
    return out.data, ours_grads, ot.detach().numpy(), torch_grads


def _assert_like_torch(torch_loss, ours, a, b, reduction, rtol=1e-12):
    value, grads, torch_value, torch_grads = _torch_pair(torch_loss, ours, a, b, reduction)
    np.testing.assert_allclose(value, torch_value, rtol=rtol, atol=1e-14)
    for mine, theirs in zip(grads, torch_grads, strict=True):
        np.testing.assert_allclose(mine, theirs, rtol=rtol, atol=1e-14)


def _rng():
    return np.random.default_rng(7)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_mse_like_torch(reduction):
    torch = pytest.importorskip("torch")
    a, b = _rng().standard_normal((2, 4, 3)), _rng().uniform(size=(2, 4, 3))
    _assert_like_torch(torch.nn.functional.mse_loss, tg.mse, a, b, reduction)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_binary_cross_entropy_like_torch_including_p_at_0_and_1(reduction):
    torch = pytest.importorskip("torch")
    p = _rng().uniform(size=(4, 5))
    p[0, :3], p[1, :3] = 0.0, 1.0  # the logs are clamped at -100: finite losses; the gradients are PyTorch's
    t = _rng().uniform(size=(4, 5))
    t[0, 0], t[1, 1] = 0.0, 1.0
    _assert_like_torch(torch.nn.functional.binary_cross_entropy, tg.binary_cross_entropy, p, t, reduction)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("scale", [1.0, 50.0], ids=["ordinary logits", "large logits"])
def test_binary_cross_entropy_with_logits_like_torch(reduction, scale):
    torch = pytest.importorskip("torch")
    x, t = scale * _rng().standard_normal((3, 4)), _rng().uniform(size=(3, 4))
    _assert_like_torch(torch.nn.functional.binary_cross_entropy_with_logits, tg.binary_cross_entropy_with_logits,
                       x, t, reduction)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("logits_shape", [(5, 4), (2, 4, 3), (2, 4, 3, 2), (4,)], ids=str)
@pytest.mark.parametrize("target_kind", ["labels", "probabilities"])
def test_cross_entropy_like_torch_over_class_axis_1(reduction, logits_shape, target_kind):
    torch = pytest.importorskip("torch")
    rng = _rng()
    logits = rng.standard_normal(logits_shape)
    classes = logits_shape[1] if len(logits_shape) > 1 else logits_shape[0]
    label_shape = logits_shape[:1] + logits_shape[2:] if len(logits_shape) > 1 else ()
    if target_kind == "labels":
        target = rng.integers(0, classes, label_shape)
    else:  # probabilities on axis 1, which also get a gradient (PyTorch: -log_softmax(x) · g / N)
        target = np.moveaxis(rng.dirichlet(np.ones(classes), label_shape or None), -1, min(1, len(label_shape)))
    _assert_like_torch(torch.nn.functional.cross_entropy, tg.cross_entropy, logits, np.array(target), reduction)


def test_soft_target_gets_its_gradient():
    """Bug 3: a target that requires grad got none."""
    logits = Tensor(np.array([[1.0, 2.0, 0.5], [0.0, -1.0, 3.0]]), requires_grad=True)
    target = Tensor(np.array([[0.2, 0.3, 0.5], [1.0, 0.0, 0.0]]), requires_grad=True)
    tg.cross_entropy(logits, target).backward()
    np.testing.assert_allclose(target.grad, -tg.log_softmax(logits).data / 2, rtol=1e-15)


def test_a_target_of_another_float_dtype_is_cast_and_still_gets_its_gradient():
    pred = Tensor(np.ones(3, np.float32), requires_grad=True)
    target = Tensor(np.array([0.0, 1.0, 3.0]), requires_grad=True)  # float64
    loss = tg.mse(pred, target)
    assert loss.dtype == np.float32
    loss.backward()
    assert target.grad.dtype == np.float64
    np.testing.assert_allclose(target.grad, -2 * (1 - np.array([0.0, 1.0, 3.0])) / 3, rtol=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_binary_cross_entropy_with_logits_is_stable_for_huge_logits(dtype):
    x = Tensor(np.array([1e4, -1e4, 1e4, -1e4, 0.0], dtype), requires_grad=True)
    t = np.array([1.0, 0.0, 0.0, 1.0, 0.5])
    out = tg.binary_cross_entropy_with_logits(x, t, reduction="none")
    np.testing.assert_allclose(out.data, [0.0, 0.0, 1e4, 1e4, np.log(2)], rtol=1e-6)
    out.sum().backward()
    np.testing.assert_allclose(x.grad, [0.0, 0.0, 1.0, -1.0, 0.0], atol=1e-7)


def test_cross_entropy_keeps_float32_on_every_path():
    logits = Tensor(np.zeros((2, 3, 4), np.float32), requires_grad=True)
    for target in (np.zeros((2, 4), np.int64), np.full((2, 3, 4), 1 / 3)):
        loss = tg.cross_entropy(logits, target, reduction="none")
        assert loss.dtype == np.float32 and loss.shape == (2, 4)
        loss.sum().backward()
        assert logits.grad.dtype == np.float32


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name", ["mse", "binary_cross_entropy", "binary_cross_entropy_with_logits",
                                  "cross_entropy (probabilities)", "cross_entropy (labels)"])
def test_second_derivatives(name, reduction):
    rng = _rng()
    x = Tensor(rng.uniform(0.1, 0.9, (3, 4)), requires_grad=True)
    t = Tensor(rng.dirichlet(np.ones(4), 3), requires_grad=True)
    if name == "cross_entropy (labels)":
        assert tg.gradgradcheck(lambda a: tg.cross_entropy(a, np.array([0, 3, 1]), reduction=reduction), x)
    else:
        loss = getattr(tg, name.split(" ")[0])
        assert tg.gradgradcheck(lambda a, b: loss(a, b, reduction=reduction), x, t)


# ----- empty inputs and accuracy (bugs 5 and 6) ------------------------------------------------------------------

@pytest.mark.parametrize("loss, args", [
    (tg.mse, (np.zeros(0, np.float32), np.zeros(0))),
    (tg.mse, (np.zeros((0, 3)), np.zeros((0, 3)))),
    (tg.binary_cross_entropy, (np.zeros(0), np.zeros(0))),
    (tg.binary_cross_entropy_with_logits, (np.zeros((2, 0)), np.zeros((2, 0)))),
    (tg.cross_entropy, (np.zeros((0, 3)), np.zeros(0, np.int64))),
    (tg.cross_entropy, (np.zeros((0, 3)), np.zeros((0, 3)))),
], ids=["mse (0,) float32", "mse (0, 3)", "bce", "bce logits", "cross_entropy labels", "cross_entropy probs"])
def test_losses_of_nothing_as_torch(loss, args):
    pred = Tensor(args[0], requires_grad=True)
    mean = loss(pred, args[1])
    assert np.isnan(mean.item()) and mean.dtype == pred.dtype  # as PyTorch: NaN, a float
    assert loss(pred, args[1], reduction="sum").item() == 0.0
    assert loss(pred, args[1], reduction="none").size == 0
    mean.backward()
    assert pred.grad.shape == pred.shape


def test_float32_mse_accumulates_accurately():
    """Bug 6: a float32 dot product was 7e-6 off at 4e6 elements (0.6% at 3e7); PyTorch is within 5e-8."""
    rng = np.random.default_rng(0)
    pred, target = rng.standard_normal(4_000_000).astype(np.float32), np.zeros(4_000_000, np.float32)
    exact = np.mean(pred.astype(np.float64) ** 2)
    for reduction, expected in [("mean", exact), ("sum", exact * pred.size)]:
        out = tg.mse(Tensor(pred), target, reduction=reduction)
        assert out.dtype == np.float32
        assert abs(float(out) - expected) / expected < 6e-8  # float32's own rounding of the result


def test_integer_predictions_give_float32_losses():
    assert tg.mse(Tensor([1, 2]), Tensor([2, 4])).dtype == np.float32
    assert tg.mse(Tensor([1, 2]), Tensor([2, 4])).item() == pytest.approx(2.5)
    assert tg.cross_entropy(Tensor([[1, 2, 3]]), [2]).dtype == np.float32
    assert tg.binary_cross_entropy_with_logits(Tensor([0, 1]), [0, 1]).dtype == np.float32


def test_bool_and_integer_targets_of_the_binary_losses_count_as_floats():
    x = Tensor(np.array([0.5, -1.0, 2.0]), requires_grad=True)
    for target in (np.array([1, 0, 1]), np.array([True, False, True])):
        np.testing.assert_allclose(tg.binary_cross_entropy_with_logits(x, target).data,
                                   tg.binary_cross_entropy_with_logits(x, target.astype(float)).data)


def test_tensor_methods_take_the_reduction():
    x = Tensor(np.array([[0.2, 0.7]]))
    assert x.mse(np.zeros((1, 2)), "sum").item() == pytest.approx(0.53)
    assert x.binary_cross_entropy(np.ones((1, 2)), "none").shape == (1, 2)
    assert x.binary_cross_entropy_with_logits(np.ones((1, 2))).shape == ()
    assert x.cross_entropy(np.array([1]), reduction="none").shape == (1,)


# ----- errors ----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("loss", [tg.mse, tg.binary_cross_entropy, tg.binary_cross_entropy_with_logits,
                                  tg.cross_entropy])
def test_unknown_reduction(loss):
    with pytest.raises(ValueError, match=rf'{loss.__name__}: reduction must be "mean", "sum" or "none", got \'avg\''):
        loss(Tensor(np.full((2, 3), 0.5)), np.zeros((2, 3)), reduction="avg")


@pytest.mark.parametrize("loss", [tg.binary_cross_entropy, tg.binary_cross_entropy_with_logits])
def test_binary_losses_need_the_target_shape(loss):
    with pytest.raises(ValueError, match=rf"{loss.__name__}: the prediction has shape \(3, 1\) but the target has "
                                         r"shape \(3,\)"):
        loss(Tensor(np.full((3, 1), 0.5)), np.ones(3))


@pytest.mark.parametrize("bad", [1.5, -0.1, np.nan])
def test_binary_cross_entropy_needs_probabilities(bad):
    with pytest.raises(ValueError, match=r"binary_cross_entropy: p must be probabilities in \[0, 1\], got 1 outside, "
                                         r"e.g. .* \(input shape \(2,\)\); for logits use binary_cross_entropy_with_"):
        tg.binary_cross_entropy(Tensor(np.array([0.5, bad])), np.ones(2))


@pytest.mark.parametrize("logits, target", [
    (np.array([1.0, 2.0, 3.0]), np.array([1, 1, 1])),  # bug 4: read as probabilities, 4.22
    (np.ones((2, 3)), np.ones((2, 3), np.int64)),
    (np.ones((2, 3, 4)), np.ones((2, 3, 4), np.int32)),
], ids=["(C,)", "(N, C)", "(N, C, d)"])
def test_cross_entropy_refuses_integer_probabilities(logits, target):
    with pytest.raises(TypeError, match=r"cross_entropy: class probabilities must be floats, got an integer target "
                                        r"of the logits' shape .*target.astype\(np.float32\)"):
        tg.cross_entropy(Tensor(logits), target)


def test_cross_entropy_label_shape_for_a_class_axis():
    with pytest.raises(ValueError, match=r"integer labels of shape \(2,\) do not fit logits of shape \(2, 3, 4\): "
                                         r"labels need shape \(2, 4\)"):
        tg.cross_entropy(Tensor(np.ones((2, 3, 4))), np.array([0, 1]))


def test_cross_entropy_without_classes():
    with pytest.raises(ValueError, match=r"cross_entropy: the logits of shape \(2, 0\) have no classes"):
        tg.cross_entropy(Tensor(np.ones((2, 0))), np.zeros((2, 0)))


def test_cross_entropy_bool_target():
    with pytest.raises(TypeError, match=r"cross_entropy: the target must be integer labels or float probabilities, "
                                        r"got dtype bool"):
        tg.cross_entropy(Tensor(np.ones((2, 3))), np.ones((2, 3), bool))
