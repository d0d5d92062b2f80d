"""Network.save / Network.load: round trips, atomic writes, and hostile files (each built here, in tmp_path)."""
import json
import os
import signal
import subprocess
import sys
import threading
import time
import tracemalloc
import zipfile

import numpy as np
import pytest

import tinygraph as tg
from tinygraph import saving
from tinygraph.layers import (LAYER_TYPES, ActivationLayer, AveragePoolingLayer, ConvolutionalLayer, DropoutLayer,
                              FCLayer, FlattenLayer, MaxPoolingLayer)

from test_network import small_cnn


def every_layer_type(seed=0):
    """One network using each layer type a file can hold, with strides, paddings and dilations that do not divide
    evenly, so a wrong shape rule in the reader shows."""
    return (
        tg.Network(seed=seed)
        .add(ConvolutionalLayer(4, (3, 2), padding="same")).add(ActivationLayer("relu"))
        .add(ConvolutionalLayer(3, (3, 3), padding=(2, 1), stride=(2, 3), dilation=2, init="uniform"))
        .add(MaxPoolingLayer((3, 3), stride=2, padding=1)).add(AveragePoolingLayer((2, 1)))
        .add(FlattenLayer()).add(DropoutLayer(rate=0.3)).add(FCLayer(5, init="he")).add(ActivationLayer("tanh"))
        .add(FCLayer(3)).add(ActivationLayer("log_softmax"))
    )


