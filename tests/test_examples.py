"""Both examples run end to end on the bundled digits, and the README's commands match CI's."""
import os
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent


def run_example(script, *flags, tmp_path):
    env = dict(os.environ, TINYGRAPH_MNIST_SOURCE="sample")
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / script), *flags],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.parametrize("script", ["mlp_mnist.py", "cnn_mnist.py"])
def test_tutorial_recipe_runs(script, tmp_path):
    out = run_example(script, "--samples", "50", "--epochs", "2", "--save", "net.npz", tmp_path=tmp_path)
    assert "MNIST: bundled sample" in out
    assert "epoch 2/2   error=" in out
    assert "test accuracy:" in out and "wall time:" in out
    assert (tmp_path / "net.npz").exists()


@pytest.mark.parametrize("script", ["mlp_mnist.py", "cnn_mnist.py"])
def test_fast_recipe_runs_and_draws(script, tmp_path):
    out = run_example(script, "--recipe", "fast", "--samples", "64", "--epochs", "1", "--graph", "step.svg",
                      tmp_path=tmp_path)
    assert "cross_entropy loss" in out and "test accuracy:" in out
    assert "FCLayer_1" in (tmp_path / "step.svg").read_text()


@pytest.mark.parametrize("flags, message", [
    (["--graph", "step.dot"], "--graph step.dot: the file name must end in .svg or .png or .pdf"),
    (["--save", "nowhere/net.npz"], "--save nowhere/net.npz: the folder"),
    (["--samples", "0"], "--samples: must be a positive whole number"),
    (["--scale-lr"], "--scale-lr scales the learning rate by the number of MPI ranks: add --distributed"),
])
def test_bad_flags_stop_before_training(flags, message, tmp_path):
    env = dict(os.environ, TINYGRAPH_MNIST_SOURCE="sample")
    result = subprocess.run([sys.executable, str(ROOT / "examples" / "mlp_mnist.py"), *flags],
                            capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60)
    assert result.returncode == 2 and message in result.stderr and "epoch" not in result.stdout


def test_readme_test_command_is_what_ci_runs():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    command = 'python -m pip install -e ".[dev,mpi]" && python -m pytest -q'
    assert command in readme and command in ci


def test_readme_python_examples_run(tmp_path):
    """The README's code blocks, as written (the tutorial block with one epoch instead of thirty, for time)."""
    import re

    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    assert len(blocks) >= 2
    env = dict(os.environ, TINYGRAPH_MNIST_SOURCE="sample")
    for block in blocks:
        code = block.replace("epochs=30", "epochs=1")
        result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                                cwd=tmp_path, timeout=120)
        assert result.returncode == 0, result.stderr
    assert (tmp_path / "graph.svg").exists() and (tmp_path / "cnn.svg").exists() and (tmp_path / "cnn.npz").exists()
