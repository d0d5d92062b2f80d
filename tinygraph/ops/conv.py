"""Correlation and convolution (placeholder until the convolution work lands)."""


def correlate(x, w, b=None, stride=1, padding=0):
    raise NotImplementedError("correlate")


def convolve(x, w, b=None, stride=1, padding=0):
    raise NotImplementedError("convolve")
