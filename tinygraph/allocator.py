"""The C library's memory allocator, set to keep freed memory for the next training step (glibc only).

A training step allocates and frees the same large arrays every time. By default glibc gives a freed block of more
than a few MiB back to the operating system (munmap, or trimming the heap's top), and the next step's array of
the same size then takes one page fault per 4 KiB page as it is first written: measured 1.5 ms of a 2 ms
convolution forward at batch 256, and 10-25% of a whole training step (benchmarks/RESULTS.md). With blocks up to
32 MiB served from the heap and up to 256 MiB of free heap kept, the pages stay mapped and are reused.

Applied once when tinygraph is imported, for the whole process; `TINYGRAPH_MALLOC=default` (read at import) keeps
the C library's own settings. Elsewhere than glibc (macOS, Windows, musl) nothing changes.
"""
import ctypes
import os

# mallopt's parameter numbers (malloc.h); 32 MiB is the largest mmap threshold glibc accepts on 64-bit machines.
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
MMAP_THRESHOLD = 32 << 20
TRIM_THRESHOLD = 256 << 20


def keep_freed_memory():
    """Set glibc's malloc to reuse freed large blocks; returns whether it applied (False elsewhere than glibc, or
    with TINYGRAPH_MALLOC=default)."""
    setting = os.environ.get("TINYGRAPH_MALLOC", "").strip().lower()
    if setting not in ("", "keep", "default"):
        raise ValueError(f"TINYGRAPH_MALLOC must be 'keep' (the default) or 'default', got {setting!r}")
    if setting == "default" or not _glibc():
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the C library this process already runs on
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))


def _glibc():
    try:
        return os.confstr("CS_GNU_LIBC_VERSION").startswith("glibc")
    except (AttributeError, ValueError, OSError):  # not a GNU C library, or no confstr
        return False
