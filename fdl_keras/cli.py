"""The ``fdl`` command: list, inspect, train, evaluate and export the book's systems.

fdl list                       every system with its chapter and quality target
fdl info NAME                  one system's spec and parameter count
fdl train NAME [options]       train (resumes a killed run in the same --run-dir)
fdl evaluate SOURCE            test metrics of a run dir or a .keras file
fdl export SOURCE DIR          write .keras, SavedModel and ONNX, and verify them
fdl demo                       the main job: train mnist_cnn, evaluate, export, verify
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path


def _quiet_tensorflow() -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import warnings

    warnings.filterwarnings("ignore", category=UserWarning)
    warnings.filterwarnings("ignore", category=DeprecationWarning)


def cmd_list(args) -> int:
    from fdl_keras.registry import list_models

    specs = list_models(args.chapter)
    rows = [
        (s.name, str(s.chapter), s.dataset, str(s.target) if s.target else "-", s.summary)
        for s in specs
    ]
    header = ("name", "ch", "dataset", "target", "summary")
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
    print(f"  chapter {spec.chapter}, dataset {spec.dataset}, training {spec.training}")
    print(
        f"  target: {spec.target or '-'}" + (f" ({spec.target.reference})" if spec.target else "")
    )
    print(f"  builder: {spec.builder.__module__}.{spec.builder.__qualname__}")
    print(f"  defaults: {dict(spec.defaults)}")
    print(f"  fit: {spec.fit}")
    print(f"  parameters: {model.count_params():,}")
    print(f"  export signature: {spec.export_signature(model)}")
    return 0


def cmd_train(args) -> int:
    from fdl_keras.export import export
    from fdl_keras.registry import get_spec

    spec = get_spec(args.name)
    verbose = 1 if sys.stdout.isatty() else 2
    if spec.training == "rl":
        return _train_agent(args, verbose)
    from fdl_keras.training import train

    # train() refuses systems with other loops (style transfer) with an error naming theirs.
    result = train(
        args.name,
        dataset=args.dataset,
        epochs=args.epochs,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        strategy=args.strategy,
        seed=args.seed,
        run_dir=args.run_dir,
        limit=args.limit,
        augment=not args.no_augment,
        tensorboard=args.tensorboard,
        verbose=verbose,
    )
    if result.initial_epoch:
        print(f"resumed at epoch {result.initial_epoch + 1}")
    print(f"test: {_format_metrics(result.test_metrics)}  (run dir: {result.run_dir})")
    if args.export:
        sample = result.data.sample_batch(8)[0] if spec.training == "fit" else None
        _print_report(export(result.model, args.export, sample=sample), args.export)
    return 0


def _train_agent(args, verbose: int) -> int:
    from fdl_keras.rl import train_agent

    summary = train_agent(
        args.name,
        total_steps=args.steps,
        run_dir=args.run_dir,
        seed=args.seed,
        verbose=1 if verbose == 1 else 0,
        tensorboard=args.tensorboard,
        eval_every=args.eval_every,
    )
    shown = {k: v for k, v in summary.items() if isinstance(v, (int, float, str))}
    print(
        "  ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in shown.items())
    )
    if args.export:
        from fdl_keras.rl.policy import export_policy

        report = export_policy(summary["model"], args.export, summary["env_id"], seed=args.seed)
        _print_report(report, args.export)
    return 0


def _load_source(source: str):
    """A model and its run settings from a run directory or a ``.keras`` file."""
    import keras

    path = Path(source)
    model_path = path / "model.keras" if path.is_dir() else path
    if not model_path.is_file():
        from fdl_keras.errors import InvalidInputError

        raise InvalidInputError(
            f"no model at {model_path}; pass a run dir from `fdl train` or a .keras file"
        )
    settings_path = model_path.parent / "run.json"
    settings = json.loads(settings_path.read_text()) if settings_path.is_file() else {}
    return keras.saving.load_model(model_path), settings


def _dataset_for(model, settings: dict, override: str | None) -> str:
    if override or settings.get("dataset"):
        return override or settings["dataset"]
    from fdl_keras.registry import list_models

    spec = next((s for s in list_models() if s.builder is type(model)), None)
    if spec is None:
        from fdl_keras.errors import InvalidInputError

        raise InvalidInputError(f"cannot tell which dataset {model.name} uses; pass --dataset")
    return spec.dataset


def cmd_evaluate(args) -> int:
    from fdl_keras.data import load_dataset

    model, settings = _load_source(args.source)
    data = load_dataset(_dataset_for(model, settings, args.dataset), limit=args.limit)
    if not model.compiled:
        model.compile(loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    metrics = model.evaluate(data.test, verbose=0, return_dict=True)
    print(f"test: {_format_metrics(metrics)}  ({data.info.num_test} examples of {data.info.name})")
    return 0


def cmd_export(args) -> int:
    from fdl_keras.data import load_dataset
    from fdl_keras.export import export

    model, settings = _load_source(args.source)
    data = load_dataset(_dataset_for(model, settings, args.dataset), limit=4 * args.samples)
    report = export(model, args.directory, sample=data.sample_batch(args.samples)[0])
    _print_report(report, args.directory)
    return 0


def cmd_demo(args) -> int:
    from fdl_keras.data import first_available
    from fdl_keras.export import export
    from fdl_keras.training import train

    dataset, why_not = first_available("mnist", "digits")
    if why_not:
        print(f"MNIST is not available here: {why_not}")
        print("Training on scikit-learn's embedded digits set (8x8 images) instead.")
    epochs = args.epochs or (2 if dataset == "mnist" else 30)
    result = train(
        "mnist_cnn",
        dataset=dataset,
        epochs=epochs,
        run_dir=args.run_dir,
        seed=args.seed,
        verbose=1 if sys.stdout.isatty() else 2,
    )
    print(
        f"mnist_cnn on {dataset}: test accuracy {result.test_metrics['accuracy']:.2%} "
        f"after {epochs} epochs ({result.wall_time_s:.0f} s)"
    )
    out = Path(args.out) / "mnist_cnn"
    report = export(result.model, out, sample=result.data.sample_batch(8)[0])
    _print_report(report, out)
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
    from fdl_keras.training.strategy import STRATEGIES

    parser = argparse.ArgumentParser(
        prog="fdl",
        description="Fundamentals of Deep Learning systems in Keras 3.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("\n\n")[1],
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("list", help="list the registered systems")
    p.add_argument("--chapter", type=int, default=None)
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("info", help="show one system")
    p.add_argument("name")
    p.set_defaults(func=cmd_info)

    p = sub.add_parser("train", help="train a system (a killed run resumes in the same run dir)")
    p.add_argument("name")
    p.add_argument("--epochs", type=int)
    p.add_argument("--steps", type=int, help="environment steps (reinforcement-learning systems)")
    p.add_argument(
        "--eval-every",
        type=int,
        metavar="STEPS",
        help="RL: greedy evaluation every STEPS steps, keeping run_dir/best_model.keras",
    )
    p.add_argument("--batch-size", type=int)
    p.add_argument("--learning-rate", type=float)
    p.add_argument("--dataset")
    p.add_argument("--strategy", choices=STRATEGIES, default="default")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--run-dir", help="default runs/NAME")
    p.add_argument("--limit", type=int, help="keep at most this many training examples")
    p.add_argument("--no-augment", action="store_true", help="disable the spec's augmentation")
    p.add_argument("--tensorboard", action="store_true")
    p.add_argument("--export", metavar="DIR", help="export and verify into DIR after training")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("evaluate", help="test metrics of a run dir or .keras file")
    p.add_argument("source")
    p.add_argument("--dataset")
    p.add_argument("--limit", type=int)
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("export", help="export a run dir or .keras file and verify it")
    p.add_argument("source")
    p.add_argument("directory")
    p.add_argument("--dataset")
    p.add_argument("--samples", type=int, default=8, help="test examples compared per runtime")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("demo", help="main job: train mnist_cnn, evaluate, export and verify")
    p.add_argument("--epochs", type=int, help="default 2 on MNIST, 30 on digits")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--run-dir", default="runs/demo")
    p.add_argument("--out", default="exports")
    p.set_defaults(func=cmd_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    _quiet_tensorflow()
    args = build_parser().parse_args(argv)
    from fdl_keras.errors import FdlError

    try:
        return args.func(args)
    except FdlError as exc:
        print(f"fdl: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("fdl: interrupted; run the same command again to resume", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
