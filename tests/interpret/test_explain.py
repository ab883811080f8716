"""``explain`` / ``fdl explain RUN FILE`` on a tabular run, an image model and a rationale
model, and its one-line errors."""

import numpy as np
import pytest

import fdl_keras
from fdl_keras.cli import main
from fdl_keras.errors import InvalidInputError
from fdl_keras.interpret.explain import explain, explain_file


@pytest.fixture(scope="module")
def tabular_run(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("runs") / "tabular_mlp"
    fdl_keras.train(
        "tabular_mlp", dataset="synthetic_tabular", epochs=3, run_dir=run_dir, verbose=0
    )
    return run_dir


def test_fdl_explain_prints_and_plots_a_tabular_run(tabular_run, tmp_path, capsys):
    from fdl_keras.data.tabular import tabular_arrays

    rows = tmp_path / "rows.csv"
    x = tabular_arrays("synthetic_tabular").x_test[:6]
    np.savetxt(rows, x, delimiter=",", header=",".join(f"x{i}" for i in range(8)))
    out = tmp_path / "plots"
    assert main(["explain", str(tabular_run), str(rows), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert printed.count("prediction") == 6 and "wrote" in printed
    assert (out / "shap_beeswarm.png").stat().st_size > 1000
    result = explain(tabular_run, x[:2], method="lime", num_samples=500)
    assert len(result.rows) == 2 and set(result.rows[0]["top"][:3]) <= {"x0", "x1", "x2", "x3"}


def test_explain_refuses_bad_methods_and_inputs(tabular_run, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("1,2,3\n")
    with pytest.raises(InvalidInputError, match="rows of 8 values"):
        explain_file(str(tabular_run), str(bad))
    with pytest.raises(InvalidInputError, match="no input file"):
        explain_file(str(tabular_run), str(tmp_path / "missing.csv"))
    with pytest.raises(InvalidInputError, match="method 'rationale' does not apply"):
        explain(tabular_run, np.zeros((1, 8), "float32"), method="rationale")
    assert main(["explain", str(tmp_path / "no_run"), str(bad)]) == 2


def test_explain_an_image_model_with_lime(tmp_path):
    model = fdl_keras.build("mnist_cnn", filters=(4, 8), dense_units=16)
    path = tmp_path / "cnn.keras"
    model.save(path)
    images = tmp_path / "images.npy"
    np.save(images, (np.random.default_rng(0).uniform(size=(2, 28, 28)) * 255).astype("uint8"))
    out = tmp_path / "maps"
    assert explain_file(str(path), str(images), out=str(out), method="lime") == 0
    assert (out / "lime_images.png").is_file()


def test_explain_writes_highlighted_rationales(tmp_path, capsys):
    from fdl_keras.data.reviews import review_vocabulary

    model = fdl_keras.build(
        "rationale_movie_reviews",
        vocabulary_size=len(review_vocabulary().tokens),
        embedding_dim=8,
        generator_units=4,
        filters=8,
    )
    path = tmp_path / "rationale.keras"
    model.save(path)
    reviews = tmp_path / "reviews.txt"
    reviews.write_text("a wonderful , moving film .\n\nthe plot is dull and the acting worse .\n")
    out = tmp_path / "html"
    assert explain_file(str(path), str(reviews), out=str(out)) == 0
    printed = capsys.readouterr().out
    assert printed.count("kept") == 2 and "wrote" in printed
    page = (out / "rationale.html").read_text()
    assert "wonderful" in page and "dull" in page
    empty = tmp_path / "empty.txt"
    empty.write_text("\n \n")
    with pytest.raises(InvalidInputError, match="holds no text"):
        explain_file(str(path), str(empty))
