"""The ``fdl`` command: list, inspect, train, evaluate and export the book's systems.

fdl list                       every system with its chapter and quality target
fdl info NAME                  one system's spec and parameter count
fdl train NAME [options]       train (resumes a killed run in the same --run-dir)
fdl evaluate SOURCE            test metrics of a run dir or a .keras file
fdl export SOURCE DIR          write .keras, SavedModel and ONNX, and verify them
fdl demo                       the main job: train mnist_cnn, evaluate, export, verify
fdl bench NAME                 train-step, pipeline and Keras/SavedModel/ONNX latency here
fdl data to-tfrecord DATASET DIR   TFRecord shards of a dataset (--dataset tfrecord:DIR)
fdl tag|parse|classify RUN FILE   apply a chapter-9 run to a text file, one item per line
fdl translate RUN FILE         translate a text file line by line with a translation run
fdl explain RUN FILE           explanations (SHAP, LIME, ...) of a run's predictions, as plots
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def load_tensorflow(verbose: bool = False) -> None:
    """Imports TensorFlow and the registered systems.

    Unless ``verbose`` (``--verbose``) or the user set ``TF_CPP_MIN_LOG_LEVEL``, TensorFlow's
    start-up lines (absl writes them to the stderr file descriptor before its logging exists,
    so no log level hides them) go to /dev/null while TensorFlow loads and finds its devices.
    """
    quiet = not verbose and "TF_CPP_MIN_LOG_LEVEL" not in os.environ
    if quiet:
        import warnings

        os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
        warnings.filterwarnings("ignore", category=UserWarning)
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        saved = os.dup(2)
        devnull = os.open(os.devnull, os.O_WRONLY)
        sys.stderr.flush()
        os.dup2(devnull, 2)
    try:
        import tensorflow as tf

        tf.config.list_physical_devices()
        from fdl_keras.registry import load_systems

        load_systems()
    finally:
        if quiet:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            os.close(devnull)


def _check_name(name: str) -> dict:
    """The static index's row of ``name``; an unknown name is refused (no TensorFlow needed)."""
    from fdl_keras.index import read_index
    from fdl_keras.registry import unknown_model

    rows = {r["name"]: r for r in read_index()}
    if name not in rows:
        raise unknown_model(name, list(rows))
    return rows[name]


def _check_arguments(args) -> None:
    """A system's name must be registered, ``fdl train``'s options apply to its family and be
    in range, the model source and input file a command reads exist, an export's tolerance be
    a number >= 0 and a TFRecord folder be free: checked from the static index before
    TensorFlow loads (seconds), so a typo answers at once."""
    from fdl_keras.errors import InvalidInputError
    from fdl_keras.export import check_atol
    from fdl_keras.runs import no_model_at

    if getattr(args, "name", None) is not None:
        row = _check_name(args.name)
        if args.func is cmd_train:
            from fdl_keras.tasks import refuse_inapplicable

            given = _train_options(args)
            refuse_inapplicable(row["name"], row["family"], row["options"], given)
            _check_train_values(given)
    if getattr(args, "atol", None) is not None:
        check_atol(args.atol)
    if getattr(args, "func", None) is cmd_data_to_tfrecord:
        from fdl_keras.data.tfrecord import check_shards_target

        check_shards_target(args.directory, args.shards, args.overwrite)
    source = getattr(args, "source", None)
    if source is not None and not Path(source).exists():
        raise no_model_at(source)
    file = getattr(args, "file", None)
    if file is not None and not Path(file).is_file():
        raise InvalidInputError(
            f"no input file at {file}; pass an existing file (`fdl {args.command} --help`)"
        )


def cmd_list(args) -> int:
    from fdl_keras.index import read_index

    rows = [
        (r["name"], str(r["chapter"]), r["data"], r["target"], r["summary"])
        for r in read_index()
        if args.chapter is None or r["chapter"] == args.chapter
    ]
    header = ("name", "ch", "data", "target", "summary")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(4)]
    for row in [header, *rows]:
        cells = [
            row[0].ljust(widths[0]),
            row[1].rjust(widths[1]),
            row[2].ljust(widths[2]),
            row[3].ljust(widths[3]),
            row[4],
        ]
        print("  ".join(cells))
    return 0


def cmd_info(args) -> int:
    from fdl_keras.registry import get_spec

    spec = get_spec(args.name)
    model = spec.build()
    print(f"{spec.name}: {spec.summary}")
    print(f"  chapter {spec.chapter}")
    for key, value in spec.describe().items():
        if value is not None:
            print(f"  {key}: {value}")
    print(
        f"  target: {spec.target or '-'}" + (f" ({spec.target.reference})" if spec.target else "")
    )
    print(f"  builder: {spec.builder.__module__}.{spec.builder.__qualname__}")
    print(f"  defaults: {dict(spec.defaults)}")
    print(f"  train options: {', '.join(sorted(spec.options))}")
    print(f"  parameters: {model.count_params():,}")
    print(f"  export signature: {spec.export_signature(model)}")
    return 0


