"""The vectorised erfc behind gelu, against the standard library's correctly rounded math.erfc."""
import math

import numpy as np

from tinygraph.ops.special import erfc


def test_erfc_is_within_1e_15_relative_of_math_erfc_everywhere():
    x = np.concatenate([np.linspace(-27, 27, 54001), np.geomspace(1e-300, 1, 600), -np.geomspace(1e-300, 1, 600),
                        [0.0, -0.0, 0.46875, -0.46875, 4.0, -4.0, 26.5]])
    expected = np.array([math.erfc(v) for v in x])
    np.testing.assert_allclose(erfc(x), expected, rtol=1e-15, atol=1e-300)  # denormals aside


def test_erfc_at_the_ends_and_nan():
    out = erfc(np.array([np.inf, -np.inf, np.nan, 40.0, -40.0]))
    np.testing.assert_array_equal(out[[0, 1, 3, 4]], [0.0, 2.0, 0.0, 2.0])
    assert np.isnan(out[2])
