"""``explain(run, inputs, method=...)``: explanations of a trained run's predictions, and the
``fdl explain RUN FILE [--method M] [--out DIR]`` verb that writes them as plots and pages.

What a run's model takes decides the kind of input and the methods (the first is the default):

- features ``(F,)`` (``tabular_mlp``): FILE is a ``.csv`` of numbers (a header line is
  skipped) or a ``.npy`` ``(n, F)``, standardised as the run's data set; methods ``shap``
  (default), ``lime``.
- an image ``(h, w, c)`` (``mnist_cnn``): FILE is a ``.npy`` ``(n, h, w[, c])`` in [0, 1]
  (uint8 is divided by 255); methods ``shap`` (default), ``lime``.
- token ids (``rationale_movie_reviews``, text classifiers): FILE is UTF-8 text, one review
  per line; methods ``rationale`` (default for rationale runs), ``lime``, ``shap``.

The result is a dict per input (the prediction and the attributions); with ``out`` the plots
(SHAP beeswarm / bar, LIME bars, image maps) and HTML pages (highlighted words) are written there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from fdl_keras.errors import InvalidInputError

MAX_TEXT_TOKENS = 800


@dataclass
class Explanation:
    """What :func:`explain` returns: per-input rows, the method and the files it wrote."""

    method: str
    kind: str
    rows: list[dict[str, Any]]
    files: list[Path] = field(default_factory=list)


def _load(run):
    """``(model, settings, run dir or None)`` of a run dir, a ``.keras`` file or a Run."""
    from fdl_keras.runs import Run, load_model_file, load_run

    if isinstance(run, Run):
        return run.model, run.settings, run.directory
    path = Path(run)
    if path.suffix == ".keras":
        return load_model_file(path), {}, None
    loaded = load_run(path)
    return loaded.model, loaded.settings, loaded.directory


def input_kind(model) -> str:
    """``text``, ``tabular`` or ``image``: what the model's first input holds."""
    tensor = model.inputs[0]
    shape = tuple(tensor.shape[1:])
    if "int" in str(tensor.dtype) and len(shape) == 1:
        return "text"
    if len(shape) == 1:
        return "tabular"
    if len(shape) == 3:
        return "image"
    raise InvalidInputError(
        f"{model.name} takes inputs of shape {shape}; explain handles feature rows, images "
        "and token ids"
    )


def methods_for(model) -> tuple[str, ...]:
    """The explanation methods of ``model``'s kind of input, the default first."""
    from fdl_keras.interpret.rationale import RationaleModel

    if isinstance(model, RationaleModel):
        return ("rationale", "lime", "shap")
    return {"text": ("lime", "shap"), "tabular": ("shap", "lime"), "image": ("shap", "lime")}[
        input_kind(model)
    ]


def text_classifier(model, run_dir: Path | None = None, max_length: int = MAX_TEXT_TOKENS):
    """``f(list of texts) -> class probabilities`` for a token-id model: texts are encoded as
    the movie-review pipelines encode them (the run's ``vocabulary.json`` when it has one)."""
    from fdl_keras.data.reviews import encode_reviews, review_vocabulary
    from fdl_keras.interpret.rationale import RationaleModel

    vocabulary = review_vocabulary()
    if run_dir is not None and (Path(run_dir) / "vocabulary.json").is_file():
        from fdl_keras.sequence.text import Vocabulary

        vocabulary = Vocabulary.load(Path(run_dir) / "vocabulary.json")

    def f(texts):
        texts = [t if t.strip() else "." for t in texts]  # LIME may drop every word
        ids = encode_reviews(texts, vocabulary, max_length=max_length)
        ids = ids[:, : max(1, int((ids != 0).sum(axis=1).max()))]
        if isinstance(model, RationaleModel):
            return model.rationales(ids)[0].astype(np.float64)
        return np.asarray(model.predict_on_batch(ids), np.float64)

    return f, vocabulary


