"""Quality benchmark of chapter 10: VAE test NLL and sample quality of vae, dcgan and ncsn.

Usage (repository root, FDL_DATA_DIR pointing at a folder with mnist/), one run at a time:
    nice -n 10 python benchmarks/generative.py vae --epochs 40 --train-minutes 12 --iwae-samples 200
    nice -n 10 python benchmarks/generative.py dcgan --batch-size 64 --train-minutes 16 \\
        --config '{"generator_filters": [64, 32, 16], "discriminator_filters": [32, 64]}'
    nice -n 10 python benchmarks/generative.py ncsn --train-minutes 15 --samples 2000 \\
        --steps-per-level 5 --step-size 5e-5 \\
        --config '{"filters": [8, 16, 32], "embedding_dim": 32}'
    nice -n 10 python benchmarks/generative.py ncsn --sample-only --from-tag _probe ...
    python benchmarks/generative.py reference [--samples 2000 --tag _2000]
(benchmarks/RESULTS_generative.md lists the exact command behind each figure.)

Each run trains with ``train_generative`` (resumable run dir benchmarks/out/runs/<name>), stopping
early when ``--train-minutes`` is spent, draws ``--samples`` images and scores them with the
chapter-7 MNIST CNN (``--classifier``; default the first of runs/mnist_cnn/model.keras and
benchmarks/out/runs/mnist_cnn/model.keras): Fréchet distance of its ``dense`` features to the
MNIST test set and mean confidence. ``reference`` scores 10,000 real training images the same
way. For the VAE it also estimates the test negative log-likelihood on the (fixed, seeded)
stochastically binarised test set with the IWAE bound. Writes benchmarks/out/generative_<name>.json
and a sample grid PNG, and prints a markdown row.
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

import keras  # noqa: E402
import numpy as np  # noqa: E402

import fdl_keras  # noqa: E402
from fdl_keras.generative import (  # noqa: E402
    binarize_images,
    classifier_outputs,
    image_grid,
    importance_weighted_bound,
    load_classifier,
    sample_quality,
    train_generative,
)
from fdl_keras.generative.score import sample as score_sample  # noqa: E402

OUT = Path(__file__).parent / "out"
CLASSIFIERS = (Path("runs/mnist_cnn/model.keras"), OUT / "runs/mnist_cnn/model.keras")


class StopAfter(keras.callbacks.Callback):
    """Stops training at the end of the first epoch that ends after ``seconds``."""

    def __init__(self, seconds: float):
        super().__init__()
        self.seconds, self.start, self.stopped_at = seconds, time.perf_counter(), None

    def on_epoch_end(self, epoch, logs=None):
        if time.perf_counter() - self.start > self.seconds:
            self.model.stop_training, self.stopped_at = True, epoch + 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model", choices=["vae", "dcgan", "ncsn", "reference"])
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--train-minutes", type=float, default=15.0)
    parser.add_argument("--samples", type=int, default=10_000)
    parser.add_argument("--iwae-samples", type=int, default=1000)
    parser.add_argument("--steps-per-level", type=int, default=100)
    parser.add_argument("--step-size", type=float, default=2e-5)
    parser.add_argument("--sampler", choices=["reverse_diffusion", "langevin"], default="langevin")
    parser.add_argument("--num-steps", type=int, default=None, help="ncsn sampling levels")
    parser.add_argument("--corrector-steps", type=int, default=0)
    parser.add_argument("--learning-rate", type=float, default=None)
    parser.add_argument("--classifier", type=Path, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--sample-only", action="store_true", help="reuse the model a previous run trained"
    )
    parser.add_argument("--tag", default="", help="suffix of the output file names")
    parser.add_argument(
        "--from-tag", default="", help="with --sample-only: the --tag of the run that trained it"
    )
    parser.add_argument(
        "--more-minutes", type=float, default=0.0, help="with --sample-only: train this much more"
    )
    parser.add_argument(
        "--config",
        type=json.loads,
        default={},
        help="builder overrides, e.g. '{\"filters\": [16, 32]}'",
    )
    args = parser.parse_args()
    OUT.mkdir(exist_ok=True)
    start = time.perf_counter()

    x_test = fdl_keras.load_dataset("mnist").arrays["test"][0]
    record: dict = {
        "model": args.model,
        "config": args.config,
        "machine": f"{platform.machine()} {os.cpu_count()} cores (shared), CPU only",
        "command": "python " + " ".join(sys.argv),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }

    if args.model == "reference":
        (x_train, _), _ = fdl_keras.data.load_arrays("mnist")[0]
        images = (x_train[: args.samples, ..., None] / 255.0).astype(np.float32)
    elif args.sample_only:
        # A second run on the model an earlier run of this script trained and saved.
        run_dir = OUT / "runs" / args.model
        model = keras.saving.load_model(run_dir / "model.keras")
        trained_by = OUT / f"generative_{args.model}{args.from_tag}.json"
        record["trained_by"] = json.loads(trained_by.read_text())["command"]
        record["run_metrics"] = json.loads((run_dir / "metrics.json").read_text())
        if args.more_minutes:
            # Continue training that model (optimizer state restored) for more minutes.
            data = fdl_keras.load_dataset(
                "mnist",
                batch_size=args.batch_size or fdl_keras.get_spec(args.model).fit.batch_size,
                seed=args.seed + 100,
            )
            stop = StopAfter(args.more_minutes * 60)
            history = model.fit(
                model.training_data(data.train, seed=args.seed + 100),
                validation_data=model.training_data(
                    data.validation, seed=args.seed + 101, fresh=False
                ),
                epochs=args.epochs or 100,
                callbacks=[stop],
                verbose=2,
                shuffle=False,
            )
            model.save(run_dir / "model.keras")
            record["more_training"] = {
                "epochs": len(history.epoch),
                "wall_time_s": time.perf_counter() - stop.start,
                "history": {k: [float(v) for v in vs] for k, vs in history.history.items()},
            }
    else:
        stop = StopAfter(args.train_minutes * 60)
        result = train_generative(
            args.model,
            epochs=args.epochs,
            batch_size=args.batch_size,
            learning_rate=args.learning_rate,
            seed=args.seed,
            run_dir=OUT / "runs" / args.model,
            overwrite=True,  # the benchmark owns benchmarks/out: each run replaces the last
            verbose=2,
            callbacks=[stop],
            **args.config,
        )
        model = result.model
        record.update(
            epochs_run=len(result.history[next(iter(result.history))]),
            epochs_asked=args.epochs or result.spec.fit.epochs,
            train_wall_time_s=result.wall_time_s,
            test_losses=result.test_metrics,
            history={k: [float(v) for v in vs] for k, vs in result.history.items()},
        )
    if args.model != "reference":
        sample_start = time.perf_counter()
        if args.model == "ncsn":
            options = (
                {"steps_per_level": args.steps_per_level, "step_size": args.step_size}
                if args.sampler == "langevin"
                else {"corrector_steps": args.corrector_steps}
            )
            images = score_sample(
                model,
                args.samples,
                seed=args.seed,
                batch_size=1000,
                sampler=args.sampler,
                num_steps=args.num_steps,
                **options,
            )
            record["sampler"] = {
                "name": args.sampler,
                "training_sigmas": [float(model.sigmas[0]), float(model.sigmas[-1])],
                "training_levels": len(model.sigmas),
                "num_steps": args.num_steps or len(model.sigmas),
                "denoise": True,
                **options,
            }
        else:
            images = model.predict(model.noise_inputs(args.samples, seed=args.seed), verbose=0)
        record["sampling_wall_time_s"] = time.perf_counter() - sample_start
        images = np.clip(images, 0.0, 1.0)
        if args.model == "vae":
            binary_test = binarize_images(x_test, seed=args.seed)
            nll_start = time.perf_counter()
            bound = importance_weighted_bound(
                model, binary_test, num_samples=args.iwae_samples, seed=args.seed
            )
            record["test_nll_nats"] = {
                "iwae": float(-bound["iwae"].mean()),
                "elbo": float(-bound["elbo"].mean()),
                "k": args.iwae_samples,
                "images": len(binary_test),
                "wall_time_s": time.perf_counter() - nll_start,
            }
        import matplotlib.pyplot as plt

        plt.imsave(
            OUT / f"generative_{args.model}{args.tag}_samples.png",
            image_grid(images[:64]),
            cmap="gray",
        )

    # Scored last, so a classifier still training elsewhere has time to finish.
    classifier = load_classifier(
        args.classifier or next((p for p in CLASSIFIERS if p.is_file()), CLASSIFIERS[0])
    )
    reference, test_probabilities = classifier_outputs(classifier, x_test)
    record["test_set_confidence"] = float(test_probabilities.max(axis=1).mean())
    record["quality"] = sample_quality(classifier, images, reference)
    record["num_samples"] = len(images)
    record["total_wall_time_s"] = time.perf_counter() - start
    (OUT / f"generative_{args.model}{args.tag}.json").write_text(json.dumps(record, indent=2))
    q = record["quality"]
    nll = record.get("test_nll_nats", {}).get("iwae")
    print(
        "| model | epochs | samples | test NLL (IWAE) | Fréchet distance | confidence | top class |"
    )
    print("|---|---|---|---|---|---|---|")
    print(
        f"| {args.model} | {record.get('epochs_run', '-')} | {len(images)} | "
        f"{f'{nll:.2f}' if nll is not None else '-'} | {q['frechet_distance']:.2f} | "
        f"{q['mean_confidence']:.3f} | {q['top_class_share']:.3f} |"
    )


if __name__ == "__main__":
    main()
