"""tinygraph.gradcheck itself: it catches a wrong gradient, reaches any input layout, and checks a whole network."""
import numpy as np
import pytest

import tinygraph as tg
from tinygraph import Tensor, gradcheck
from tinygraph.ops.function import Function, apply


def test_gradcheck_reports_a_wrong_gradient():
    class WrongSquare(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_arrays
            return grad * x  # should be 2 x

    with pytest.raises(tg.GradcheckError, match=r"input 0 .*shape \(3,\)"):
        gradcheck(lambda x: apply(WrongSquare, x), Tensor(np.ones(3), requires_grad=True))


def test_gradcheck_reaches_non_contiguous_inputs():
    x = Tensor(np.random.default_rng(0).standard_normal((3, 4)).T, requires_grad=True)
    assert gradcheck(lambda t: (t * t).sum(), x)


def test_small_network(leaf):
    def net(x, w1, b1, w2):
        return tg.log_softmax(tg.tanh(x @ w1 + b1) @ w2, axis=-1).mean()

    assert gradcheck(net, leaf((4, 3)), leaf((3, 5)), leaf((5,)), leaf((5, 2)))