def read_inputs(file: str | Path, model) -> Any:
    """The inputs in ``file`` for ``model`` (see the module docstring for the formats)."""
    path = Path(file)
    if not path.is_file():
        raise InvalidInputError(f"no input file at {path}; pass a file of inputs to explain")
    kind = input_kind(model)
    if kind == "text":
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except UnicodeDecodeError:
            raise InvalidInputError(f"{path} is not UTF-8 text; save it as UTF-8") from None
        texts = [line for line in lines if line.strip()]
        if not texts:
            raise InvalidInputError(f"{path} holds no text; put one review per line")
        return texts
    shape = tuple(model.inputs[0].shape[1:])
    if path.suffix == ".npy":
        try:
            array = np.load(path, allow_pickle=False)
        except (ValueError, OSError) as exc:
            raise InvalidInputError(f"{path} is not a readable .npy array ({exc})") from None
    elif path.suffix in (".csv", ".txt"):
        try:
            array = np.loadtxt(path, delimiter=",", ndmin=2)
        except ValueError:  # a header line
            try:
                array = np.loadtxt(path, delimiter=",", ndmin=2, skiprows=1)
            except ValueError as exc:
                raise InvalidInputError(f"{path} is not a CSV of numbers ({exc})") from None
    else:
        raise InvalidInputError(f"{path}: pass a .npy or .csv file of {kind} inputs")
    if not np.issubdtype(array.dtype, np.number):
        raise InvalidInputError(f"{path} holds {array.dtype} values; pass numbers")
    if array.dtype == np.uint8:
        array = array / 255.0
    array = np.asarray(array, np.float32)
    size = int(np.prod(shape))
    if array.size == 0 or array.size % size or (array.ndim > 1 and array[0].size != size):
        raise InvalidInputError(
            f"{path} holds an array of shape {array.shape}; {model.name} takes rows of "
            f"{size} values shaped {shape}"
        )
    if not np.isfinite(array).all():
        raise InvalidInputError(f"{path} contains NaN/inf values; clean them first")
    return array.reshape((-1, *shape))


def _background(model, settings: dict, inputs: np.ndarray) -> np.ndarray:
    """Rows that stand for "feature absent": the run's training split when it is a tabular
    set of this package, else the inputs themselves."""
    from fdl_keras.data.tabular import TABULAR_DATASETS, tabular_arrays

    name = settings.get("dataset")
    if name in TABULAR_DATASETS:
        return tabular_arrays(name).x_train
    return inputs


def explain(
    run,
    inputs,
    method: str | None = None,
    *,
    out: str | Path | None = None,
    num_samples: int = 1000,
    max_evals: int = 500,
    seed: int = 0,
) -> Explanation:
    """Explains ``run``'s predictions on ``inputs`` with ``method`` (default: the first of
    :func:`methods_for`).

    Args:
        run: a run dir from ``fdl train``, a ``.keras`` file, or a :class:`~fdl_keras.runs.Run`.
        inputs: texts, or an array of feature rows or images (as :func:`read_inputs` gives).
        method: ``shap``, ``lime`` or ``rationale`` (rationale runs).
        out: write plots and pages to this folder.
        num_samples: LIME's perturbations per input.
        max_evals: SHAP's model evaluations per input (text and images).
        seed: of the perturbations.

    Raises:
        InvalidInputError: an unknown method for this model, empty or misshapen inputs.
    """
    return _explain(*_load(run), inputs, method, out, num_samples, max_evals, seed)


