"""concatenate, stack, split, squeeze, expand_dims, broadcast_to, flip, swapaxes, moveaxis, repeat, tile and pad with
negative widths: what the op table cannot say (lists of parts, mixed inputs, unused parts, PyTorch's versions) and
the errors."""
import numpy as np
import pytest
from op_checks import assert_matches_torch, value_and_grads

import tinygraph as tg
from tinygraph import Tensor


def test_concatenate_sends_each_input_its_slice(rng):
    a, b, c = rng.standard_normal((2, 1)), rng.standard_normal((2, 3)), rng.standard_normal((2, 2))
    weights = np.arange(12.0).reshape(2, 6)
    _, grads = value_and_grads(lambda *t: tg.concatenate(t, axis=-1) * weights, a, b, c)
    for grad, part in zip(grads, np.split(weights, [1, 4], axis=1)):
        np.testing.assert_array_equal(grad, part)


def test_concatenate_mixes_tensors_arrays_and_dtypes():
    x = Tensor(np.ones(2, np.float32), requires_grad=True)
    out = tg.concatenate([x, np.zeros(1), [5.0]])  # arrays and lists take x's dtype
    assert out.dtype == np.float32 and out.data.tolist() == [1, 1, 0, 5]
    y = Tensor(np.ones(3), requires_grad=True)
    tg.concatenate([x, y]).sum().backward()  # float32 with float64: float64 out, each gradient in its dtype
    assert x.grad.dtype == np.float32 and y.grad.dtype == np.float64


def test_stack_and_split_are_inverse(rng):
    x = rng.standard_normal((3, 4))
    parts = tg.split(Tensor(x), 4, axis=1)
    assert isinstance(parts, list) and [p.shape for p in parts] == [(3, 1)] * 4
    np.testing.assert_array_equal(tg.stack([p.reshape(3) for p in parts], axis=1).data, x)


def test_unused_split_parts_get_zero_gradient():
    x = Tensor(np.arange(6.0), requires_grad=True)
    first, _, last = tg.split(x, [2, 3])
    (first.sum() + 2 * last.sum()).backward()
    np.testing.assert_array_equal(x.grad, [1, 1, 0, 2, 2, 2])


def test_pad_crops_with_negative_widths():
    x = np.arange(12.0).reshape(3, 4)
    out, (grad,) = value_and_grads(lambda t: tg.pad(t, ((-1, 1), (2, -3)), value=7.0), x)
    np.testing.assert_array_equal(out, [[7, 7, 4], [7, 7, 8], [7, 7, 7]])
    np.testing.assert_array_equal(grad, [[0, 0, 0, 0], [1, 0, 0, 0], [1, 0, 0, 0]])
    assert tg.pad(Tensor(x), ((-3, 0), (0, 0))).shape == (0, 4)  # cropping a whole axis leaves it empty


@pytest.mark.parametrize("pad_width", [(-1, 2), ((1, -2), (0, -1)), ((-1, -1), (3, 0))], ids=str)
def test_pad_matches_torch(rng, pad_width):
    torch = pytest.importorskip("torch")
    widths = np.broadcast_to(np.array(pad_width), (2, 2))
    flat = [int(w) for pair in widths[::-1] for w in pair]  # F.pad lists the last axis first
    assert_matches_torch(lambda t: tg.pad(t, pad_width, value=0.5),
                         lambda t: torch.nn.functional.pad(t, flat, value=0.5), rng.standard_normal((3, 4)))


def test_shape_ops_match_torch(rng):
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((2, 3, 1))
    pairs = [
        (lambda t: tg.flip(t, (0, 1)), lambda t: torch.flip(t, (0, 1))),
        (lambda t: tg.repeat(t, [1, 0, 2], axis=1), lambda t: torch.repeat_interleave(t, torch.tensor([1, 0, 2]), 1)),
        (lambda t: tg.repeat(t, 3), lambda t: torch.repeat_interleave(t, 3)),
        (lambda t: t.tile(2, 1, 3), lambda t: t.repeat(2, 1, 3)),  # PyTorch's repeat is tile
        (lambda t: tg.broadcast_to(t, (4, 2, 3, 5)), lambda t: t.expand(4, 2, 3, 5)),
        (lambda t: tg.moveaxis(t, (0, 2), (2, 0)), lambda t: torch.movedim(t, (0, 2), (2, 0))),
        (lambda t: tg.swapaxes(t, 0, -1), lambda t: torch.swapaxes(t, 0, -1)),
        (lambda t: tg.squeeze(t, -1), lambda t: torch.squeeze(t, -1)),
        (lambda t: tg.expand_dims(t, 1), lambda t: torch.unsqueeze(t, 1)),
        (lambda t: tg.stack([t, 2 * t], axis=-1), lambda t: torch.stack([t, 2 * t], dim=-1)),
        (lambda t: tg.split(t, [1], axis=1)[1], lambda t: torch.split(t, [1, 2], dim=1)[1]),
    ]
    for ours, theirs in pairs:
        assert_matches_torch(ours, theirs, x)


def test_broadcast_to_is_a_read_only_view():
    x = Tensor(np.arange(3.0))
    out = tg.broadcast_to(x, (2, 3))
    assert np.shares_memory(out.data, x.data) and not out.data.flags.writeable


def test_tensor_methods_take_numpy_and_pytorch_forms():
    x = Tensor(np.arange(6.0).reshape(2, 3))
    assert x.tile((2, 1)).shape == x.tile(2, 1).shape == (4, 3)
    assert x.repeat(2).shape == (12,) and x.repeat(2, axis=0).shape == (4, 3)
    assert x.clamp(1, 4).data.max() == 4 and x.clip(max=2).data.max() == 2


