"""Neural style transfer: Gatys' loss over its first 100 steps, and a trained Johnson network.

1. ``stylize`` the "china" photograph in the style of the "flower" photograph (scikit-learn's two
   sample images) for ``--steps`` Adam steps and report the fall of the total loss.
2. Train ``fast_style_transfer`` on random crops of the same photographs for ``--train-steps``
   steps with the perceptual loss, export it (ONNX parity) and time one ``--size`` image.

VGG19 weights: ``--weights imagenet`` needs the Keras cache or network access; this machine has
neither, so the default is random weights (texture transfers; faithful style needs ImageNet).

Usage (from the repository root):
    python benchmarks/style_transfer.py --steps 100 --size 128 --train-steps 150

Writes benchmarks/out/style_transfer.json and PNGs under benchmarks/out/style/.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

import fdl_keras  # noqa: E402
from fdl_keras.vision import style_transfer as st  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--size", type=int, default=128, help="shorter side of the images")
    parser.add_argument("--weights", default=None, help="imagenet, a weights file, or random")
    parser.add_argument("--train-steps", type=int, default=150)
    parser.add_argument("--crop", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=4)
    args = parser.parse_args()
    out = Path(__file__).parent / "out" / "style"
    out.mkdir(parents=True, exist_ok=True)
    photos = st.sample_photos()
    content, style = st.resize(photos["china"], args.size), st.resize(photos["flower"], args.size)

    start = time.perf_counter()
    result = st.stylize(
        content, style, steps=args.steps, weights=args.weights, output=out / "gatys.png"
    )
    gatys_s = time.perf_counter() - start
    loss = result.history["loss"]
    drop = 1 - loss[-1] / loss[0]
    print(f"Gatys: loss {loss[0]:.4f} -> {loss[-1]:.4f} ({drop:.1%} lower) in {gatys_s:.0f} s")

    model = fdl_keras.build("fast_style_transfer")
    crops = st.random_crops(
        [photos["china"], photos["flower"]], args.train_steps * args.batch_size, args.crop
    )
    start = time.perf_counter()
    history = st.train_style_network(
        model, crops, style, epochs=1, batch_size=args.batch_size, weights=args.weights, verbose=2
    )
    train_s = time.perf_counter() - start
    styled = model.predict_on_batch(content[None, : args.size // 4 * 4, : args.size // 4 * 4])
    st.save_image(styled[0], out / "johnson.png")
    report = fdl_keras.export(model, out / "export", sample=crops[:4])
    record = {
        "weights": args.weights or "random",
        "content": "sklearn china.jpg",
        "style": "sklearn flower.jpg",
        "image_shape": list(content.shape),
        "gatys": {
            "steps": args.steps,
            "loss_first": loss[0],
            "loss_last": loss[-1],
            "drop": drop,
            "loss_at": {str(s): loss[s - 1] for s in (1, 10, 25, 50, 100) if s <= len(loss)},
            "seconds": gatys_s,
        },
        "johnson": {
            "parameters": model.count_params(),
            "train_steps": args.train_steps,
            "crop": args.crop,
            "loss_first_epoch": history["loss"][0],
            "seconds": train_s,
            "export_max_abs_diff": {
                k: v["max_abs_diff"] for k, v in report["runtimes"].items() if k != "keras"
            },
            "latency_ms_batch1": {k: v["latency_ms_batch1"] for k, v in report["runtimes"].items()},
        },
        "machine": f"{platform.machine()} {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}",
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "command": "python " + " ".join(sys.argv),
    }
    (out.parent / "style_transfer.json").write_text(json.dumps(record, indent=2, default=float))
    print(json.dumps(record, indent=2, default=float))
    np.save(out / "gatys_loss.npy", np.asarray(loss))


if __name__ == "__main__":
    main()
