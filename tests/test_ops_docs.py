"""docs/ops.md, the API reference, lists every public op of tinygraph.ops with its gradient rule."""
import re
from pathlib import Path

import numpy as np
import pytest

import tinygraph as tg

DOC = Path(__file__).resolve().parent.parent / "docs" / "ops.md"


def test_every_op_has_a_line_in_docs_ops_md():
    listed = set(re.findall(r"^\| `(\w+)\(", DOC.read_text(), flags=re.MULTILINE))
    missing = sorted(set(tg.ops.__all__) - listed)
    assert not missing, f"docs/ops.md has no line for {missing}: add one (forward; gradient)"


def test_every_op_is_exported_by_tinygraph():
    assert set(tg.ops.__all__) <= set(tg.__all__)
    assert all(callable(getattr(tg, name)) for name in tg.ops.__all__)


def test_the_functions_only_ops_are_the_ones_docs_ops_md_names():
    """"a Tensor method of the same name exists where NumPy or PyTorch has one", except the two the page names."""
    torch = pytest.importorskip("torch")
    without = {name for name in tg.ops.__all__ if (hasattr(np.ndarray, name) or hasattr(torch.Tensor, name))
               and not hasattr(tg.Tensor, name)}
    intro = DOC.read_text().split("## ")[0]
    named = set(re.findall(r"`(\w+)` \(PyTorch's `x\.\1\(", intro))
    assert named == {"split", "where"}
    assert without == named, f"Tensor methods: {sorted(without)} lack one, docs/ops.md names {sorted(named)}"


def test_from_the_tutorial_lists_every_model_choice_of_the_example():
    example = (DOC.parent.parent / "examples" / "tutorial_original.py").read_text()
    choices = re.search(r'"--model", choices=\[([^\]]*)\], default="(\w+)"', example)
    listed = "|".join(c.strip().strip('"') for c in choices.group(1).split(","))
    page = (DOC.parent / "from-the-tutorial.md").read_text()
    assert f"`--model {listed}`, {choices.group(2)} by default" in page