#: ``fdl train`` flags and the :func:`fdl_keras.train` options they set.
TRAIN_FLAGS = {
    "epochs": "epochs",
    "steps": "steps",
    "eval_every": "eval_every",
    "env": "environment",
    "batch_size": "batch_size",
    "learning_rate": "learning_rate",
    "dataset": "dataset",
    "strategy": "strategy",
    "precision": "precision",
    "limit": "limit",
    "style_image": "style_image",
    "vgg_weights": "vgg_weights",
}


def _train_options(args) -> dict:
    """The :func:`fdl_keras.train` options the ``fdl train`` flags set (``None``: not given)."""
    options = {option: getattr(args, flag) for flag, option in TRAIN_FLAGS.items()}
    if args.no_augment:
        options["augment"] = False
    return options


def _check_train_values(options: dict) -> None:
    """The counts and learning rate given to ``fdl train``, checked as its trainers check them
    (before TensorFlow loads)."""
    from fdl_keras.data.registry import check_limit
    from fdl_keras.tasks import check_count, check_learning_rate

    for what in ("epochs", "steps", "eval_every", "batch_size"):
        if options.get(what) is not None:
            check_count(what, options[what])
    check_limit(options.get("limit"))
    if options.get("learning_rate") is not None:
        check_learning_rate(options["learning_rate"])


def cmd_train(args) -> int:
    from fdl_keras.training import train

    options = _train_options(args)
    result = train(
        args.name,
        seed=args.seed,
        run_dir=args.run_dir,
        overwrite=args.overwrite,
        tensorboard=args.tensorboard,
        verbose=1 if sys.stdout.isatty() else 2,
        **{k: v for k, v in options.items() if v is not None},
    )
    if result.resumed_at:
        print(f"resumed at {result.resumed_at}")
    print(f"test: {_format_metrics(result.test_metrics)}  (run dir: {result.run_dir})")
    if args.export:
        from fdl_keras.export import export
        from fdl_keras.runs import load_run

        settings = load_run(result.run_dir).settings
        report = export(result.model, args.export, spec=result.spec, settings=settings)
        _print_report(report, args.export)
    return 0


def _load(source: str, dataset: str | None):
    """A model, its spec and its run settings from a run dir or a ``.keras`` file."""
    from fdl_keras.errors import InvalidInputError
    from fdl_keras.runs import load_source

    model, spec, settings = load_source(source)
    if spec is None:
        raise InvalidInputError(
            f"cannot tell which system {source} holds (model {model.name!r}); pass a run dir "
            "made by `fdl train`"
        )
    if dataset:
        settings = {**settings, "dataset": dataset}
    return model, spec, settings


def cmd_evaluate(args) -> int:
    model, spec, settings = _load(args.source, args.dataset)
    metrics = spec.evaluate(model, settings=settings, limit=args.limit)
    data = settings.get("dataset") or settings.get("environment") or spec.source
    counts = [f"{metrics.pop(k)} {k}" for k in ("examples", "episodes") if k in metrics]
    print(f"test: {_format_metrics(metrics)}  ({', '.join(counts)} of {data})")
    return 0


def cmd_export(args) -> int:
    from fdl_keras.export import export

    model, spec, settings = _load(args.source, args.dataset)
    report = export(
        model,
        args.directory,
        spec=spec,
        settings=settings,
        sample_size=args.samples,
        atol=args.atol,
    )
    _print_report(report, args.directory)
    return 0


def cmd_demo(args) -> int:
    from fdl_keras.data import load_dataset
    from fdl_keras.errors import DatasetNotFoundError, InvalidInputError
    from fdl_keras.export import export
    from fdl_keras.training import train

    try:
        load_dataset("mnist", limit=1, batch_size=1)
        dataset = "mnist"
    except InvalidInputError as exc:  # MNIST files are there but damaged (the message names one)
        dataset = "digits"
        print(f"MNIST is damaged: {exc}")
    except DatasetNotFoundError as exc:
        dataset = "digits"
        print(f"MNIST is not available here: {exc}")
    if dataset == "digits":
        print("Training on scikit-learn's embedded digits set (8x8 images) instead.")
    epochs = args.epochs or (2 if dataset == "mnist" else 30)
    result = train(
        "mnist_cnn",
        dataset=dataset,
        epochs=epochs,
        run_dir=args.run_dir,
        seed=args.seed,
        overwrite=args.overwrite,
        verbose=1 if sys.stdout.isatty() else 2,
    )
    print(
        f"mnist_cnn on {dataset}: test accuracy {result.test_metrics['accuracy']:.2%} "
        f"after {epochs} epochs ({result.wall_time_s:.0f} s)"
    )
    out = Path(args.out) / "mnist_cnn"
    report = export(result.model, out, spec=result.spec, settings={"dataset": dataset})
    _print_report(report, out)
    return 0


