"""Would Winograd convolutions written as ONNX ops beat onnxruntime's own 3x3 convolutions?

The ResNets miss the batch-1 goal (onnxruntime <= 0.5x TensorFlow) because onnxruntime's
convolutions already run at the CPU's float32 matmul rate; only an algorithm with fewer
multiplications could go below. This probe builds one 3x3 stride-1 convolution + ReLU (batch 1,
float32, the four ResNet-18 stage shapes) as an ONNX graph two ways and times both in
onnxruntime (all graph optimisations, interleaved rounds, medians of 200 calls):

- ``direct``: one ``Conv`` (onnxruntime's im2col + GEMM kernels);
- Winograd F(2x2, 3x3) (Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks",
  CVPR 2016; 2.25x fewer multiplications): the input transform as a depthwise 4x4 stride-2
  ``Conv``, 16 batched GEMMs (``Transpose`` + ``MatMul`` + ``Transpose``, or one ``Einsum``),
  the output transform as a grouped 1x1 ``Conv`` and ``DepthToSpace``.

Prints each variant's time, speed-up over ``direct`` and largest difference from it. No
maintained tool rewrites ONNX convolutions this way, hence hand-written; a probe for
``benchmarks/RESULTS_speed.md`` that changes nothing in the package.

Usage (repository root, nothing else running):
    python benchmarks/winograd_probe.py         # all four shapes
    python benchmarks/winograd_probe.py 1       # the first shape only
"""

from __future__ import annotations

import statistics
import sys
import time

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

BT = np.array([[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]], np.float32)
G = np.array([[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]], np.float32)
AT = np.array([[1, 1, 1, 0], [0, 1, -1, -1]], np.float32)


def direct(w: np.ndarray, b: np.ndarray, h: int) -> bytes:
    """The convolution + ReLU as one ``Conv`` (padding 1)."""
    k, c = w.shape[:2]
    nodes = [
        helper.make_node("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c"], ["y"]),
    ]
    inits = [numpy_helper.from_array(w, "w"), numpy_helper.from_array(b, "b")]
    return graph(nodes, inits, c, k, h)


def winograd(w: np.ndarray, b: np.ndarray, h: int, variant: str = "transpose") -> bytes:
    """The same as Winograd F(2x2, 3x3); ``variant`` ``"transpose"`` or ``"einsum"`` GEMMs."""
    k, c = w.shape[:2]
    th = (h + 1) // 2
    extra = 2 * th - h
    # input transform as a depthwise 4x4 stride-2 conv: channel c*16 + i*4 + j
    kin = np.einsum("ia,jb->ijab", BT, BT).reshape(16, 1, 4, 4)
    win = np.tile(kin, (c, 1, 1, 1)).astype(np.float32)
    u = np.einsum("ia,kcab,jb->ijkc", G, w, G).reshape(16, k, c).astype(np.float32)
    kout = np.einsum("ai,bj->abij", AT, AT).reshape(4, 16, 1, 1)
    wout = np.tile(kout, (k, 1, 1, 1)).astype(np.float32)
    bout = np.repeat(b, 4).astype(np.float32)
    nodes = [
        helper.make_node(
            "Conv",
            ["x", "win"],
            ["v"],
            group=c,
            strides=[2, 2],
            pads=[1, 1, 1 + extra, 1 + extra],
        ),
        helper.make_node("Reshape", ["v", "s_ct"], ["v3"]),
    ]
    inits = [
        numpy_helper.from_array(win, "win"),
        numpy_helper.from_array(u, "u"),
        numpy_helper.from_array(wout, "wout"),
        numpy_helper.from_array(bout, "bout"),
        numpy_helper.from_array(np.array([c, 16, th * th], np.int64), "s_ct"),
        numpy_helper.from_array(np.array([1, k * 16, th, th], np.int64), "s_out"),
    ]
    if variant == "transpose":
        nodes += [
            helper.make_node("Transpose", ["v3"], ["vt"], perm=[1, 0, 2]),
            helper.make_node("MatMul", ["u", "vt"], ["m"]),
            helper.make_node("Transpose", ["m"], ["mt"], perm=[1, 0, 2]),
        ]
    else:
        nodes += [helper.make_node("Einsum", ["u", "v3"], ["mt"], equation="ikc,cit->kit")]
    nodes += [
        helper.make_node("Reshape", ["mt", "s_out"], ["m4"]),
        helper.make_node("Conv", ["m4", "wout", "bout"], ["o"], group=k),
        helper.make_node("DepthToSpace", ["o"], ["d"], blocksize=2, mode="CRD"),
    ]
    if extra:
        inits += [
            numpy_helper.from_array(np.array([0, 0], np.int64), "st"),
            numpy_helper.from_array(np.array([h, h], np.int64), "en"),
            numpy_helper.from_array(np.array([2, 3], np.int64), "ax"),
        ]
        nodes += [helper.make_node("Slice", ["d", "st", "en", "ax"], ["ds"])]
        last = "ds"
    else:
        last = "d"
    nodes += [helper.make_node("Relu", [last], ["y"])]
    return graph(nodes, inits, c, k, h)


def graph(nodes: list, inits: list, c: int, k: int, h: int) -> bytes:
    g = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, c, h, h])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, k, h, h])],
        inits,
    )
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    onnx.checker.check_model(m)
    return m.SerializeToString()


def session(model: bytes) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])


def timed(s: ort.InferenceSession, x: np.ndarray, calls: int = 200) -> float:
    for _ in range(20):
        s.run(None, {"x": x})
    out = []
    for _ in range(calls):
        t = time.perf_counter()
        s.run(None, {"x": x})
        out.append(time.perf_counter() - t)
    return statistics.median(out) * 1e3


def main() -> None:
    rng = np.random.default_rng(0)
    shapes = [(64, 56), (128, 28), (256, 14), (512, 7)]
    if len(sys.argv) > 1:
        shapes = shapes[: int(sys.argv[1])]
    for c, h in shapes:
        w = (rng.standard_normal((c, c, 3, 3)) * (2 / (9 * c)) ** 0.5).astype(np.float32)
        b = rng.standard_normal(c).astype(np.float32) * 0.1
        x = rng.standard_normal((1, c, h, h)).astype(np.float32)
        sessions = {"direct": session(direct(w, b, h))}
        for v in ("transpose", "einsum"):
            sessions[v] = session(winograd(w, b, h, v))
        ref = sessions["direct"].run(None, {"x": x})[0]
        diffs = {
            n: float(np.abs(s.run(None, {"x": x})[0] - ref).max()) for n, s in sessions.items()
        }
        times = {n: [] for n in sessions}
        for _ in range(5):
            for n, s in sessions.items():
                times[n].append(timed(s, x))
        med = {n: statistics.median(t) for n, t in times.items()}
        print(
            f"C=K={c} {h}x{h}: direct {med['direct']:.3f} ms; "
            + "; ".join(
                f"{n} {med[n]:.3f} ms ({med['direct'] / med[n]:.2f}x, diff {diffs[n]:.1e})"
                for n in ("transpose", "einsum")
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()
