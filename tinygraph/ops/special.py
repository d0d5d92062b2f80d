"""erfc of an array, vectorised: NumPy has none and SciPy is not a dependency.

W. J. Cody's rational Chebyshev approximations ("Rational Chebyshev approximations for the error function",
Math. Comp. 23, 1969), three ranges of |x|; within 1e-15 relative of the correctly rounded value (tested against
math.erfc), and it keeps its relative precision in the tail where 1 - erf(x) would lose it.
"""
import numpy as np

_SMALL = (3.16112374387056560e00, 1.13864154151050156e02, 3.77485237685302021e02, 3.20937758913846947e03,
          1.85777706184603153e-1)
_SMALL_DEN = (2.36012909523441209e01, 2.44024637934444173e02, 1.28261652607737228e03, 2.84423683343917062e03)
_MID = (5.64188496988670089e-1, 8.88314979438837594e00, 6.61191906371416295e01, 2.98635138197400131e02,
        8.81952221241769090e02, 1.71204761263407058e03, 2.05107837782607147e03, 1.23033935479799725e03,
        2.15311535474403846e-8)
_MID_DEN = (1.57449261107098347e01, 1.17693950891312499e02, 5.37181101862009858e02, 1.62138957456669019e03,
            3.29079923573345963e03, 4.36261909014324716e03, 3.43936767414372164e03, 1.23033935480374942e03)
_LARGE = (3.05326634961232344e-1, 3.60344899949804439e-1, 1.25781726111229246e-1, 1.60837851487422766e-2,
          6.58749161529837803e-4, 1.63153871373020978e-2)
_LARGE_DEN = (2.56852019228982242e00, 1.87295284992346725e00, 5.27905102951428412e-1, 6.05183413124413191e-2,
              2.33520497626869185e-3)
_INV_SQRT_PI = 0.56418958354775628695


def erfc(x):
    """1 - erf(x) elementwise, in float64."""
    x = np.asarray(x, dtype=np.float64)
    y = np.abs(x)
    out = np.empty_like(y)
    small, large = y <= 0.46875, y > 4.0
    middle = ~(small | large)
    out[small] = 1.0 - _erf_small(y[small])
    out[middle] = _with_gaussian(y[middle], _rational(y[middle], _MID, _MID_DEN))
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):  # y = inf gives 0 below
        inverse_square = 1.0 / (y[large] * y[large])
        tail = inverse_square * _rational(inverse_square, _LARGE, _LARGE_DEN)
        out[large] = _with_gaussian(y[large], (_INV_SQRT_PI - tail) / y[large])
    negative = x < 0
    out[negative] = 2.0 - out[negative]
    out[np.isnan(x)] = np.nan
    return out


def _erf_small(x):
    """erf(x) for |x| <= 0.46875."""
    return x * _rational(x * x, _SMALL, _SMALL_DEN)


def _rational(t, numerator, denominator):
    """Cody's nested form: (((n[-1] t + n[0]) t + n[1]) t ... + n[-2]) / ((((t + d[0]) t + d[1]) t ... + d[-1])."""
    num, den = numerator[-1] * t, t
    for n, d in zip(numerator[:-2], denominator[:-1]):
        num, den = (num + n) * t, (den + d) * t
    return (num + numerator[-2]) / (den + denominator[-1])


def _with_gaussian(y, r):
    """exp(-y**2) * r, with y**2 split so that its rounding error does not reach the exponential."""
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        head = np.trunc(y * 16.0) / 16.0
        value = np.exp(-head * head) * np.exp(-(y - head) * (y + head)) * r
    return np.where(np.isinf(y), 0.0, value)
