"""Reading an untrusted .npz archive: every array's shape and dtype before any of its data, and no allocation
larger than what the file can hold.

`NpzArchive(file, size)` checks the zip directory's record counts, each member's flags and sizes, and each .npy
header (read from the member's first bytes, never inflating the rest), then `read(name)` reads one array whose size
is already known to match the bytes stored for it. Anything wrong raises `Malformed(reason)`; the caller names the file.
"""
import os
import stat
import struct
import zipfile

import numpy as np

MAX_DEFLATE_RATIO = 1100  # deflate cannot inflate more than 1032-fold: a member claiming more is forged
MAX_HEADER_SIZE = 10_000  # NumPy's own limit on an .npy header
DIRECTORY_BYTES_PER_MEMBER = 1024  # a central-directory record: 46 bytes, the name and a zip64 extra


class Malformed(ValueError):
    """A file that is not what it should be; the message is the reason, the caller adds the file's name."""


def open_regular_file(path):
    """(binary file, size) of `path`; refuses, without blocking, anything but a regular file (a named pipe, a
    device, a folder). FileNotFoundError and PermissionError pass through."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(path, flags)  # O_NONBLOCK: opening a named pipe does not wait for a writer
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        kind = "a folder" if stat.S_ISDIR(info.st_mode) else "a named pipe" if stat.S_ISFIFO(info.st_mode) else \
            "a device or socket"
        raise Malformed(f"it is {kind}, not a regular file")
    return os.fdopen(fd, "rb"), info.st_size


class NpzArchive:
    """The members of an .npz (names without `.npy`) as `headers[name] = (shape, dtype)`, and `read(name)`."""

    def __init__(self, file, size, max_members):
        self._file, self._size = file, size
        start = file.read(6)
        if start.startswith(b"\x93NUMPY"):
            raise Malformed("it holds a single array (.npy), not an .npz archive")
        if not start.startswith(b"PK\x03\x04"):
            raise Malformed(f"it is not an .npz (zip) archive: it starts with {start!r}")
        entries, directory = _directory_record(file, size)
        if entries > max_members or directory > max_members * DIRECTORY_BYTES_PER_MEMBER:
            raise Malformed(f"its zip directory lists {entries} members in {directory} bytes (at most {max_members})")
        self._zip = zipfile.ZipFile(file)
        infos = self._zip.infolist()
        names = [info.filename for info in infos]
        if len(infos) > max_members or len(set(names)) != len(names):
            raise Malformed(f"its zip directory lists {len(infos)} members, some of them twice or too many")
        if not all(name.endswith(".npy") for name in names):
            raise Malformed(f"member {next(n for n in names if not n.endswith('.npy'))!r} is not an .npy array")
        self._infos = {name[:-4]: info for name, info in zip(names, infos)}
        for info in infos:
            self._check_sizes(info)
        self.headers = {name: self._header(info) for name, info in self._infos.items()}

    def close(self):
        self._zip.close()

    def _check_sizes(self, info):
        name = info.filename
        if info.flag_bits & 0x1:
            raise Malformed(f"member {name!r} is encrypted")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise Malformed(f"member {name!r} uses zip compression method {info.compress_type} (only stored and "
                            f"deflated members are read)")
        if info.header_offset + info.compress_size > self._size:
            raise Malformed(f"member {name!r} claims {info.compress_size} bytes beyond the end of the file")
        stored = info.compress_type == zipfile.ZIP_STORED
        if (stored and info.file_size != info.compress_size) or info.file_size > MAX_DEFLATE_RATIO * max(
                info.compress_size, 1):
            raise Malformed(f"member {name!r} claims to hold {info.file_size} bytes in {info.compress_size}")

    def _header(self, info):
        """(shape, dtype) from the member's .npy header, checked against the member's size in the zip directory."""
        with self._zip.open(info) as stream:
            version = np.lib.format.read_magic(stream)
            if version not in ((1, 0), (2, 0)):
                raise Malformed(f"member {info.filename!r} has .npy format version {version}")
            read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
            shape, _, dtype = read(stream, max_header_size=MAX_HEADER_SIZE)
            data_offset = stream.tell()
        if dtype.hasobject:
            raise Malformed(f"member {info.filename!r} holds Python objects, which would need pickle")
        nbytes = int(np.prod(shape, dtype=object)) * dtype.itemsize  # Python ints: a forged shape cannot overflow
        if info.file_size != data_offset + nbytes:
            raise Malformed(f"member {info.filename!r} holds {info.file_size - data_offset} bytes of data, its "
                            f"header describes {nbytes} (shape {shape} of {dtype})")
        return shape, dtype

    def read(self, name):
        """The array `name`; its size was checked against the file, so this allocates only what the file holds."""
        with self._zip.open(self._infos[name]) as stream:
            array = np.lib.format.read_array(stream, allow_pickle=False, max_header_size=MAX_HEADER_SIZE)
            stream.read(1)  # reaching the end makes zipfile compare the CRC
        return array


def _directory_record(file, size):
    """(member count, central directory bytes) from the zip's end records, before zipfile reads the directory."""
    tail_size = min(size, 22 + 0xFFFF)  # the end record and a comment of at most 64 KiB
    file.seek(size - tail_size)
    tail = file.read(tail_size)
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or tail_size - at < 22:
        raise Malformed("it is not a complete zip archive (no end-of-directory record)")
    _, _, _, _, entries, directory, _, _ = struct.unpack("<4s4H2LH", tail[at:at + 22])
    end = size - tail_size + at
    file.seek(max(end - 20, 0))
    locator = file.read(20) if end >= 20 else b""
    if locator.startswith(b"PK\x06\x07"):  # a zip64 archive: zipfile reads the counts from the zip64 record
        (record_offset,) = struct.unpack("<8xQ4x", locator)
        file.seek(record_offset)
        record = file.read(56)
        if len(record) < 56 or not record.startswith(b"PK\x06\x06"):
            raise Malformed("its zip64 end-of-directory record is damaged")
        entries, directory = struct.unpack("<32xQQ8x", record)
    file.seek(0)
    return entries, directory