#: Verbs that apply a trained run to the user's own inputs: verb -> (module, function, help,
#: extra options). Each function is called ``function(source, file, out=..., **options)``, reads
#: ``file`` (one input per line), prints its results (or writes them to ``out``) and returns 0.
APPLY_VERBS = {
    "tag": (
        "fdl_keras.sequence.apply",
        "tag_file",
        "POS-tag a text file (one sentence per line) with a tagger run",
        (),
    ),
    "parse": (
        "fdl_keras.sequence.apply",
        "parse_file",
        "dependency-parse a text file (one sentence per line) with a parser run",
        ("beam",),
    ),
    "classify": (
        "fdl_keras.sequence.apply",
        "classify_file",
        "classify a text file (one review per line) with a sentiment run",
        (),
    ),
    "translate": (
        "fdl_keras.sequence.translate",
        "translate_file",
        "translate a text file (one sentence per line) with a translation run",
        ("beam", "runtime"),
    ),
    "explain": (
        "fdl_keras.interpret.explain",
        "explain_file",
        "explain a run's predictions on the inputs in FILE; plots go to --out",
        ("method",),
    ),
}


def cmd_apply(args) -> int:
    import importlib

    module, function, _, extras = APPLY_VERBS[args.command]
    apply = getattr(importlib.import_module(module), function)
    options = {k: getattr(args, k) for k in extras if getattr(args, k) is not None}
    return apply(args.source, args.file, out=args.out, **options)


def cmd_bench(args) -> int:
    from fdl_keras.bench import bench, format_bench

    result = bench(
        args.name,
        batch_size=args.batch_size,
        steps=args.steps,
        precision=args.precision,
        openvino=args.openvino,
    )
    print(format_bench(result))
    return 0


def cmd_data_to_tfrecord(args) -> int:
    from fdl_keras.data.tfrecord import write_tfrecords

    manifest = write_tfrecords(
        args.dataset,
        args.directory,
        shards=args.shards,
        seed=args.seed,
        limit=args.limit,
        overwrite=args.overwrite,
    )
    counts = ", ".join(f"{n} {split}" for split, n in manifest["counts"].items())
    print(
        f"wrote {args.dataset} to {args.directory}: {counts} examples in {args.shards} shards "
        f"per split; train with --dataset tfrecord:{args.directory}"
    )
    return 0


def _format_metrics(metrics: dict) -> str:
    return "  ".join(f"{k} {v:.4f}" for k, v in metrics.items())


def _print_report(report: dict, directory) -> None:
    print(f"exported to {directory}: model.keras, saved_model/, model.onnx, report.json")
    for runtime, r in report["runtimes"].items():
        diff = "" if "max_abs_diff" not in r else f"max |diff| {r['max_abs_diff']:.2e}  "
        lat = r.get("latency_ms_batch1")
        print(
            f"  {runtime:<12} {diff}batch-1 latency {lat:.2f} ms"
            if lat is not None
            else f"  {runtime:<12} {diff}"
        )
    print("verification: " + ("PASSED" if report["passed"] else "FAILED"))


