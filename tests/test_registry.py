import re
from pathlib import Path

import numpy as np
import pytest

import fdl_keras

REPO = Path(__file__).resolve().parents[1]


def readme_chapters() -> tuple[dict[str, int], list[tuple[str, str, int]]]:
    """The README's "Systems by chapter" table: ``{name: chapter}`` of the names it lists
    (``resnet18/34/50`` standing for three) and ``(first, last, chapter)`` of each ``first`` …
    ``last`` range."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    table = text.split("## Systems by chapter", 1)[1].split("\n## ", 1)[0]
    chapters, ranges = {}, []
    for row in table.splitlines():
        cells = [c.strip() for c in row.strip().strip("|").split("|")]
        if len(cells) != 4 or not cells[0][:1].isdigit():
            continue
        chapter = int(re.match(r"\d+", cells[0]).group())
        for first, last in re.findall(r"`(\w+)` … `(\w+)`", cells[3]):
            ranges.append((first, last, chapter))
        for token in re.findall(r"`([\w/]+)`", cells[3]):
            stem, *numbers = token.split("/")  # `resnet18/34/50`: resnet18, resnet34, resnet50
            prefix = re.sub(r"\d+$", "", stem)
            for name in [stem, *(prefix + n for n in numbers)]:
                chapters[name] = chapter
    return chapters, ranges


def test_chapters_match_the_readme_table():
    """Each system's chapter is the one the README's book table gives (an independent record:
    written from the book's contents, not from the registry)."""
    documented, ranges = readme_chapters()
    assert len(documented) >= 20, documented  # the table was found and parsed
    specs = {s.name: s for s in fdl_keras.list_models()}
    for name, chapter in documented.items():
        assert name in specs, f"README lists {name}, which is not registered"
        assert specs[name].chapter == chapter, (name, specs[name].chapter, chapter)
    for name, spec in specs.items():
        if name in documented:
            continue
        # Names the README abbreviates: resnet32 lies in `resnet20` … `resnet110`.
        covering = [
            c
            for first, last, c in ranges
            if re.sub(r"\d+", "", name) == re.sub(r"\d+", "", first)
            and int(re.search(r"\d+", first).group())
            <= int(re.search(r"\d+", name).group())
            <= int(re.search(r"\d+", last).group())
        ]
        assert covering, f"{name} is registered but missing from the README's table"
        assert spec.chapter == covering[0], (name, spec.chapter, covering[0])


def test_book_classifier_targets_match_the_benchmark_table():
    """The accuracy targets are the ones benchmarks/RESULTS.md states and measures against."""
    results = (REPO / "benchmarks" / "RESULTS.md").read_text(encoding="utf-8")
    for name in ("mnist_mlp", "mnist_cnn"):
        row = re.search(rf"^\| `{name}`.*$", results, re.MULTILINE).group()
        target_percent = float(row.split("|")[3].strip().rstrip("%").strip())
        target = fdl_keras.get_spec(name).target
        assert (target.metric, target.dataset) == ("accuracy", "mnist"), target
        assert target.value == pytest.approx(target_percent / 100, abs=1e-9), (name, row)
    models = fdl_keras.list_models()
    assert [s.chapter for s in models] == sorted(s.chapter for s in models)  # `fdl list` order


def test_the_static_index_equals_the_registry():
    """`fdl list` and `fdl train`'s early checks read fdl_keras/systems.json, never TensorFlow:
    it must hold every system as registered (regenerate it: python -m fdl_keras.index)."""
    from fdl_keras.index import live_index, read_index

    assert read_index() == live_index()


def test_unknown_name_lists_closest_names():
    with pytest.raises(fdl_keras.UnknownModelError, match=r"did you mean mnist_cnn") as err:
        fdl_keras.build("mnist_cnm")
    assert "fdl list" in str(err.value)
    assert "\n" not in str(err.value)


def test_build_applies_overrides_and_rejects_unknown_arguments():
    model = fdl_keras.build("mnist_mlp", hidden_units=(32,), dropout=0.0)
    assert model.get_config()["hidden_units"] == (32,)
    assert model.count_params() == 784 * 32 + 32 + 32 * 10 + 10
    with pytest.raises(TypeError, match="has no argument 'hidden'"):
        fdl_keras.build("mnist_mlp", hidden=3)


def test_an_argument_of_the_wrong_type_is_one_line_naming_it_and_an_example():
    """A string or a bare int where the builder takes a tuple of widths failed deep inside
    Keras ("'<' not supported between instances of 'str' and 'int'")."""
    from fdl_keras.errors import InvalidInputError

    refused = [
        ("mnist_mlp", {"hidden_units": "256"}, "hidden_units='256' is not a tuple of ints"),
        ("mnist_mlp", {"hidden_units": 256}, "give one such as hidden_units=(256, 256)"),
        ("mnist_mlp", {"dropout": "0.1"}, "dropout='0.1' is not a float"),
        ("vae", {"latent_dim": 2.5}, "latent_dim=2.5 is not an int"),
        ("transformer_fr_en", {"num_heads": "4"}, "num_heads='4' is not an int"),
    ]
    for name, arguments, message in refused:
        with pytest.raises(InvalidInputError, match=re.escape(message)) as err:
            fdl_keras.build(name, **arguments)
        assert "\n" not in str(err.value)
    # lists for tuples, ints for floats and NumPy values are what users pass: all accepted
    model = fdl_keras.build("mnist_mlp", hidden_units=np.array([8, 4]), dropout=0, l2=np.float32(0))
    assert model.get_config()["hidden_units"] == (8, 4) and model.count_params() == 6366


def test_the_public_verbs_refuse_a_wrong_type_in_one_line(tmp_path):
    """``build(5)``, ``load_run(5)``, ``export(m, 5)``, ``export("name", dir)`` and
    ``load_dataset(5)`` raised TypeErrors or AttributeErrors from inside the package."""
    from fdl_keras.checks import describe_type, fits_type
    from fdl_keras.errors import InvalidInputError

    model = fdl_keras.build("mnist_mlp", hidden_units=(8,))
    calls = [
        (lambda: fdl_keras.build(5), "build: name must be a str, got 5"),
        (lambda: fdl_keras.get_spec(["mnist_mlp"]), "get_spec: name must be a str, got ['mnist"),
        (lambda: fdl_keras.load_run(5), "load_run: directory must be a str or a Path, got 5"),
        (lambda: fdl_keras.export(model, 5), "export: directory must be a str or a Path, got 5"),
        (lambda: fdl_keras.export(model, tmp_path, atol="x"), "atol must be a float or None"),
        (lambda: fdl_keras.export("mnist_mlp", tmp_path), "export needs a keras.Model"),
        (lambda: fdl_keras.load_dataset(5), "load_dataset: name must be a str or a Path, got 5"),
        (
            lambda: fdl_keras.load_dataset("digits", batch_size="32"),
            "load_dataset: batch_size must be an int, got '32'",
        ),
    ]
    for call, message in calls:
        with pytest.raises(InvalidInputError, match=re.escape(message)) as err:
            call()
        assert "\n" not in str(err.value)
    assert not list(tmp_path.iterdir())
    assert fits_type([1, None], tuple[int | None, ...]) and not fits_type((1.5,), tuple[int, ...])
    assert fits_type(tmp_path, str | Path) and not fits_type(True, int)
    assert describe_type(tuple[int, int] | None) == "a tuple of 2 ints or None"


def test_every_spec_default_and_tiny_config_fits_its_builder_types():
    for spec in fdl_keras.list_models():
        for config in (spec.defaults, spec.tiny):
            spec.check_types(config)


def test_book_cnn_architecture():
    model = fdl_keras.build("mnist_cnn")
    # conv 5x5x1x32 + conv 5x5x32x64 + dense 3136x1024 + dense 1024x10 (with biases)
    expected = (25 * 32 + 32) + (25 * 32 * 64 + 64) + (3136 * 1024 + 1024) + 10250
    assert model.count_params() == expected
    assert model.get_layer("dropout").rate == 0.5
    assert model.output_shape == (None, 10)


def test_no_family_branches_outside_the_tasks():
    """The CLI, the tests' contract, the trainer and export ask the spec's task; none of them
    reads a family field (issue: one path for every kind of system)."""
    import re

    pattern = re.compile(r"spec\.(training|task)\b")
    places = [REPO / "fdl_keras" / "cli.py", REPO / "fdl_keras" / "testing.py"]
    places += [*(REPO / "fdl_keras" / "training").glob("*.py")]
    places += [*(REPO / "fdl_keras" / "export").glob("*.py")]
    hits = [
        f"{path.name}:{i}"
        for path in places
        for i, line in enumerate(path.read_text().splitlines(), 1)
        if pattern.search(line)
    ]
    assert not hits, hits


def test_every_system_has_a_task_and_a_source():
    from fdl_keras.tasks import ReinforcementLearning, Task

    for spec in fdl_keras.list_models():
        assert isinstance(spec.task, Task), spec.name
        if isinstance(spec.task, ReinforcementLearning):
            assert spec.dataset is None and spec.fit is None, spec.name  # no unused FitConfig
            assert spec.source == spec.task.environment
            assert issubclass(spec.task.agent, __import__("fdl_keras.rl.agent").rl.agent.Agent)
        else:
            assert spec.source == spec.dataset and spec.fit is not None, spec.name


def test_a_model_names_its_system_so_export_finds_the_spec():
    from fdl_keras.registry import spec_for_model

    for name in ("resnet20", "resnet56", "ppo_cartpole", "a2c_cartpole"):  # shared classes
        spec = fdl_keras.get_spec(name)
        model = spec.build(**spec.tiny)
        assert model.name == name and spec_for_model(model) is spec
    renamed = fdl_keras.get_spec("resnet20").build(**fdl_keras.get_spec("resnet20").tiny, name="a")
    assert spec_for_model(renamed) is None  # ten ResNets share the class: no guess
    vae = fdl_keras.get_spec("vae")
    assert spec_for_model(vae.build(**vae.tiny, name="mine")) is vae  # the only VAE class


def test_a_new_family_is_one_task_class(tmp_path):
    """Adding a system of a new kind touches no trainer/CLI/export file: register it with a
    task, and train(), evaluate and export work."""
    import keras

    from fdl_keras.registry import _REGISTRY, register
    from fdl_keras.tasks import FitTask

    class Denoising(FitTask):
        label = "denoising"

        def builder_args(self, spec, info):
            return {"image_shape": info.input_shape}

        def loss(self, model):
            return "mean_squared_error"

        def pairs(self, spec, model, data, seed=0):
            def noisy(split):
                return split and split.map(lambda x, y: (x + 0.1, x))

            return noisy(data.train), noisy(data.validation), noisy(data.test)

    def tiny_denoiser(image_shape=(8, 8, 1), name=None):
        inputs = keras.Input(image_shape)
        return keras.Model(inputs, keras.layers.Conv2D(1, 3, padding="same")(inputs), name=name)

    register("tiny_denoiser", chapter=8, builder=tiny_denoiser, task=Denoising(), dataset="digits")
    try:
        result = fdl_keras.train("tiny_denoiser", epochs=3, run_dir=tmp_path / "run", verbose=0)
        assert result.history["loss"][-1] < result.history["loss"][0]
        assert result.test_metrics["loss"] == pytest.approx(
            result.spec.evaluate(result.model)["loss"], rel=1e-5
        )
        report = fdl_keras.export(result.model, tmp_path / "export", measure_latency=False)
        assert report["passed"] and report["sample"]["source"] == "digits test split"
    finally:
        del _REGISTRY["tiny_denoiser"]