def digits(n=12, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((n, 11, 13, 2), dtype=np.float32), rng.integers(0, 3, n)


def mlp3(seed=0):
    return tg.Network(seed=seed).add(FCLayer(5)).add(ActivationLayer("tanh")).add(FCLayer(3))


def three_classes(n=10):
    rng = np.random.default_rng(1)
    return rng.random((n, 4), dtype=np.float32), rng.integers(0, 3, n)


def saved_arrays(net, x, path):
    """Build `net` on `x`, save it to `path`, and return the file's arrays for a test to tamper with."""
    net.predict(x)
    net.save(path)
    with np.load(path) as archive:
        return dict(archive)


def record_of(arrays):
    return json.loads(str(arrays["architecture"]))


def with_record(arrays, record):
    return dict(arrays, architecture=np.array(json.dumps(record)))


def refused(path, message):
    """Network.load(path) raises one ValueError naming the file and matching `message`."""
    with pytest.raises(ValueError, match=message) as raised:
        tg.Network.load(path)
    assert str(path) in str(raised.value) and "is not a tinygraph network file" in str(raised.value)
    assert raised.value.__cause__ is None and raised.value.__suppress_context__  # one error, not a chain
    return raised.value


def set_zip_field(path, member, local_offset, central_offset, value):
    """Overwrite a 2-byte field of `member`'s local header and central directory record."""
    data, name = bytearray(path.read_bytes()), member.encode()
    for signature, offset, name_at in ((b"PK\x03\x04", local_offset, 30), (b"PK\x01\x02", central_offset, 46)):
        at = data.find(signature)
        while at >= 0:
            if data[at + name_at:at + name_at + len(name)] == name:
                data[at + offset:at + offset + 2] = value.to_bytes(2, "little")
            at = data.find(signature, at + 4)
    path.write_bytes(bytes(data))


def peak_bytes(call):
    """The peak memory NumPy and Python allocate while `call()` runs."""
    tracemalloc.start()
    try:
        call()
    except ValueError:
        pass
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak


# ----- round trips -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_loaded_network_predicts_bit_identically(tmp_path, dtype):
    x, y = digits()
    net = every_layer_type().use("cross_entropy")
    net.fit(x.astype(dtype), y, epochs=1, learning_rate=0.05, batch_size=4, verbose=0)
    if dtype == np.float64:
        for p in net.parameters():
            p.data = p.data.astype(np.float64)
    loaded = tg.Network.load(net.save(tmp_path / "model.npz"))
    assert loaded.predict(x.astype(dtype)).tobytes() == net.predict(x.astype(dtype)).tobytes()
    assert [type(a) for a in loaded.layers] == [type(b) for b in net.layers]
    assert [a.input_shape for a in loaded.layers] == [b.input_shape for b in net.layers]
    assert [(p.name, p.dtype) for p in loaded.parameters()] == [(p.name, p.dtype) for p in net.parameters()]
    assert loaded.loss_name == "cross_entropy"
    loaded.fit(x, y, epochs=1, learning_rate=0.05, verbose=0)  # and it trains on


def test_every_layer_type_is_known_to_the_reader():
    """A layer type added to LAYER_TYPES without teaching the reader its parameters fails here, not in a user's load."""
    used = {type(layer) for layer in every_layer_type().layers}
    assert used == set(LAYER_TYPES.values())


def test_files_in_the_earlier_layout_still_load(tmp_path):
    """Files written before dilation and pooling padding existed, and deflated ones (np.savez_compressed)."""
    x, _ = digits(2)
    path = tmp_path / "old.npz"
    arrays = saved_arrays(small_cnn(), x, path)
    record = record_of(arrays)
    del record["layers"][0]["config"]["dilation"], record["layers"][2]["config"]["padding"]
    np.savez_compressed(path, **with_record(arrays, record))
    assert tg.Network.load(path).predict(x).tobytes() == small_cnn().predict(x).tobytes()


def test_an_interrupted_save_keeps_the_old_file(tmp_path, monkeypatch):
    x, _ = digits(2)
    net = small_cnn()
    net.predict(x)
    path = tmp_path / "model.npz"
    net.save(path)
    before = path.read_bytes()

    def broken_savez(file, **arrays):
        file.write(b"partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(np, "savez", broken_savez)
    with pytest.raises(KeyboardInterrupt):
        net.save(path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["model.npz"]


# ----- save refuses what load could not read back (item 8, 13) -----------------------------------------------------
def test_save_refuses_an_unbuilt_network_and_custom_activations(tmp_path):
    with pytest.raises(ValueError, match="nothing to save"):
        small_cnn().save(tmp_path / "m.npz")
    net = tg.Network().add(FCLayer(2)).add(ActivationLayer(lambda t: t))
    net.predict(np.ones((1, 3)))
    with pytest.raises(ValueError, match="custom activation function cannot be saved"):
        net.save(tmp_path / "m.npz")
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_save_refuses_weights_load_would_refuse_and_keeps_the_old_file(tmp_path, value):
    net = mlp3()
    net.predict(three_classes()[0])
    path = net.save(tmp_path / "m.npz")
    before = (tmp_path / "m.npz").read_bytes()
    net.parameters()[2].data[1, 1] = value
    with pytest.raises(ValueError, match="FCLayer_2.weights holds NaN or infinite values; .*nothing was written"):
        net.save(path)
    assert (tmp_path / "m.npz").read_bytes() == before and os.listdir(tmp_path) == ["m.npz"]


def test_save_refuses_a_subclass_of_a_built_in_layer(tmp_path):
    class MyDense(FCLayer):
        pass

    net = tg.Network().add(MyDense(2))
    net.predict(np.ones((1, 3)))
    with pytest.raises(ValueError, match="MyDense_1 is a MyDense, not one of the layer types a file can rebuild"):
        net.save(tmp_path / "m.npz")
    assert os.listdir(tmp_path) == []


def test_save_to_an_empty_path_or_a_folder_names_what_was_given(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    net = mlp3()
    net.predict(three_classes()[0])
    with pytest.raises(ValueError, match="Network.save: the path is empty; give a file name such as 'model.npz'"):
        net.save("")
    with pytest.raises(IsADirectoryError, match=f"Network.save: {tmp_path} is a folder"):
        net.save(tmp_path)
    assert os.listdir(tmp_path) == []


# ----- modes and temporary files (item 9) -------------------------------------------------------------------------
def test_saved_file_gets_the_usual_mode_and_a_missing_folder_is_named(tmp_path):
    x, _ = three_classes()
    net = mlp3()
    net.predict(x)
    path = net.save(tmp_path / "m.npz")
    umask = os.umask(0)
    os.umask(umask)
    assert os.stat(path).st_mode & 0o777 == 0o666 & ~umask
    with pytest.raises(FileNotFoundError, match="Network.save: the folder .*nowhere does not exist"):
        net.save(tmp_path / "nowhere" / "m.npz")


@pytest.mark.parametrize("mode", [0o600, 0o640, 0o444])
def test_saving_over_a_file_keeps_its_mode(tmp_path, mode):
    net = mlp3()
    net.predict(three_classes()[0])
    path = net.save(tmp_path / "m.npz")
    os.chmod(path, mode)
    net.save(path)
    assert os.stat(path).st_mode & 0o777 == mode


def test_a_stale_temporary_file_is_named_for_its_target_and_removed_by_the_next_save(tmp_path):
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead, alive = int(finished.stdout), os.getppid()
    stale, running = tmp_path / f".m.npz.tinygraph-tmp-{dead}-0", tmp_path / f".m.npz.tinygraph-tmp-{alive}-0"
    other = tmp_path / f".other.npz.tinygraph-tmp-{dead}-0"
    for path in (stale, running, other):
        path.write_bytes(b"partial")
    net = mlp3()
    net.predict(three_classes()[0])
    net.save(tmp_path / "m.npz")
    assert sorted(os.listdir(tmp_path)) == sorted(["m.npz", running.name, other.name])


KILLED_SAVE = """
import sys, time, numpy as np, tinygraph as tg
from tinygraph.layers import FCLayer
net = tg.Network(seed=0).add(FCLayer(3))
net.predict(np.ones((1, 4), np.float32))
def slow_savez(file, **arrays):
    file.write(b"partial")
    file.flush()
    print("writing", flush=True)
    time.sleep(60)
np.savez = slow_savez
net.save(sys.argv[1])
"""


@pytest.mark.skipif(os.name != "posix", reason="SIGKILL")
def test_a_save_killed_midway_leaves_the_old_file_and_a_temporary_the_next_save_removes(tmp_path):
    net = mlp3()
    net.predict(three_classes()[0])
    path = tmp_path / "m.npz"
    net.save(path)
    before = path.read_bytes()
    child = subprocess.Popen([sys.executable, "-c", KILLED_SAVE, str(path)], stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline() == "writing\n"
    child.send_signal(signal.SIGKILL)
    child.wait()
    child.stdout.close()
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["." + f"m.npz.tinygraph-tmp-{child.pid}-0", "m.npz"]
    net.save(path)
    assert os.listdir(tmp_path) == ["m.npz"]


# ----- malformed files: one ValueError naming the file and the reason (items 5, 7, 10, 11) ---------------------------
def test_load_refuses_corrupt_and_foreign_files(tmp_path):
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"not a zip file at all")
    refused(garbage, r"not an .npz \(zip\) archive: it starts with b'not a '")
    text = tmp_path / "notes.txt"
    text.write_text("hello\n" * 1000)
    refused(text, "not an .npz")
    foreign = tmp_path / "foreign.npz"
    np.savez(foreign, weights=np.ones(3))
    refused(foreign, "no tinygraph architecture record")
    pickled = tmp_path / "pickled.npz"
    np.savez(pickled, architecture=np.array([{"format": "x"}], dtype=object))
    refused(pickled, "holds Python objects, which would need pickle")
    single = tmp_path / "single.npy"
    np.save(single, np.ones(3))
    refused(single, r"single array \(.npy\)")
    empty = tmp_path / "empty.npz"
    empty.write_bytes(b"")
    refused(empty, "not an .npz")
    with pytest.raises(FileNotFoundError):
        tg.Network.load(tmp_path / "missing.npz")


def test_load_checks_weight_shapes(tmp_path):
    path = tmp_path / "model.npz"
    arrays = saved_arrays(small_cnn(), digits(2)[0], path)
    np.savez(path, **dict(arrays, param_0=np.zeros((2, 2), dtype=np.float32)))
    refused(path, r"ConvolutionalLayer_1.filters should be a float array of shape \(3, 3, 3, 2\), got \(2, 2\)")
    np.savez(path, **dict(arrays, param_1=np.zeros(3, dtype=np.int64)))
    refused(path, "param_1 should hold floats, it holds int64")
    np.savez(path, **{key: value for key, value in arrays.items() if key != "param_1"})
    refused(path, "members .* are not architecture and param_0")
    np.savez(path, **{key: value for key, value in arrays.items() if key != "param_3"})
    refused(path, r"FCLayer_1.bias should be a float array of shape \(4,\), got nothing")
    np.savez(path, **dict(arrays, param_4=np.zeros(3, dtype=np.float32)))
    refused(path, "more than the architecture needs")


def test_load_refuses_malformed_architecture_records(tmp_path):
    path = tmp_path / "m.npz"
    arrays = saved_arrays(mlp3(), three_classes()[0], path)
    record = record_of(arrays)
    for field, value, message in [
        ("layers", ["FCLayer"], "layer list is malformed"),
        ("layers", 5, "layer list is malformed"),
        ("layers", [], "lists 0 layers"),
        ("layers", [{"class": "Lambda", "config": {}}], "unknown layer type 'Lambda'"),
        ("layers", [{"class": "FCLayer", "config": {"output_size": -1}}], "bad configuration for FCLayer"),
        ("input_shape", [100000, 100000, 100], "input shape"),
        ("input_shape", "4", "input shape"),
        ("version", 2, "version 2 is not supported"),
        ("loss", "hinge", "its loss 'hinge' is not one this tinygraph knows"),  # item 11
    ]:
        np.savez(path, **with_record(arrays, dict(record, **{field: value})))
        refused(path, message)


def test_a_tiny_file_claiming_a_huge_network_is_refused_without_allocating_it(tmp_path):
    """Item 5: the architecture says 10**10 weights; nothing of that size is ever drawn or allocated."""
    path = tmp_path / "m.npz"
    arrays = saved_arrays(mlp3(), three_classes()[0], path)
    record = dict(record_of(arrays), input_shape=[100000])
    record["layers"][0]["config"]["output_size"] = 100000
    np.savez(path, **with_record(arrays, record))
    started = time.perf_counter()
    assert peak_bytes(lambda: refused(path, r"FCLayer_1.weights should be a float array of shape \(100000, "
                                            r"100000\)")) < 1_000_000
    assert time.perf_counter() - started < 1


def test_a_tiny_file_claiming_huge_activations_is_refused_without_running_a_layer(tmp_path):
    """Item 5: 64 filters over an 8192x8192 image (16 GB of output per sample); the geometry is found on an empty
    batch, so nothing of that size is computed."""
    record = {"format": "tinygraph.network", "version": 1, "input_shape": [8192, 8192, 1], "loss": None, "layers": [
        {"class": "ConvolutionalLayer", "config": {"filters_count": 64, "filter_shape": [3, 3], "padding": "same"}}]}
    path = tmp_path / "m.npz"
    np.savez(path, architecture=np.array(json.dumps(record)), param_0=np.zeros((64, 3, 3, 1), np.float32),
             param_1=np.zeros(64, np.float32))
    assert peak_bytes(lambda: refused(path, r"ConvolutionalLayer_1 would output samples of shape \(8192, 8192, 64\), "
                                            r"more than 67108864 values")) < 2_000_000


def test_load_draws_no_random_weights(tmp_path, monkeypatch):
    """Item 5: layers are built with zeros, replaced at once by the stored arrays (drawing weights cost 6 GB)."""
    from tinygraph.layers import conv, dense

    net = every_layer_type()
    net.predict(digits(2)[0])
    path = net.save(tmp_path / "m.npz")
    draws = []
    for module in (conv, dense):
        def initial_weights(rng, *args, _original=module.initial_weights, **kwargs):
            draws.append(type(rng).__name__)
            return _original(rng, *args, **kwargs)

        monkeypatch.setattr(module, "initial_weights", initial_weights)
    tg.Network.load(path)
    assert draws == ["_ZeroDraws"] * 4


def test_a_forged_array_header_is_refused_without_allocating_it(tmp_path):
    """Item 7: an .npy header claiming 3.64 TiB over a few bytes (np.load would raise MemoryError)."""
    path = tmp_path / "m.npz"
    arrays = saved_arrays(mlp3(), three_classes()[0], path)
    np.savez(path, **arrays)
    with zipfile.ZipFile(path, "a") as archive, archive.open("param_4.npy", "w") as member:
        np.lib.format.write_array_header_1_0(member, {"descr": "<f4", "fortran_order": False,
                                                      "shape": (1_000_000, 1_000_000)})
        member.write(b"\x00" * 16)
    assert peak_bytes(lambda: refused(path, r"param_4.npy' holds 16 bytes of data, its header describes "
                                            r"4000000000000")) < 1_000_000


def test_an_extra_compressed_member_is_never_inflated(tmp_path):
    """Item 5: a 50 MB member of zeros deflated to 50 KB; the member list is checked before any data is read."""
    path = tmp_path / "m.npz"
    np.savez(path, **saved_arrays(mlp3(), three_classes()[0], path))
    with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED) as archive:
        with archive.open("extra.npy", "w") as member:
            np.lib.format.write_array_header_1_0(member, {"descr": "|u1", "fortran_order": False,
                                                          "shape": (50_000_000,)})
            for _ in range(50):
                member.write(bytes(1_000_000))
    assert path.stat().st_size < 200_000
    assert peak_bytes(lambda: refused(path, "are not architecture and param_0")) < 2_000_000


def test_broken_zip_members_are_reported_as_such(tmp_path):
    """Item 7: the errors zipfile and zlib raise (zlib.error, NotImplementedError, RuntimeError) become ValueErrors."""
    path = tmp_path / "m.npz"
    arrays = saved_arrays(mlp3(), three_classes()[0], path)
    cases = [
        (4, 6, 99, "NotImplementedError: zip file version 9.9"),  # needs a newer zip reader
        (6, 8, 1, "member 'param_0.npy' is encrypted"),
        (8, 10, 99, "member 'param_0.npy' uses zip compression method 99"),
    ]
    for local, central, value, message in cases:
        np.savez(path, **arrays)
        set_zip_field(path, "param_0.npy", local, central, value)
        refused(path, message)
    np.savez(path, **{key: value for key, value in arrays.items() if key != "param_0"})
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr("param_0.npy", b"\xff" * 200)
    set_zip_field(path, "param_0.npy", 8, 10, 8)  # now claims to be deflated: an invalid deflate stream
    refused(path, "zlib.error: Error -3 while decompressing data: invalid block type")
    np.savez(path, **arrays)
    data = bytearray(path.read_bytes())
    data[data.find(b"param_0.npy") + 11 + 200] ^= 0xFF  # a flipped bit in the weights
    path.write_bytes(bytes(data))
    refused(path, "Bad CRC-32")
    path.write_bytes(bytes(data[: len(data) // 2]))  # cut short
    refused(path, "no end-of-directory record")


def test_a_deeply_nested_or_oversized_record_is_refused(tmp_path):
    """Item 7: JSON nested 100,000 deep (RecursionError in the parser) and a record of 5 million characters."""
    path = tmp_path / "m.npz"
    arrays = saved_arrays(mlp3(), three_classes()[0], path)
    np.savez(path, **dict(arrays, architecture=np.array("[" * 100_000 + "]" * 100_000)))
    refused(path, "nests 100000 brackets deep")
    np.savez(path, **dict(arrays, architecture=np.array(json.dumps({"pad": "x" * 5_000_000}))))
    refused(path, "not a string of at most")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes")
def test_a_named_pipe_is_refused_without_blocking(tmp_path):
    pipe = tmp_path / "model.npz"
    os.mkfifo(pipe)
    outcome = []
    worker = threading.Thread(target=lambda: outcome.append(pytest.raises(ValueError, tg.Network.load, pipe)),
                              daemon=True)
    worker.start()
    worker.join(10)
    assert not worker.is_alive(), "Network.load blocked on a named pipe"
    assert "it is a named pipe, not a regular file" in str(outcome[0].value)
    refused(tmp_path, "it is a folder, not a regular file")


def test_long_double_weights_are_cast_before_the_finiteness_check(tmp_path):
    """Item 10: a long double above float32's range loads as float64; one above float64's range is refused."""
    path = tmp_path / "m.npz"
    x, _ = three_classes()
    arrays = saved_arrays(mlp3(), x, path)
    big = arrays["param_0"].astype(np.longdouble) * np.longdouble(1e39)
    np.savez(path, **dict(arrays, param_0=big))
    loaded = tg.Network.load(path)
    assert loaded.parameters()[0].dtype == np.float64 and np.isfinite(loaded.parameters()[0].data).all()
    np.testing.assert_allclose(loaded.parameters()[0].data, arrays["param_0"].astype(np.float64) * 1e39, rtol=1e-6)
    if np.finfo(np.longdouble).max > 1e400:  # 80-bit long double (x86); elsewhere it is float64
        np.savez(path, **dict(arrays, param_0=big * np.longdouble("1e400")))
        refused(path, r"FCLayer_1.weights contains NaN or infinite values \(as float64\)")
    np.savez(path, **dict(arrays, param_1=np.full(5, np.nan, np.float32)))
    refused(path, "FCLayer_1.bias contains NaN")
