"""The README's "How the code is laid out" names every module of the package, and nothing imports upwards."""
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent


def test_the_readme_layout_names_every_module():
    readme = (ROOT / "README.md").read_text()
    layout = readme[readme.index("## How the code is laid out"):]
    layout = layout[: layout.index("```\n", layout.index("```") + 3)]
    modules = [p for p in (ROOT / "tinygraph").rglob("*.py") if p.name != "__init__.py"]
    modules += list((ROOT / "tinygraph").rglob("*.pyx"))
    missing = sorted(str(p.relative_to(ROOT)) for p in modules if p.name not in layout)
    assert not missing, f"README's layout does not mention {missing}"


def test_tensor_is_imported_before_the_ops_and_the_engine():
    out = subprocess.run([sys.executable, "-X", "importtime", "-c", "import tinygraph"], capture_output=True,
                         text=True, check=True).stderr
    order = [line.split("|")[-1].strip() for line in out.splitlines() if "tinygraph" in line]
    assert order.index("tinygraph.tensor") < order.index("tinygraph.ops.function") < order.index("tinygraph.engine")