def _explain(model, settings, run_dir, inputs, method, out, num_samples, max_evals, seed):
    from fdl_keras.interpret import attributions

    methods = methods_for(model)
    method = method or methods[0]
    if method not in methods:
        raise InvalidInputError(
            f"method {method!r} does not apply to {model.name}; choose one of {', '.join(methods)}"
        )
    if num_samples < 1 or max_evals < 1:
        raise InvalidInputError(f"num_samples and max_evals must be >= 1, got {num_samples}")
    kind = input_kind(model)
    if len(inputs) == 0:
        raise InvalidInputError("no inputs to explain; pass at least one")
    out = Path(out) if out is not None else None
    result = Explanation(method, kind, [])
    if kind == "text":
        _explain_texts(model, run_dir, list(inputs), method, out, result, num_samples, max_evals)
    elif kind == "tabular":
        x = np.asarray(inputs, np.float32)
        f = attributions.predict_probabilities(model)
        probabilities = f(x)
        names = _feature_names(settings, x.shape[1])
        if method == "shap":
            exp = attributions.shap_tabular(
                model, _background(model, settings, x), x, feature_names=names, seed=seed
            )
            weights = exp.values
        else:
            background = _background(model, settings, x)
            weights = np.stack(
                [
                    attributions.lime_tabular(
                        model, background, row, feature_names=names,
                        label=probabilities.shape[1] - 1, num_samples=num_samples, seed=seed,
                    ).weights
                    for row in x
                ]
            )  # fmt: skip
        for p, w in zip(probabilities, weights):
            top = np.argsort(-np.abs(w))[:5]
            result.rows.append(
                {
                    "prediction": int(np.argmax(p)),
                    "probabilities": p.round(4).tolist(),
                    "attributions": dict(zip(names, np.round(w, 5).tolist())),
                    "top": [names[i] for i in top],
                }
            )
        if out is not None:
            result.files += _plot_tabular(weights, x, names, method, out)
    else:
        images = np.asarray(inputs, np.float32)
        probabilities = attributions.predict_probabilities(model)(images)
        labels = np.argmax(probabilities, axis=1)
        if method == "shap":
            maps = attributions.shap_image(model, images, labels=labels, max_evals=max_evals)
        else:
            maps = np.stack(
                [
                    attributions.lime_image(
                        model, image, label=int(label), num_samples=num_samples, seed=seed
                    )[0]
                    for image, label in zip(images, labels)
                ]
            )
        for p, m in zip(probabilities, maps):
            result.rows.append(
                {"prediction": int(np.argmax(p)), "probability": float(p.max()), "map": m}
            )
        if out is not None:
            result.files.append(_plot_images(images, maps, labels, method, out))
    return result


def _feature_names(settings: dict, count: int) -> list[str]:
    from fdl_keras.data.tabular import TABULAR_DATASETS, tabular_arrays

    name = settings.get("dataset")
    if name in TABULAR_DATASETS:
        names = list(tabular_arrays(name).feature_names)
        if len(names) == count:
            return names
    return [f"x{i}" for i in range(count)]


def _explain_texts(model, run_dir, texts, method, out, result, num_samples, max_evals):
    from fdl_keras.interpret import attributions, html
    from fdl_keras.sequence.text import tokenize

    f, vocabulary = text_classifier(model, run_dir)
    probabilities = f(texts)
    pages = []
    if method == "rationale":
        from fdl_keras.data.reviews import encode_reviews

        ids = encode_reviews(texts, vocabulary, max_length=MAX_TEXT_TOKENS)
        _, z = model.rationales(ids)
        for text, p, zi, row in zip(texts, probabilities, z, ids):
            tokens = _aligned_tokens(tokenize(text), row, vocabulary)
            kept = zi[: len(tokens)]
            result.rows.append(
                {
                    "prediction": int(np.argmax(p)),
                    "probabilities": p.round(4).tolist(),
                    "rationale": [t for t, k in zip(tokens, kept) if k > 0.5],
                    "kept": float(kept.mean()) if len(kept) else 0.0,
                }
            )
            pages.append((tokens, kept))
    elif method == "lime":
        for text, p in zip(texts, probabilities):
            lime, tokens = attributions.lime_text(
                f, text, label=int(np.argmax(p)), num_samples=num_samples
            )
            result.rows.append(_word_row(p, tokens, lime.weights))
            pages.append((tokens, lime.weights))
    else:
        exp = attributions.shap_text(f, texts, class_index=1, max_evals=max_evals)
        for p, e in zip(probabilities, exp):
            tokens = [str(t).strip() for t in e.data]
            result.rows.append(_word_row(p, tokens, np.asarray(e.values)))
            pages.append((tokens, np.asarray(e.values)))
    if out is not None:
        captions = [
            f"prediction {r['prediction']} ({max(r['probabilities']):.2f})" for r in result.rows
        ]
        maker = html.rationale_page if method == "rationale" else html.attribution_page
        page = maker([t for t, _ in pages], [w for _, w in pages], captions,
                     title=f"{model.name}: {method}")  # fmt: skip
        result.files.append(html.write_page(Path(out) / f"{method}.html", page))


