"""safetensors files, written and read with our own few lines: deterministic layout, F16/BF16 rounding,
full validation on read (the C loader's test files are made and checked with these)."""

import json
import os
import struct

import numpy as np

from cavrpy.tool import ToolError

ST_ITEMSIZE = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I32": 4, "I64": 8, "U8": 1}
STORAGE_DTYPES = {"f32": "F32", "f16": "F16", "bf16": "BF16"}


def f32_to_bf16_bits(a):
    """Round float32 values to bfloat16 (round to nearest, ties to even); uint16 bits."""
    a = np.ascontiguousarray(a, dtype=np.float32)
    u = a.view(np.uint32).astype(np.uint64)
    rounded = ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)
    nan = np.isnan(a)
    if nan.any():
        rounded[nan] = 0x7FC0
    return rounded


def bf16_bits_to_f32(bits):
    return (np.asarray(bits, dtype=np.uint16).astype(np.uint32) << 16).view(np.float32)


def encode_tensor(arr, st_dtype):
    """numpy array -> (st_dtype, shape, little-endian bytes)."""
    arr = np.asarray(arr)
    if st_dtype == "F32":
        data = np.ascontiguousarray(arr, dtype="<f4").tobytes()
    elif st_dtype == "F16":
        a32 = np.asarray(arr, dtype=np.float32)
        if np.isfinite(a32).all() and np.abs(a32).max(initial=0.0) > 65504.0:
            raise ToolError("a value overflows float16 (|x| > 65504)")
        data = np.ascontiguousarray(a32.astype("<f2")).tobytes()
    elif st_dtype == "BF16":
        data = f32_to_bf16_bits(np.asarray(arr, dtype=np.float32)).astype("<u2").tobytes()
    elif st_dtype == "I32":
        a64 = np.asarray(arr)
        if a64.size and (a64.min() < -2**31 or a64.max() >= 2**31):
            raise ToolError("an index does not fit in int32")
        data = np.ascontiguousarray(a64, dtype="<i4").tobytes()
    else:
        raise ToolError("cannot write dtype %s" % st_dtype)
    return (st_dtype, [int(s) for s in arr.shape], data)


def quantize(arr, st_dtype):
    """The float64 values a float tensor has after storage in st_dtype."""
    a = np.asarray(arr, dtype=np.float64)
    if st_dtype == "F32":
        return a.astype(np.float32).astype(np.float64)
    if st_dtype == "F16":
        return a.astype(np.float32).astype(np.float16).astype(np.float64)
    if st_dtype == "BF16":
        return bf16_bits_to_f32(f32_to_bf16_bits(a.astype(np.float32))).astype(np.float64)
    raise ToolError("not a float storage dtype: %s" % st_dtype)


def write(path, tensors, metadata):
    """tensors: name -> (st_dtype, shape, bytes).  metadata: str -> str.

    Tensors are laid out by decreasing element size, then by name, so every tensor
    starts aligned to its element size; there are no holes between them.  The JSON
    header is padded with spaces so the data starts on an 8-byte boundary."""
    for k, v in metadata.items():
        if not isinstance(k, str) or not isinstance(v, str):
            raise ToolError("metadata must map strings to strings (%r)" % (k,))
    order = sorted(tensors, key=lambda n: (-ST_ITEMSIZE[tensors[n][0]], n))
    header = {"__metadata__": dict(sorted(metadata.items()))}
    offset = 0
    for name in order:
        dt, shape, data = tensors[name]
        n = 1
        for s in shape:
            n *= s
        if n * ST_ITEMSIZE[dt] != len(data):
            raise ToolError("internal: tensor %s has %d bytes, expected %d"
                            % (name, len(data), n * ST_ITEMSIZE[dt]))
        header[name] = {"dtype": dt, "shape": list(shape),
                        "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
    hjson = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hjson += b" " * ((8 - len(hjson) % 8) % 8)
    tmp = path + ".tmp-%d" % os.getpid()
    try:
        with open(tmp, "wb") as f:
            f.write(struct.pack("<Q", len(hjson)))
            f.write(hjson)
            for name in order:
                f.write(tensors[name][2])
        os.replace(tmp, path)
    except OSError as e:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise ToolError("cannot write %s: %s" % (path, e.strerror or e))


def read(path):
    """-> (tensors, dtypes, metadata); tensors: name -> numpy array (F16/BF16 decoded to
    float32), dtypes: name -> safetensors dtype string.  Validates the whole layout."""
    try:
        with open(path, "rb") as f:
            blob = f.read()
    except OSError as e:
        raise ToolError("cannot read %s: %s" % (path, e.strerror or e))
    if len(blob) < 8:
        raise ToolError("%s: too short for a safetensors file" % path)
    (hlen,) = struct.unpack("<Q", blob[:8])
    if hlen > len(blob) - 8 or hlen > 100_000_000:
        raise ToolError("%s: header length %d does not fit the file" % (path, hlen))
    try:
        header = json.loads(blob[8:8 + hlen].decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise ToolError("%s: bad JSON header: %s" % (path, e))
    if not isinstance(header, dict):
        raise ToolError("%s: header is not a JSON object" % path)
    metadata = header.pop("__metadata__", {}) or {}
    if not isinstance(metadata, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
        raise ToolError("%s: __metadata__ must map strings to strings" % path)
    data = memoryview(blob)[8 + hlen:]
    tensors, dtypes, spans = {}, {}, []
    for name, info in header.items():
        try:
            dt = info["dtype"]
            shape = [int(s) for s in info["shape"]]
            b, e = [int(x) for x in info["data_offsets"]]
        except (KeyError, TypeError, ValueError):
            raise ToolError("%s: malformed entry for tensor %s" % (path, name))
        if dt not in ST_ITEMSIZE:
            raise ToolError("%s: tensor %s has unsupported dtype %s" % (path, name, dt))
        if any(s < 0 for s in shape):
            raise ToolError("%s: tensor %s has a negative dimension" % (path, name))
        n = 1
        for s in shape:
            n *= s
        if not (0 <= b <= e <= len(data)) or e - b != n * ST_ITEMSIZE[dt]:
            raise ToolError("%s: tensor %s: offsets [%d, %d] do not match shape %s %s "
                            "within %d data bytes" % (path, name, b, e, shape, dt, len(data)))
        raw = data[b:e]
        if dt == "F32":
            a = np.frombuffer(raw, dtype="<f4")
        elif dt == "F64":
            a = np.frombuffer(raw, dtype="<f8")
        elif dt == "F16":
            a = np.frombuffer(raw, dtype="<f2").astype(np.float32)
        elif dt == "BF16":
            a = bf16_bits_to_f32(np.frombuffer(raw, dtype="<u2"))
        elif dt == "I32":
            a = np.frombuffer(raw, dtype="<i4")
        elif dt == "I64":
            a = np.frombuffer(raw, dtype="<i8")
        else:
            a = np.frombuffer(raw, dtype=np.uint8)
        tensors[name] = a.reshape(shape)
        dtypes[name] = dt
        spans.append((b, e, name))
    spans.sort()
    pos = 0
    for b, e, name in spans:
        if b != pos:
            raise ToolError("%s: tensor %s starts at %d, expected %d (hole or overlap)"
                            % (path, name, b, pos))
        pos = e
    if pos != len(data):
        raise ToolError("%s: %d trailing bytes after the last tensor" % (path, len(data) - pos))
    return tensors, dtypes, metadata
