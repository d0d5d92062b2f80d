"""The allocator setting made at import: applied on glibc, left alone with TINYGRAPH_MALLOC=default, and a wrong
value named."""
import os
import subprocess
import sys

import pytest

from tinygraph import allocator

GLIBC = allocator._glibc()


def _run(code, **env):
    return subprocess.run([sys.executable, "-c", code], env={**os.environ, **env}, capture_output=True, text=True)


@pytest.mark.skipif(not GLIBC, reason="the setting applies to glibc only")
def test_applied_on_glibc():
    assert allocator.keep_freed_memory()


def test_left_alone_when_asked(monkeypatch):
    monkeypatch.setenv("TINYGRAPH_MALLOC", "default")
    assert not allocator.keep_freed_memory()


def test_a_wrong_value_is_named_at_import():
    done = _run("import tinygraph", TINYGRAPH_MALLOC="huge")
    assert done.returncode != 0
    assert "TINYGRAPH_MALLOC must be 'keep' (the default) or 'default', got 'huge'" in done.stderr


@pytest.mark.skipif(not GLIBC, reason="the setting applies to glibc only")
def test_a_repeated_step_reuses_its_memory():
    """A convolution at batch 256 run again and again takes almost no new page faults once tinygraph is imported;
    with glibc's own settings each call faults its arrays in again (the heap's top is given back after each)."""
    code = (
        "import resource, numpy as np, tinygraph as tg\n"
        "x = tg.Tensor(np.ones((256, 28, 28, 1), np.float32))\n"
        "w = tg.Tensor(np.ones((5, 3, 3, 1), np.float32), requires_grad=True)\n"
        "for _ in range(3): tg.correlate(x, w, stride=2, padding=1)\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt\n"
        "for _ in range(20): tg.correlate(x, w, stride=2, padding=1)\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)\n"
    )
    kept, default = (int(_run(code, TINYGRAPH_MALLOC=setting).stdout) for setting in ("keep", "default"))
    assert kept < 100 < 20 * 100 < default
