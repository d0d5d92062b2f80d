"""What `Network.fit` does when training diverges: it notices (the loss every step, the weights every epoch) and
puts the network back to the last weights it checked finite, saying so.

Checking and copying the weights at every step would cost about 18% of a per-sample step of the tutorial's MLP
(24 us to check its 84,000 weights, 6 us to copy them, 18 us with Adam's two moment arrays; a step takes 166 us with
SGD), so both are done once per epoch: a diverged epoch is undone whole, with the optimizer's state, and the network
is left as it was at that epoch's start (weights a step before an overflow are usually far off already).
"""
import math

import numpy as np

ANOMALY_HINT = ("To find the op that first made a NaN or inf, train inside `with tinygraph.detect_anomaly():` "
                "(slower; it names the op and the line that created it)")


def loss_not_finite(value, epoch, batch, lr, xb, yb):
    """The error `_run_epoch` raises for a NaN or infinite loss: a ValueError carrying what `Guard` needs to say
    more (its message alone is what the other ranks of a distributed fit report)."""
    first_step = epoch == 1 and batch == 1
    err = ValueError(f"Network.fit: the loss became {value} at epoch {epoch}, batch {batch}; the training diverged "
                     f"{_advice(first_step, lr)}. {ANOMALY_HINT}")
    err.divergence = dict(value=value, epoch=epoch, batch=batch, lr=lr, first_step=first_step,
                          inputs=_largest(xb), targets=_largest(yb))
    return err


def _advice(first_step, lr):
    """A smaller learning rate helps only once a step has been taken."""
    if first_step:
        return "before any step was taken, so the learning rate is not the cause"
    return f"(try a smaller learning rate; it is {lr})"


def _largest(values):
    """The largest magnitude in `values` (a batch of inputs or targets), for the message."""
    values = np.asarray(values)
    return float(np.abs(values).max()) if values.size and values.dtype.kind in "biuf" else 0.0


def all_finite(array):
    """No NaN or inf in `array`: a sum first (no temporary array), the exact test only if the sum is not finite
    (huge finite values can overflow it). Call inside np.errstate(over="ignore", invalid="ignore")."""
    return bool(math.isfinite(array.sum()) or np.isfinite(array).all())


class Guard:
    """Checks and keeps the network's weights (and the optimizer's state) for one `fit`."""

    def __init__(self, net, optimizer):
        self.net, self.optimizer = net, optimizer
        self.parameters = net.parameters()
        bad = self._not_finite()
        if bad:
            raise ValueError(
                f"Network.fit: the weights already hold NaN or infinite values ({', '.join(bad)}), so training "
                f"cannot start and a smaller learning rate cannot help; build the network again or load saved weights")
        self.saved = [p.data.copy() for p in self.parameters]
        self.saved_state = optimizer.state()
        self.epoch = 1  # the epoch whose start `saved` holds

    def _not_finite(self):
        with np.errstate(over="ignore", invalid="ignore"):
            return [p.name or str(p.shape) for p in self.parameters if not all_finite(p.data)]

    def end_epoch(self, epoch):
        """After a finished epoch: the weights checked, then kept as the ones to come back to."""
        bad = self._not_finite()
        if bad:
            self._restore()
            raise ValueError(
                f"Network.fit: the weights became NaN or infinite during epoch {epoch} ({', '.join(bad)}) while the "
                f"loss stayed finite (saturated activations can hide them); the training diverged "
                f"{_advice(False, self.optimizer.lr)}. {self._restored_note()} {ANOMALY_HINT}")
        for saved, p in zip(self.saved, self.parameters):
            np.copyto(saved, p.data)
        self.saved_state = self.optimizer.state()
        self.epoch = epoch + 1

    def failed(self, err):
        """An error during an epoch (a NaN loss here, or another rank's failure): the network is put back to the
        start of the epoch when its weights are no longer finite or the loss diverged; a divergence is reported
        in full, any other error gets a note saying what happened to the weights."""
        info = getattr(err, "divergence", None)
        if info is None and not self._not_finite():
            return err
        self._restore()
        if info is None:
            err.add_note(f"Network.fit: the weights had become NaN or infinite. {self._restored_note()}")
            return err
        note = "No step was taken, so the weights are as they were." if info["first_step"] else self._restored_note()
        return ValueError(f"Network.fit: the loss became {info['value']} at epoch {info['epoch']}, batch "
                          f"{info['batch']}; the training diverged {self._cause(info)}. {note} {ANOMALY_HINT}")

    def _cause(self, info):
        if not info["first_step"]:
            return _advice(False, info["lr"])
        weights = max((_largest(p.data) for p in self.parameters), default=0.0)
        return (f"{_advice(True, info['lr'])}: with inputs up to {info['inputs']:.3g}, targets up to "
                f"{info['targets']:.3g} and weights up to {weights:.3g} the loss overflows {self.net.dtype}; scale "
                f"the data (or the weights) down")

    def _restore(self):
        for saved, p in zip(self.saved, self.parameters):
            np.copyto(p.data, saved)
            p._note_write()
        self.optimizer.load_state(self.saved_state)

    def _restored_note(self):
        where = "before this fit" if self.epoch == 1 else f"the end of epoch {self.epoch - 1}"
        return (f"The network has been put back to its weights (and optimizer state) from {where}, the last ones "
                f"checked finite.")
