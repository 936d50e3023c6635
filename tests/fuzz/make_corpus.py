#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets (tests/fuzz/corpus/<name>/): small valid
files and one file per kind of damage the readers refuse. Run from anywhere; the files
are committed, so this only needs to run again when a seed is added."""
import gzip
import json
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def write(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# ---- checkpoint: the program of fuzz_checkpoint.c --------------------------------------
# a f32[2,3], b f64[], m bool[3], k i32[2,1,2], w.exp_avg f32[3]
PARAMS = [("a", "F32", [2, 3], 24), ("b", "F64", [], 8), ("m", "BOOL", [3], 3),
          ("k", "I32", [2, 1, 2], 16), ("w.exp_avg", "F32", [3], 12)]
DATA = {
    "a": struct.pack("<6f", 1, 2, 3, -0.0, float("inf"), 1e-45),
    "b": struct.pack("<d", 7.5),
    "m": bytes([1, 0, 1]),
    "k": struct.pack("<4i", -1, 0, 2**31 - 1, -2**31),
    "w.exp_avg": struct.pack("<3f", 0.5, float("nan"), -2),
}


def st_file(header_text, data, pad=True, hlen=None):
    h = header_text.encode("utf-8") if isinstance(header_text, str) else header_text
    if pad:
        h += b" " * ((8 - (8 + len(h)) % 8) % 8)
    return struct.pack("<Q", len(h) if hlen is None else hlen) + h + data


def st_header(order=None, meta={"producer": "nabla"}, override=None, sep=(",", ":")):
    entries, offset = {}, 0
    order = order or [p[0] for p in PARAMS]
    byname = {p[0]: p for p in PARAMS}
    for name in order:
        _, dt, shape, n = byname[name]
        entries[name] = {"dtype": dt, "shape": shape, "data_offsets": [offset, offset + n]}
        offset += n
    if override:
        override(entries)
    head = {}
    if meta is not None:
        head["__metadata__"] = meta
    head.update(entries)
    return json.dumps(head, separators=sep), b"".join(DATA[n] for n in order)


h, d = st_header()
write("checkpoint", "valid-nabla", st_file(h, d))
h, d = st_header(order=["k", "w.exp_avg", "b", "a", "m"], meta={"format": "pt", "note": "\u00e9\U0001f600"},
                 sep=(", ", ": "))
write("checkpoint", "valid-foreign", st_file(h, d, pad=False))
h, d = st_header(meta=None)
write("checkpoint", "valid-no-metadata", st_file(h, d))
h, d = st_header()
write("checkpoint", "valid-escaped", st_file(h.replace('"w.exp_avg"', '"w\\u002eexp_avg"'), d))


def bad(name, override=None, **kw):
    h, d = st_header(override=override)
    write("checkpoint", name, st_file(h, d, **kw))


bad("float-dim", lambda e: e["a"].update(shape=[2, 3.0]))
h, d = st_header()
write("checkpoint", "exp-dim", st_file(h.replace('"shape":[2,3]', '"shape":[2,3e0]'), d))
bad("long-shape", lambda e: e["a"].update(shape=[1] * 20 + [2, 3]))
bad("negative-offset", lambda e: e["b"].update(data_offsets=[-8, 0]))
bad("overlap", lambda e: e["b"].update(data_offsets=[16, 24]))
bad("wrong-dtype", lambda e: e["m"].update(dtype="U8"))
bad("missing", lambda e: e.pop("k"))
bad("extra", lambda e: e.update(c={"dtype": "F32", "shape": [], "data_offsets": [63, 67]}))
h, d = st_header()
write("checkpoint", "truncated-data", st_file(h, d[:-5]))
write("checkpoint", "bool-2", st_file(h, d.replace(bytes([1, 0, 1]), bytes([1, 2, 1]))))
write("checkpoint", "trailing", st_file(h, d + b"xx"))
write("checkpoint", "header-past-end", st_file(h, d, hlen=2**63))
write("checkpoint", "short", b"\x10\0\0")
write("checkpoint", "empty", b"")
write("checkpoint", "not-utf8", st_file(h.replace('"a"', '"\xff"').encode("latin-1"), d))
write("checkpoint", "escaped-nul", st_file(h.replace('"nabla"', '"\\u0000"'), d))
write("checkpoint", "lone-surrogate", st_file(h.replace('"nabla"', '"\\ud800"'), d))
write("checkpoint", "deep", st_file('{"__metadata__":' + "[" * 100 + "]" * 100 + "}", b""))
write("checkpoint", "not-object", st_file("[1,2,3]", b""))

# Files that only a non-strict load takes (nb_program_load_ex, strict = 0), and damage
# in the tensors it skips.
def extra(name, entry, data, order=None):
    h, d = st_header(order=order, override=lambda e: e.update(z=entry(sum(p[3] for p in PARAMS if p[0] in e))))
    write("checkpoint", name, st_file(h, d + data))


extra("lax-extra-bf16", lambda at: {"dtype": "BF16", "shape": [2], "data_offsets": [at, at + 4]}, b"\x80?\0@")
extra("lax-extra-rank11", lambda at: {"dtype": "I64", "shape": [1] * 10 + [2], "data_offsets": [at, at + 16]},
      bytes(16))
extra("lax-missing", lambda at: {"dtype": "U8", "shape": [0, 2**40], "data_offsets": [at, at]}, b"",
      order=["a", "m"])
extra("lax-extra-bad-dtype", lambda at: {"dtype": "Q7", "shape": [2], "data_offsets": [at, at + 4]}, bytes(4))
extra("lax-extra-wrong-size", lambda at: {"dtype": "F16", "shape": [3], "data_offsets": [at, at + 4]}, bytes(4))
extra("lax-extra-overflow", lambda at: {"dtype": "BF16", "shape": [2**32, 2**32], "data_offsets": [at, at + 4]},
      bytes(4))
extra("lax-extra-overlap", lambda at: {"dtype": "BF16", "shape": [2], "data_offsets": [at - 4, at]}, bytes(4))
h, d = st_header(order=["a"])
write("checkpoint", "lax-only-a", st_file(h, d))
h, d = st_header(order=["a", "b"])
write("checkpoint", "lax-two-extras",
      st_file(h[:-1] + ',"y":{"dtype":"U16","shape":[1],"data_offsets":[34,36]},'
              '"z":{"dtype":"U8","shape":[2],"data_offsets":[32,34]}}', d + b"\1\2\3\4"))
h, d = st_header(override=lambda e: e.update(z={"dtype": "U8", "shape": [1], "data_offsets": [63, 64]}))
write("checkpoint", "lax-extra-twice",
      st_file(h[:-1] + ',"z":{"dtype":"U8","shape":[1],"data_offsets":[64,65]}}', d + b"\1\2"))

# ---- idx --------------------------------------------------------------------------------


def idx(type_byte, dims, payload):
    return bytes([0, 0, type_byte, len(dims)]) + b"".join(struct.pack(">I", x) for x in dims) + payload


def gz(b):
    return gzip.compress(b, mtime=0)


u8 = idx(0x08, [2, 3], bytes([0, 1, 127, 128, 254, 255]))
write("idx", "u8", u8)
write("idx", "u8.gz", gz(u8))
write("idx", "i8", idx(0x09, [4], bytes([0x80, 0xff, 0, 0x7f])))
write("idx", "i16.gz", gz(idx(0x0B, [2, 2], struct.pack(">4h", -32768, -2, 258, 32767))))
write("idx", "i32", idx(0x0C, [3], struct.pack(">3i", -2**31, 0, 2**31 - 1)))
write("idx", "f32", idx(0x0D, [2], struct.pack(">2f", 0.5, -1.25)))
write("idx", "f64.gz", gz(idx(0x0E, [1, 2], struct.pack(">2d", 1 / 3, -2.5e300))))
write("idx", "rank8", idx(0x08, [1, 2, 1, 1, 1, 1, 1, 3], bytes(range(6))))
write("idx", "labels.gz", gz(idx(0x08, [10], bytes([9, 0, 0, 3, 0, 2, 7, 2, 5, 5]))))
write("idx", "images.gz", gz(idx(0x08, [2, 4, 4], bytes((i * 37) % 256 for i in range(32)))))
write("idx", "two-members.gz", gz(u8[:7]) + gz(u8[7:]))
write("idx", "trailing-garbage.gz", gz(u8) + b"garbage")
write("idx", "trailing-data.gz", gz(u8 + b"\x01"))
write("idx", "trailing-data", u8 + b"\x01")
write("idx", "truncated.gz", gz(u8)[:-4])
write("idx", "truncated", u8[:-1])
write("idx", "bad-crc.gz", gz(u8)[:-8] + b"\0\0\0\0" + gz(u8)[-4:])
write("idx", "bad-magic", b"\x01" + u8[1:])
write("idx", "bad-type", u8[:2] + b"\x0a" + u8[3:])
write("idx", "rank0", idx(0x08, [], b""))
write("idx", "rank9", idx(0x08, [1] * 9, b"\0"))
write("idx", "zero-dim", idx(0x08, [3, 0], b""))
write("idx", "huge-dims.gz", gz(idx(0x0E, [65536, 65536, 256], b"\x11" * 84)))
write("idx", "overflow-dims", idx(0x0E, [0xFFFFFFFF] * 4, b""))
write("idx", "empty", b"")
write("idx", "empty.gz", gz(b""))

# ---- onnx and onnx_tensor: ONNX models and TensorProto files ---------------------------
# The small models of tests/data/onnx/ (tests/golden/make_onnx_models.py: valid ones and
# one per refusal), a few small models of Debian's libonnx-testdata (ONNX's own
# serializer; when installed), damaged copies; the tensors of tests/data/onnx/tensors/
# and a few small test inputs.
import glob
import shutil

DATA = os.path.join(HERE, "..", "data", "onnx")
TESTDATA = "/usr/share/libonnx-testdata/data"
ONNX_TESTS = ["node/test_add_bcast", "node/test_conv_with_strides_padding",
              "node/test_reshape_extended_dims", "node/test_constant",
              "node/test_cast_FLOAT_to_DOUBLE", "node/test_gemm_default_scalar_bias",
              "node/test_matmul_2d", "node/test_unsqueeze_axis_0", "node/test_concat_2d_axis_0",
              "node/test_shape", "node/test_where_example", "node/test_batchnorm_example",
              "simple/test_expand_shape_model1", "pytorch-converted/test_Linear",
              "pytorch-converted/test_ReLU", "pytorch-operator/test_operator_add_broadcast",
              "pytorch-operator/test_operator_view"]


def read(path):
    with open(path, "rb") as f:
        return f.read()


for path in sorted(glob.glob(os.path.join(DATA, "*.onnx"))):
    write("onnx", os.path.basename(path), read(path))
mlp = read(os.path.join(DATA, "mlp.onnx"))
write("onnx", "mlp-truncated", mlp[:-7])
write("onnx", "mlp-flipped", mlp[:40] + bytes([mlp[40] ^ 0x55]) + mlp[41:])
write("onnx", "empty", b"")
for t in ONNX_TESTS:
    model = os.path.join(TESTDATA, t, "model.onnx")
    if os.path.exists(model):
        write("onnx", t.replace("/", "-") + ".onnx", read(model))
for path in sorted(glob.glob(os.path.join(DATA, "tensors", "*.pb"))):
    write("onnx_tensor", os.path.basename(path), read(path))
for t in ONNX_TESTS:
    for pb in sorted(glob.glob(os.path.join(TESTDATA, t, "test_data_set_0", "*.pb"))):
        if os.path.getsize(pb) <= 512:
            write("onnx_tensor", t.replace("/", "-") + "-" + os.path.basename(pb), read(pb))
write("onnx_tensor", "empty", b"")
write("onnx_tensor", "float-truncated", read(os.path.join(DATA, "tensors", "float_raw.pb"))[:-3])
