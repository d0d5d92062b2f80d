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
    assert ": 1 epoch, batch size" in out and "1 epochs" not in out
    assert "FCLayer_1" in (tmp_path / "step.svg").read_text()


def test_tutorial_original_runs_one_model_for_one_epoch(tmp_path):
    out = run_example("tutorial_original.py", "--model", "mlp", "--epochs", "1", tmp_path=tmp_path)
    assert "epoch 1/1   error=" in out and "1 epoch, derivatives: engine)" in out and "cnn:" not in out


@pytest.mark.parametrize("flags, message", [
    (["--graph", "step.dot"], "--graph step.dot: the file name must end in .svg or .png or .pdf"),
    (["--save", "nowhere/net.npz"], "--save nowhere/net.npz: the folder"),
    (["--samples", "0"], "--samples: must be a positive whole number"),
    (["--lr", "0"], "--lr: must be a positive number, got 0"),
    (["--lr", "nan"], "--lr: must be a positive number, got nan"),
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


def test_help_shows_the_whole_description_and_explains_every_flag():
    for script in ("mlp_mnist.py", "cnn_mnist.py"):
        result = subprocess.run([sys.executable, str(ROOT / "examples" / script), "--help"], capture_output=True,
                                text=True, timeout=60)
        assert result.returncode == 0
        text = " ".join(result.stdout.split())
        assert "FC 10 tanh, softmax." in text and f"python examples/{script} --recipe fast" in text
        for flag in ("--epochs EPOCHS", "--batch-size BATCH_SIZE", "--lr LR", "--optimizer {sgd,adam}",
                     "--loss {mse,cross_entropy}", "--seed SEED"):
            described = text.split(f" {flag} ", 1)[1]  # the option's entry, after the usage line
            assert not described.startswith("--"), f"{script}: {flag} has no help"
    assert "(default: 30 for the tutorial recipe, 4 for fast)" in " ".join(
        subprocess.run([sys.executable, str(ROOT / "examples" / "cnn_mnist.py"), "--help"], capture_output=True,
                       text=True, timeout=60).stdout.split())


def test_graph_without_dot_is_refused_before_training(tmp_path):
    env = dict(os.environ, TINYGRAPH_MNIST_SOURCE="sample", PATH=str(tmp_path))  # no dot on this PATH
    result = subprocess.run([sys.executable, str(ROOT / "examples" / "mlp_mnist.py"), "--graph", "step.svg"],
                            capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60)
    assert result.returncode == 2 and "epoch" not in result.stdout and "MNIST" not in result.stdout
    assert "--graph step.svg: drawing needs Graphviz's dot program, which is not on PATH" in result.stderr


def test_an_offline_run_does_not_announce_a_download_it_cannot_make(tmp_path):
    import importlib.util

    if importlib.util.find_spec("keras") is not None:
        pytest.skip("keras prints its own download notice before failing")
    dead = "http://127.0.0.1:9"  # the discard port: nothing listens, so every request fails at once
    env = {k: v for k, v in os.environ.items() if k != "TINYGRAPH_MNIST_SOURCE"}
    env.update(XDG_CACHE_HOME=str(tmp_path / "cache"), HTTPS_PROXY=dead, HTTP_PROXY=dead, https_proxy=dead,
               http_proxy=dead, NO_PROXY="", no_proxy="")
    result = subprocess.run([sys.executable, str(ROOT / "examples" / "mlp_mnist.py"), "--samples", "20", "--epochs",
                             "1"], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "Downloading" not in result.stdout + result.stderr
    assert "MNIST: bundled sample of real digits" in result.stdout and "download failed" in result.stdout
