"""Build the compiled convolution kernel where a C compiler works; everything else is declared in pyproject.toml.

Without a working compiler (or without Cython), the install still succeeds: it prints one warning and tinygraph
uses the kernel's NumPy reference (`tinygraph/ops/conv_reference.py`), which gives the same results more slowly
and warns once when tinygraph is imported.
"""
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext
from setuptools.errors import CCompilerError, ExecError, PlatformError

KERNEL = "tinygraph.ops.conv_backward"
FALLBACK = ("tinygraph: WARNING: the compiled kernel {kernel} was not built ({why}); installing without it, so "
            "convolution and pooling gradients use the slower NumPy reference. Install a C compiler (e.g. "
            "`apt-get install gcc`, Xcode's command line tools, or MSVC) and reinstall to build it.")


def _warn(why):
    print(FALLBACK.format(kernel=KERNEL, why=why), file=sys.stderr)


class OptionalBuildExt(build_ext):
    """build_ext that leaves the kernel out, with one warning, when the compiler is missing or fails."""

    def build_extensions(self):
        self.failed = []
        super().build_extensions()
        # Forgotten, so that neither the in-place copy nor an editable install looks for the missing library.
        self.extensions = [ext for ext in self.extensions if ext not in self.failed]

    def build_extension(self, ext):
        try:
            super().build_extension(ext)
        except (CCompilerError, ExecError, PlatformError, OSError) as err:  # PlatformError: no compiler at all
            _warn(f"the C compiler failed: {err}")
            self.failed.append(ext)


try:
    from Cython.Build import cythonize
except ImportError:  # pyproject.toml asks for Cython; a build without isolation may lack it
    _warn("Cython is not installed")
    extensions = []
else:
    extensions = cythonize(
        [Extension(KERNEL, ["tinygraph/ops/conv_backward.pyx"], extra_compile_args=["-O3", "-ffp-contract=off"])],
        compiler_directives={"language_level": "3"},
    )

setup(ext_modules=extensions, cmdclass={"build_ext": OptionalBuildExt})
