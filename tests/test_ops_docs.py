"""docs/ops.md, the API reference, lists every public op of tinygraph.ops with its gradient rule."""
import re
from pathlib import Path

import tinygraph as tg

DOC = Path(__file__).resolve().parent.parent / "docs" / "ops.md"


def test_every_op_has_a_line_in_docs_ops_md():
    listed = set(re.findall(r"^\| `(\w+)\(", DOC.read_text(), flags=re.MULTILINE))
    missing = sorted(set(tg.ops.__all__) - listed)
    assert not missing, f"docs/ops.md has no line for {missing}: add one (forward; gradient)"


def test_every_op_is_exported_by_tinygraph():
    assert set(tg.ops.__all__) <= set(tg.__all__)
    assert all(callable(getattr(tg, name)) for name in tg.ops.__all__)
