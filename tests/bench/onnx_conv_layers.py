#!/usr/bin/env python3
"""The layers of `trainer bench-layers`, in ONNX Runtime on the same machine.

A reference for inference speed (ONNX Runtime has no training): conv2d,
stride 1, same padding, with bias, forward only, on the training shape
(batch x C x patch x patch) and on one inference image (1 x C x image x
image), at the same channel counts and kernels. Prints the same table and,
with --ours CSV (from `trainer bench-layers --csv`), our time over theirs.

    pip install onnxruntime onnx
    trainer bench-layers --csv ours.csv
    python3 tests/bench/onnx_conv_layers.py --ours ours.csv

Threads: ONNX Runtime's intra-op pool is set to --threads (default: all
cores), as RAYON_NUM_THREADS sets ours; compare like with like.
"""
import argparse
import csv
import os
import statistics
import time

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper


def conv_model(channels, kernel, rng):
    w = rng.uniform(-1, 1, (channels, channels, kernel, kernel)).astype(np.float32)
    b = rng.uniform(-1, 1, (channels,)).astype(np.float32)
    pad = kernel // 2
    node = helper.make_node("Conv", ["x", "w", "b"], ["y"], pads=[pad] * 4, kernel_shape=[kernel, kernel])
    graph = helper.make_graph(
        [node], "conv",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", channels, "h", "w"])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", channels, "h", "w"])],
        initializer=[numpy_helper.from_array(w, "w"), numpy_helper.from_array(b, "b")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model.SerializeToString()


def median_ms(session, x, reps):
    session.run(None, {"x": x})
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        session.run(None, {"x": x})
        times.append(1000 * (time.perf_counter() - t))
    return statistics.median(times)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--channels", type=int, nargs="+", default=[16, 32, 64])
    p.add_argument("--kernels", type=int, nargs="+", default=[3, 5])
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--patch", type=int, default=64)
    p.add_argument("--image", type=int, default=256)
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--ours", help="CSV from `trainer bench-layers --csv`: print our ms over theirs")
    args = p.parse_args()

    ours = {}
    if args.ours:
        with open(args.ours) as f:
            for row in csv.DictReader(f):
                ours[(row["phase"], int(row["channels"]), int(row["kernel"]))] = float(row["ms"])

    options = ort.SessionOptions()
    options.intra_op_num_threads = args.threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    rng = np.random.default_rng(0)
    print(f"onnxruntime {ort.__version__}, {args.threads} intra-op threads; conv2d stride 1 same padding with bias; median of {args.reps} after one warm-up")
    print(f"{'phase':<10} {'ch':>4} {'k':>3} {'ms':>9} {'GFLOP/s':>9} {'ours ms':>9} {'ours/ort':>9}")
    for kernel in args.kernels:
        for c in args.channels:
            session = ort.InferenceSession(conv_model(c, kernel, rng), options, providers=["CPUExecutionProvider"])
            for phase, n, size in [("forward", args.batch, args.patch), ("inference", 1, args.image)]:
                x = rng.uniform(-1, 1, (n, c, size, size)).astype(np.float32)
                ms = median_ms(session, x, args.reps)
                gflops = 2 * n * size * size * c * c * kernel * kernel / (ms * 1e6)
                mine = ours.get((phase, c, kernel))
                extra = f" {mine:>9.2f} {mine / ms:>8.2f}x" if mine is not None else ""
                print(f"{phase:<10} {c:>4} {kernel:>3} {ms:>9.2f} {gflops:>9.1f}{extra}")


if __name__ == "__main__":
    main()