def _aligned_tokens(tokens: list[str], row: np.ndarray, vocabulary) -> list[str]:
    """The words of ``tokens`` that the padded ids ``row`` encode (a long text is cut to its
    first or its last words, depending on the encoder), in the order of ``row``."""
    n = int((row != 0).sum())
    ids = np.asarray(vocabulary.encode(tokens))
    for start in (0, len(tokens) - n):
        if np.array_equal(ids[start : start + n], row[:n]):
            return tokens[start : start + n]
    return list(vocabulary.decode(row[:n]))


def _word_row(p, tokens, weights) -> dict:
    order = np.argsort(-np.abs(weights))[:8]
    return {
        "prediction": int(np.argmax(p)),
        "probabilities": np.asarray(p).round(4).tolist(),
        "top_words": [(tokens[i], round(float(weights[i]), 4)) for i in order],
    }


def _plot_tabular(weights, x, names, method, out: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import shap

    out.mkdir(parents=True, exist_ok=True)
    files = []
    exp = shap.Explanation(values=weights, data=x, feature_names=names)
    if len(x) > 1:
        shap.plots.beeswarm(exp, show=False, max_display=12)
        files.append(out / f"{method}_beeswarm.png")
        plt.savefig(files[-1], dpi=90, bbox_inches="tight")
        plt.close("all")
    shap.plots.bar(exp, show=False, max_display=12)
    files.append(out / f"{method}_bar.png")
    plt.savefig(files[-1], dpi=90, bbox_inches="tight")
    plt.close("all")
    return files


def _plot_images(images, maps, labels, method, out: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    n = min(len(images), 8)
    fig, axes = plt.subplots(2, n, figsize=(1.6 * n, 3.4), squeeze=False)
    for i in range(n):
        axes[0, i].imshow(images[i].squeeze(), cmap="gray")
        axes[0, i].set_title(f"pred {labels[i]}", fontsize=8)
        bound = float(np.abs(maps[i]).max()) or 1.0
        axes[1, i].imshow(maps[i], cmap="bwr", vmin=-bound, vmax=bound)
        for ax in axes[:, i]:
            ax.axis("off")
    fig.suptitle(f"{method.upper()} attributions (red: for the prediction)", fontsize=9)
    path = out / f"{method}_images.png"
    fig.savefig(path, dpi=90, bbox_inches="tight")
    plt.close(fig)
    return path


def explain_file(
    source: str, file: str, *, out: str | None = None, method: str | None = None
) -> int:
    """``fdl explain RUN FILE [--method M] [--out DIR]``: prints each input's prediction and its
    strongest attributions; with ``--out`` writes the plots and pages there."""
    model, settings, run_dir = _load(source)
    inputs = read_inputs(file, model)
    result = _explain(model, settings, run_dir, inputs, method, out, 1000, 500, 0)
    for i, row in enumerate(result.rows):
        shown = {k: v for k, v in row.items() if k not in ("map", "attributions")}
        print(f"{i}: " + "  ".join(f"{k} {v}" for k, v in shown.items()))
    if out is not None:
        for path in result.files:
            print(f"wrote {path}")
    else:
        print("pass --out DIR to write the plots")
    return 0
