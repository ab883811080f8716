"""Training steps through the package's path vs PyTorch eager, same architectures, same run.

For each system the Keras model is built from the registry and compiled by the package
(``spec.compile``: its optimizer, cosine schedule, loss, and its per-device XLA /
``steps_per_execution`` defaults), then trained by ``model.fit`` on the package's shuffled
``tf.data`` pipeline with the trainer's callbacks (history log, epoch backup, divergence guard)
— the path ``fdl train`` runs. The PyTorch side is the same layer stack mirrored layer by layer
(``torch.nn``, trainable parameter counts asserted equal), trained eagerly with ``torch.optim.Adam``
and a per-step cosine schedule on the same batches (preloaded tensors, so PyTorch pays no input
pipeline). Each round times every Keras setting and PyTorch in turn (interleaved, so machine load
hits all alike); medians over rounds are reported.

It also measures the machine: a 2048x2048 float32 matmul in TensorFlow and in PyTorch gives the
peak FLOP/s, and each training step's FLOPs (3x the forward multiply-adds of its Dense and Conv2D
layers, counted from the shapes) give its achieved fraction of that peak.

Usage (repository root, nothing else running). Install PyTorch's CPU build,
``pip install torch --index-url https://download.pytorch.org/whl/cpu``: the default wheel
brings CUDA libraries with which TensorFlow crashed (segmentation fault) in the same process::

    python benchmarks/vs_pytorch.py                        # mnist_mlp, mnist_cnn, mnist_fast
    python benchmarks/vs_pytorch.py mnist_mlp --rounds 5 --steps 432   # a real MNIST epoch

An epoch of ``--steps`` steps carries the trainer's per-epoch costs (backup, history row);
MNIST's real epochs are 430 steps at batch 128, 215 at 256.
Writes benchmarks/out/vs_pytorch.json and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from fdl_keras.bench import forward_flops, matmul_gflops  # noqa: E402
from fdl_keras.data.pipeline import device_options, make_pipeline  # noqa: E402
from fdl_keras.registry import get_spec  # noqa: E402
from fdl_keras.tasks import device_defaults  # noqa: E402
from fdl_keras.training.callbacks import run_callbacks  # noqa: E402

OUT = Path(__file__).parent / "out"
# (label, jit_compile, steps_per_execution); None = the package's default for this device
# for a run of the entry's full length (short runs may leave XLA off: cpu_jit_min_steps).
SETTINGS = [("package default", None, None), ("no XLA, 1", False, 1), ("XLA, 16", True, 16)]


# --- the machine -----------------------------------------------------------------------------


def matmul_peak(n: int = 2048, repeats: int = 10) -> dict[str, float]:
    """GFLOP/s of an n x n float32 matmul in TensorFlow and in PyTorch (best of ``repeats``)."""
    import torch

    pa = torch.randn(n, n)
    torch.mm(pa, pa)
    best_pt = min(_timed(lambda: torch.mm(pa, pa)) for _ in range(repeats))
    return {"tensorflow": matmul_gflops(n, repeats), "pytorch": 2 * n**3 / best_pt / 1e9}


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def train_flops_per_example(model: keras.Model) -> float:
    """3 x the forward FLOPs of the Dense and Conv2D layers, per example."""
    return 3.0 * forward_flops(model)


# --- PyTorch mirror --------------------------------------------------------------------------


def torch_mirror(model: keras.Model):
    """The same layer stack in ``torch.nn`` (NCHW); raises for a layer it does not know."""
    import torch
    from torch import nn

    activations = {"relu": nn.ReLU, "softmax": lambda: nn.Identity(), "linear": nn.Identity}
    modules, channels, flat = [], None, None
    for layer in model.layers:
        kind = type(layer).__name__
        if kind == "InputLayer":
            shape = layer.output.shape
            channels = shape[-1] if len(shape) == 4 else None
            continue
        out_shape = layer.output.shape
        if kind == "Conv2D":
            if layer.padding == "same" and max(layer.strides) > 1:
                pad = (layer.kernel_size[0] - 1) // 2  # the shapes are asserted below
            else:
                pad = "same" if layer.padding == "same" else 0
            modules.append(
                nn.Conv2d(
                    channels,
                    layer.filters,
                    layer.kernel_size,
                    layer.strides,
                    pad,
                    bias=layer.use_bias,
                    groups=layer.groups,
                )
            )
            channels = layer.filters
            modules.append(activations[layer.activation.__name__]())
        elif kind == "MaxPooling2D":
            modules.append(nn.MaxPool2d(layer.pool_size, layer.strides, ceil_mode=True))
        elif isinstance(layer, keras.layers.BatchNormalization):  # Keras' or the fused one
            modules.append(nn.BatchNorm2d(channels, eps=layer.epsilon))
        elif kind == "ReLU":
            modules.append(nn.ReLU())
        elif kind in ("Flatten", "GlobalAveragePooling2D"):
            if kind == "GlobalAveragePooling2D":
                modules.append(nn.AdaptiveAvgPool2d(1))
            modules.append(nn.Flatten())
            flat = out_shape[-1]
        elif kind == "Dense":
            modules.append(nn.Linear(flat, layer.units, bias=layer.use_bias))
            flat = layer.units
            modules.append(activations[layer.activation.__name__]())
        elif kind == "Dropout":
            modules.append(nn.Dropout(layer.rate))
        elif kind == "Activation" and layer.activation.__name__ in activations:
            modules.append(activations[layer.activation.__name__]())
        else:
            raise ValueError(f"{model.name}: no PyTorch mirror for layer {kind} ({layer.name})")
    net = nn.Sequential(*modules)
    keras_params = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    torch_params = sum(p.numel() for p in net.parameters())
    if keras_params != torch_params:
        raise ValueError(f"{model.name}: {keras_params} Keras vs {torch_params} PyTorch params")
    x = torch.zeros((2, *_nchw(model.input.shape[1:])))
    if tuple(net(x).shape[1:]) != tuple(model.output.shape[1:]):
        raise ValueError(f"{model.name}: PyTorch output shape {tuple(net(x).shape)}")
    return net


def _nchw(shape):
    return (shape[-1], *shape[:-1]) if len(shape) == 3 else tuple(shape)


# --- timing ----------------------------------------------------------------------------------


def keras_setup(name: str, jit, per_execution, x, y, batch: int, steps: int, workdir: Path):
    """A compiled model (the package's compile) and a function timing one ``fit`` epoch."""
    spec = get_spec(name)
    keras.utils.set_random_seed(0)
    model = spec.build()
    if jit is None:  # the defaults of a full-length run
        jit, per_execution = device_defaults(spec)
    spec.compile(model, total_steps=10 * steps, jit_compile=jit, steps_per_execution=per_execution)
    n = batch * steps
    data = make_pipeline(x[:n], y[:n], batch_size=batch, scale=255.0, shuffle=True, seed=0)
    data = device_options(data)  # as the trainer's pipelines (spec.pairs)
    workdir.mkdir(parents=True, exist_ok=True)
    callbacks = run_callbacks(workdir, explosion_factor=spec.fit.explosion_factor)
    model.fit(data, epochs=1, verbose=0, shuffle=False, callbacks=callbacks)  # compiles

    def epoch() -> float:
        return (
            _timed(lambda: model.fit(data, epochs=1, verbose=0, shuffle=False, callbacks=callbacks))
            / steps
        )

    return model, epoch


def torch_setup(model: keras.Model, name: str, x, y, batch: int, steps: int):
    """The mirror, Adam at the spec's rate with a per-step cosine schedule; times ``steps``."""
    import torch

    torch.manual_seed(0)
    net = torch_mirror(model)
    spec = get_spec(name)
    optimizer = torch.optim.Adam(net.parameters(), lr=spec.fit.learning_rate)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=10 * steps)
    loss_fn = torch.nn.CrossEntropyLoss()
    images = torch.from_numpy(x[: batch * steps].astype(np.float32) / 255.0)
    if images.ndim == 4:
        images = images.permute(0, 3, 1, 2).contiguous()
    labels = torch.from_numpy(y[: batch * steps].astype(np.int64))
    order = torch.randperm(len(images))
    batches = [
        (images[order[i : i + batch]], labels[order[i : i + batch]])
        for i in range(0, len(images), batch)
    ]

    def epoch() -> float:
        net.train()
        start = time.perf_counter()
        for xb, yb in batches:
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(net(xb), yb)
            loss.backward()
            optimizer.step()
            schedule.step()
        return (time.perf_counter() - start) / steps

    epoch()  # warm-up
    return epoch