def build_parser() -> argparse.ArgumentParser:
    from fdl_keras.config import STRATEGIES

    parser = argparse.ArgumentParser(
        prog="fdl",
        description="Fundamentals of Deep Learning systems in Keras 3.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("\n\n")[1],
    )
    sub = parser.add_subparsers(dest="command", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--verbose", action="store_true", help="show TensorFlow's start-up log lines"
    )

    p = sub.add_parser("list", parents=[common], help="list the registered systems")
    p.add_argument("--chapter", type=int, default=None)
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("info", parents=[common], help="show one system")
    p.add_argument("name")
    p.set_defaults(func=cmd_info)

    p = sub.add_parser(
        "train", parents=[common], help="train a system (a killed run resumes in the same run dir)"
    )
    p.add_argument("name")
    p.add_argument("--epochs", type=int)
    p.add_argument("--steps", type=int, help="environment steps (reinforcement-learning systems)")
    p.add_argument(
        "--eval-every",
        type=int,
        metavar="STEPS",
        help="RL: greedy evaluation every STEPS steps, keeping run_dir/best_model.keras",
    )
    p.add_argument("--env", metavar="ID", help="RL: a gymnasium environment id to train on")
    p.add_argument("--batch-size", type=int)
    p.add_argument("--learning-rate", type=float)
    p.add_argument("--dataset")
    p.add_argument("--strategy", choices=STRATEGIES)
    p.add_argument(
        "--precision",
        choices=("float32", "mixed_float16", "mixed_bfloat16"),
        help="training precision (the saved model is float32)",
    )
    p.add_argument("--style-image", metavar="PATH", help="style network: the style image")
    p.add_argument(
        "--vgg-weights", metavar="W", help="style network: imagenet (default), a file or random"
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--run-dir", help="default runs/NAME")
    p.add_argument("--overwrite", action="store_true", help="replace a finished run in the run dir")
    p.add_argument("--limit", type=int, help="keep at most this many training examples")
    p.add_argument("--no-augment", action="store_true", help="disable the spec's augmentation")
    p.add_argument("--tensorboard", action="store_true")
    p.add_argument("--export", metavar="DIR", help="export and verify into DIR after training")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser(
        "evaluate", parents=[common], help="test metrics of a run dir or .keras file"
    )
    p.add_argument("source")
    p.add_argument("--dataset")
    p.add_argument("--limit", type=int, help="test examples (RL: greedy episodes)")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser(
        "export", parents=[common], help="export a run dir or .keras file and verify it"
    )
    p.add_argument("source")
    p.add_argument("directory")
    p.add_argument("--dataset")
    p.add_argument("--samples", type=int, default=8, help="test examples compared per runtime")
    p.add_argument(
        "--atol",
        type=float,
        help="largest difference from Keras a runtime may show (default 1e-5, the DNC's 1e-4)",
    )
    p.set_defaults(func=cmd_export)

    p = sub.add_parser(
        "demo", parents=[common], help="main job: train mnist_cnn, evaluate, export and verify"
    )
    p.add_argument("--epochs", type=int, help="default 2 on MNIST, 30 on digits")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--run-dir", default="runs/demo")
    p.add_argument("--overwrite", action="store_true", help="replace an earlier demo's run")
    p.add_argument("--out", default="exports")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser(
        "bench", parents=[common], help="time a system's train step, pipeline and inference"
    )
    p.add_argument("name")
    p.add_argument("--batch-size", type=int, help="training batch (default the system's)")
    p.add_argument("--steps", type=int, default=20, help="timed training steps (median)")
    p.add_argument(
        "--precision",
        default="float32",
        choices=("float32", "mixed_float16", "mixed_bfloat16"),
        help="of the training step (inference: the float32 model a run saves)",
    )
    p.add_argument(
        "--openvino",
        action="store_true",
        help="also time onnxruntime's OpenVINO provider (pip install 'fdl_keras[openvino]')",
    )
    p.set_defaults(func=cmd_bench)

    p = sub.add_parser("data", parents=[common], help="dataset tools (TFRecord shards)")
    data_sub = p.add_subparsers(dest="data_command", required=True)
    p = data_sub.add_parser(
        "to-tfrecord", parents=[common], help="write a registered dataset to TFRecord shards"
    )
    p.add_argument("dataset", help="a registered dataset, e.g. mnist")
    p.add_argument("directory", help="the folder to write (refused if it exists)")
    p.add_argument("--shards", type=int, default=8, help="shards per split (default 8)")
    p.add_argument("--seed", type=int, default=0, help="split and epoch-0 order seed")
    p.add_argument("--limit", type=int, help="keep at most this many training examples")
    p.add_argument("--overwrite", action="store_true", help="replace an existing folder")
    p.set_defaults(func=cmd_data_to_tfrecord)

    extra_options = {
        "beam": dict(type=int, metavar="N", help="beam size (1 = greedy; default the run's)"),
        "runtime": dict(choices=("keras", "onnx"), help="decode with Keras or onnxruntime"),
        "method": dict(help="explanation method (see `fdl explain --help`)"),
    }
    for verb, (_, _, help_text, extras) in APPLY_VERBS.items():
        p = sub.add_parser(verb, parents=[common], help=help_text)
        p.add_argument("source", help="a run dir made by `fdl train` (or its model.keras)")
        p.add_argument("file", help="a UTF-8 text file, one input per line")
        p.add_argument("--out", help="write the results here instead of printing them")
        for extra in extras:
            p.add_argument(f"--{extra}", **extra_options[extra])
        p.set_defaults(func=cmd_apply)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from fdl_keras.errors import FdlError

    try:
        _check_arguments(args)
        if args.func is not cmd_list:
            load_tensorflow(verbose=args.verbose)
        return args.func(args)
    except FdlError as exc:
        print(f"fdl: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("fdl: interrupted; run the same command again to resume", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `fdl info X | head`: the reader left; say nothing more
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except Exception as exc:  # a data file damaged after it was checked (TFRecord checksums)
        if type(exc).__name__ != "DataLossError" or "tensorflow" not in sys.modules:
            raise
        from fdl_keras.data.tfrecord import describe_data_loss

        print(f"fdl: error: {describe_data_loss(exc)}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