# ----- errors ---------------------------------------------------------------------------------------------------

ERRORS = [
    (lambda x: tg.concatenate(x), TypeError, r"concatenate: expected a list or tuple of tensors, got Tensor"),
    (lambda x: tg.concatenate([]), ValueError, r"concatenate: needs at least one tensor"),
    (lambda x: tg.concatenate([x, np.ones(3)]), ValueError, r"concatenate: .*same number of axes.*\(2, 3\), \(3,\)"),
    (lambda x: tg.concatenate([x[0, 0], x[0, 0]]), ValueError, r"concatenate: .*at least one.*use stack"),
    (lambda x: tg.concatenate([x, np.ones((2, 2))]), ValueError,
     r"concatenate: the shapes must agree except along axis 0 \(input shapes \(2, 3\), \(2, 2\)\)"),
    (lambda x: tg.concatenate([x, x], axis=2), ValueError, r"concatenate: axis 2 is out of range"),
    (lambda x: tg.concatenate([x, x], axis=(0, 1)), TypeError, r"concatenate: axis must be one int"),
    (lambda x: tg.stack([x, x[0]]), ValueError, r"stack: the inputs must have one shape \(input shapes \(2, 3\), \(3,"),
    (lambda x: tg.stack([x, x], axis=3), ValueError, r"stack: axis 3 is out of range for a result with 3 axes"),
    (lambda x: tg.stack([x, x], axis=None), TypeError, r"stack: axis must be one int"),
    (lambda x: tg.stack(x), TypeError, r"stack: expected a list or tuple"),
    (lambda x: tg.split(x, 4, axis=1), ValueError, r"split: 3 elements along axis 1 do not split into 4 equal parts"),
    (lambda x: tg.split(x, 0), ValueError, r"split: 2 elements along axis 0 do not split into 0 equal parts"),
    (lambda x: tg.split(x, [1.5]), TypeError, r"split: indices_or_sections must be an int or a sequence of ints"),
    (lambda x: tg.split(x, 2.0), TypeError, r"split: indices_or_sections must be"),
    (lambda x: tg.split(x, 2, axis=2), ValueError, r"split: axis 2 is out of range"),
    (lambda x: tg.squeeze(x, 0), ValueError, r"squeeze: axis 0 has length 2, not 1 \(input shape \(2, 3\)\)"),
    (lambda x: tg.squeeze(x, 2), ValueError, r"squeeze: axis 2 is out of range"),
    (lambda x: tg.expand_dims(x, 3), ValueError, r"expand_dims: axis 3 is out of range for a result with 3 axes"),
    (lambda x: tg.expand_dims(x, (0, 0)), ValueError, r"expand_dims: axis \(0, 0\) repeats an axis"),
    (lambda x: tg.expand_dims(x, None), TypeError, r"expand_dims: axis must be an int or a tuple of ints"),
    (lambda x: tg.swapaxes(x, 0, 2), ValueError, r"swapaxes: axis 2 is out of range"),
    (lambda x: tg.swapaxes(x, 0, None), TypeError, r"swapaxes: axis must be one int"),
    (lambda x: tg.moveaxis(x, (0, 1), 0), ValueError, r"moveaxis: source \(0, 1\) and destination 0 must name as many"),
    (lambda x: tg.moveaxis(x, (0, 0), (0, 1)), ValueError, r"moveaxis: axis \(0, 0\) repeats an axis"),
    (lambda x: tg.moveaxis(x, 0, 5), ValueError, r"moveaxis: axis 5 is out of range"),
    (lambda x: tg.flip(x, 2), ValueError, r"flip: axis 2 is out of range"),
    (lambda x: tg.broadcast_to(x, (3, 3)), ValueError, r"broadcast_to: cannot broadcast input shape \(2, 3\) to \(3"),
    (lambda x: tg.broadcast_to(x, (3,)), ValueError, r"broadcast_to: cannot broadcast input shape \(2, 3\) to \(3,\)"),
    (lambda x: tg.broadcast_to(x, (-1, 3)), ValueError, r"broadcast_to: cannot broadcast"),
    (lambda x: tg.broadcast_to(x, (2, "3")), TypeError, r"broadcast_to: the shape must be a tuple of ints"),
    (lambda x: tg.repeat(x, -1), ValueError, r"repeat: repeats must not be negative"),
    (lambda x: tg.repeat(x, [1, -1], axis=0), ValueError, r"repeat: repeats must not be negative"),
    (lambda x: tg.repeat(x, [1, 2], axis=1), ValueError, r"repeat: 2 counts for an axis of length 3"),
    (lambda x: tg.repeat(x, 1.5), TypeError, r"repeat: repeats must be an int or a sequence of ints"),
    (lambda x: tg.repeat(x, 2, axis=2), ValueError, r"repeat: axis 2 is out of range"),
    (lambda x: tg.tile(x, -1), ValueError, r"tile: reps must be an int or a tuple of ints >= 0"),
    (lambda x: tg.tile(x, (2, 1.5)), ValueError, r"tile: reps must be"),
    (lambda x: tg.pad(x, ((-2, -1), (0, 0))), ValueError, r"pad: widths \(-2, -1\) crop 3 elements from an axis of "
                                                         r"length 2 \(input shape \(2, 3\)\)"),
    (lambda x: tg.pad(x, 1, value="0"), TypeError, r"pad: value must be a number"),
]


@pytest.mark.parametrize("call, error, message", ERRORS, ids=[e[2][:40] for e in ERRORS])
def test_errors(ones, call, error, message):
    with pytest.raises(error, match=message):
        call(ones(2, 3))
