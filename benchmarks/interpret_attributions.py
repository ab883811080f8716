"""Chapter 11 benchmark: tabular baselines vs the Keras MLP, and the MNIST deletion test.

Usage (repository root, FDL_DATA_DIR pointing at ../shared/data):
    python benchmarks/interpret_attributions.py [--images 40 --shap-evals 500
        --lime-samples 300 --cnn-epochs 1 --cnn-limit 12000 --seed 0]

1. breast_cancer (scikit-learn's embedded set, fixed 455/114 split): a decision tree, a random
   forest and a logistic regression (the maintained-library anchors) beside ``tabular_mlp``
   trained with ``fdl_keras.train``; test accuracy of each, the top features by impurity /
   |coefficient| and by the MLP's permutation importance and mean |SHAP|, and the Spearman
   correlation of the MLP's permutation importance with the forest's importance.
2. MNIST: ``mnist_cnn`` trained with ``fdl_keras.train`` for ``--cnn-epochs`` on ``--cnn-limit``
   images; on ``--images`` test images (the first ones the CNN classifies right), SHAP
   (partition, ``--shap-evals`` evaluations, black as the absent value), LIME (4x4
   superpixels, ``--lime-samples`` perturbations) and a random order rank the pixels; the
   deletion curve is the accuracy after blacking out the top 0-50 % of them. Lower area =
   the explanation found the pixels the CNN uses.
Writes benchmarks/out/interpret_attributions.json and benchmarks/out/deletion.png.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

import fdl_keras  # noqa: E402
from fdl_keras.data.tabular import tabular_arrays  # noqa: E402
from fdl_keras.interpret import adapter, attributions  # noqa: E402
from fdl_keras.interpret.baselines import fit_baselines  # noqa: E402

OUT = Path("benchmarks/out")
FRACTIONS = (0.0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5)


def tabular(seed: int) -> dict:
    from scipy.stats import spearmanr

    a = tabular_arrays("breast_cancer")
    start = time.perf_counter()
    baselines = fit_baselines(a.x_train, a.y_train, a.x_test, a.y_test, seed=seed)
    run = fdl_keras.train(
        "tabular_mlp",
        run_dir=OUT / "runs" / "tabular_mlp",
        seed=seed,
        overwrite=True,
        verbose=0,
    )
    mlp = run.model
    importance = adapter.permutation_importance(mlp, a.x_test, a.y_test, n_repeats=10, seed=seed)
    shap_values = attributions.shap_tabular(mlp, a.x_train, a.x_test[:40], seed=seed)
    mean_abs_shap = np.abs(shap_values.values).mean(axis=0)

    def top(values, k=5):
        return [a.feature_names[i] for i in np.argsort(-np.asarray(values))[:k]]

    rows = {
        name: {"accuracy": b.accuracy, "top": top(b.importance)} for name, b in baselines.items()
    }
    rows["tabular_mlp"] = {
        "accuracy": run.test_metrics["accuracy"],
        "top_permutation": top(importance.importances_mean),
        "top_shap": top(mean_abs_shap),
    }
    forest = baselines["random_forest"].importance
    rows["spearman_permutation_vs_forest"] = float(
        spearmanr(importance.importances_mean, forest).statistic
    )
    rows["spearman_shap_vs_forest"] = float(spearmanr(mean_abs_shap, forest).statistic)
    rows["wall_s"] = time.perf_counter() - start
    return rows


def deletion(args) -> dict:
    from fdl_keras.data import load_dataset

    start = time.perf_counter()
    run = fdl_keras.train(
        "mnist_cnn",
        epochs=args.cnn_epochs,
        limit=args.cnn_limit,
        run_dir=OUT / "runs" / "mnist_cnn_interpret",
        seed=args.seed,
        overwrite=True,
        verbose=2,
    )
    cnn = run.model
    train_s = time.perf_counter() - start
    x, y = load_dataset("mnist", batch_size=256).arrays["test"]
    f = attributions.predict_probabilities(cnn)
    right = np.flatnonzero(np.argmax(f(x[:500]), axis=1) == y[:500])[: args.images]
    images, labels = x[right], y[right]
    timings, maps = {}, {}
    t = time.perf_counter()
    maps["shap"] = attributions.shap_image(cnn, images, labels=labels, max_evals=args.shap_evals)
    timings["shap"] = time.perf_counter() - t
    t = time.perf_counter()
    maps["lime"] = np.stack(
        [
            attributions.lime_image(
                cnn, image, label=int(label), num_samples=args.lime_samples, seed=args.seed
            )[0]
            for image, label in zip(images, labels)
        ]
    )
    timings["lime"] = time.perf_counter() - t
    maps["random"] = np.random.default_rng(args.seed).uniform(size=maps["shap"].shape)
    curves = {
        name: attributions.deletion_curve(cnn, images, labels, m, FRACTIONS).tolist()
        for name, m in maps.items()
    }
    area = {name: float(np.trapezoid(c, FRACTIONS) / FRACTIONS[-1]) for name, c in curves.items()}
    _plot(curves, images[:4], {k: v[:4] for k, v in maps.items()})
    return {
        "cnn_test_accuracy": run.test_metrics["accuracy"],
        "cnn_train_s": train_s,
        "images": len(images),
        "fractions": FRACTIONS,
        "curves": curves,
        "area_under_curve": area,
        "explain_s": timings,
    }


def _plot(curves, images, maps) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 1 + len(images), figsize=(3 + 2.2 * len(images), 3))
    for name, curve in curves.items():
        axes[0].plot(FRACTIONS, curve, marker="o", label=name)
    axes[0].set(xlabel="fraction of pixels removed", ylabel="accuracy", title="deletion test")
    axes[0].legend()
    for i, image in enumerate(images):
        stacked = np.concatenate([image[..., 0], maps["shap"][i], maps["lime"][i]], axis=0)
        axes[i + 1].imshow(stacked, cmap="viridis")
        axes[i + 1].set_title("image / SHAP / LIME", fontsize=8)
        axes[i + 1].axis("off")
    fig.tight_layout()
    fig.savefig(OUT / "deletion.png", dpi=90)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=40)
    parser.add_argument("--shap-evals", type=int, default=500)
    parser.add_argument("--lime-samples", type=int, default=300)
    parser.add_argument("--cnn-epochs", type=int, default=1)
    parser.add_argument("--cnn-limit", type=int, default=12000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    results = {"settings": vars(args), "load": os.getloadavg()[0]}
    results["tabular"] = tabular(args.seed)
    print(json.dumps(results["tabular"], indent=1))
    results["deletion"] = deletion(args)
    results["machine"] = f"{platform.machine()} {os.cpu_count()} cores, CPU only"
    (OUT / "interpret_attributions.json").write_text(json.dumps(results, indent=2))
    d = results["deletion"]
    print(f"CNN test accuracy {d['cnn_test_accuracy']:.4f}; explain time {d['explain_s']}")
    for name, curve in d["curves"].items():
        shown = " | ".join(f"{v:.2f}" for v in curve)
        print(f"| {name} | {shown} | {d['area_under_curve'][name]:.3f} |")


if __name__ == "__main__":
    main()