def mnist_arrays():
    from fdl_keras.data.images import load_arrays

    ((x, y), _), _ = load_arrays("mnist")
    return (x[..., None] if x.ndim == 3 else x), y


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("names", nargs="*", default=["mnist_mlp", "mnist_cnn", "mnist_fast"])
    parser.add_argument("--steps", type=int, default=64, help="a multiple of 16")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    import torch

    x, y = mnist_arrays()
    peak = matmul_peak()
    print(f"matmul peak: TF {peak['tensorflow']:.0f} GFLOP/s, torch {peak['pytorch']:.0f}")
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.names:
            batch = get_spec(name).fit.batch_size
            runs = {}
            model = None
            for label, jit, per in SETTINGS:
                model, runs[label] = keras_setup(
                    name, jit, per, x, y, batch, args.steps, Path(tmp) / name / label
                )
            runs["pytorch eager"] = torch_setup(model, name, x, y, batch, args.steps)
            times = {label: [] for label in runs}
            for _ in range(args.rounds):
                for label, epoch in runs.items():
                    times[label].append(epoch())
            flops = train_flops_per_example(model) * batch
            medians = {k: statistics.median(v) for k, v in times.items()}
            reference = medians["pytorch eager"]
            results[name] = {
                "batch_size": batch,
                "train_flops_per_step": flops,
                "ms_per_step": {k: 1e3 * v for k, v in medians.items()},
                "rounds_ms": {k: [round(1e3 * t, 3) for t in v] for k, v in times.items()},
                "ratio_to_pytorch": {k: v / reference for k, v in medians.items()},
                "fraction_of_tf_peak": {
                    k: flops / v / 1e9 / peak["tensorflow"] for k, v in medians.items()
                },
            }
            print(f"\n{name} (batch {batch}, {flops / 1e9:.3f} GFLOP per training step)")
            print("| setting | ms/step | Keras/PyTorch | FLOP/s of peak |\n|---|---|---|---|")
            for k, v in medians.items():
                r = results[name]
                print(
                    f"| {k} | {1e3 * v:.2f} | {r['ratio_to_pytorch'][k]:.2f} | "
                    f"{100 * r['fraction_of_tf_peak'][k]:.0f} % |"
                )
    OUT.mkdir(exist_ok=True)
    record = {
        "command": "python benchmarks/vs_pytorch.py " + " ".join(args.names),
        "steps": args.steps,
        "rounds": args.rounds,
        "matmul_peak_gflops": peak,
        "versions": {
            "tensorflow": tf.__version__,
            "keras": keras.__version__,
            "torch": torch.__version__,
            "python": platform.python_version(),
        },
        "threads": {"torch": torch.get_num_threads()},
        "load_average_end": os.getloadavg(),
        "systems": results,
    }
    (OUT / "vs_pytorch.json").write_text(json.dumps(record, indent=2))
    print(f"\nwrote {OUT / 'vs_pytorch.json'}")


if __name__ == "__main__":
    main()
