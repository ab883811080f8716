"""Writes notebooks 05_mnist_feedforward and 07_mnist_cnn without outputs.

Run: python notebooks/build_ch05_07.py
"""

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).parent

SETUP = """import os, tempfile
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import numpy as np
import matplotlib.pyplot as plt
import fdl_keras
from fdl_keras.data import first_available

FAST = os.environ.get("FDL_FAST") == "1"   # the test harness runs every notebook in fast mode
WORK = tempfile.mkdtemp(prefix="fdl_nb_")   # runs and exports of this notebook go here
dataset, why_not = first_available("mnist", "digits")
print("dataset:", dataset, "| fast mode:", FAST)
if why_not:
    print("MNIST not available, using scikit-learn digits:", why_not)"""

CURVES = """history = result.history
fig, axes = plt.subplots(1, 2, figsize=(10, 3.5))
for key in ("loss", "val_loss"):
    axes[0].plot(history[key], label=key)
for key in ("accuracy", "val_accuracy"):
    axes[1].plot(history[key], label=key)
axes[0].set_xlabel("epoch"); axes[1].set_xlabel("epoch"); axes[0].legend(); axes[1].legend()
axes[0].set_title("cross-entropy"); axes[1].set_title("accuracy")
plt.show()
print("test:", result.test_metrics)"""

CONFUSION = """from sklearn.metrics import ConfusionMatrixDisplay

x_test, y_test = result.data.arrays["test"]
predictions = result.model.predict(x_test, verbose=0).argmax(axis=1)
ConfusionMatrixDisplay.from_predictions(y_test, predictions, cmap="Blues", colorbar=False)
plt.title(f"{result.spec.name} on {dataset}: test accuracy {np.mean(predictions == y_test):.2%}")
plt.show()"""

EXPORT = """report = fdl_keras.export(result.model, os.path.join(WORK, "export"), sample=x_test[:8])
for runtime, r in report["runtimes"].items():
    print(f"{runtime:12s}", {k: v for k, v in r.items() if k != "file"})
assert report["passed"]"""


def notebook(title: str, intro: str, cells: list) -> nbformat.NotebookNode:
    nb = new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.cells = [new_markdown_cell(f"# {title}\n\n{intro}"), new_code_cell(SETUP)] + cells
    return nb


ch05 = notebook(
    "Chapter 5 - a feed-forward network for MNIST",
    "The book's 784-256-256-10 ReLU network with a softmax output, trained with `model.fit` on "
    "a `tf.data` pipeline, evaluated on the test set and exported to SavedModel and ONNX.",
    [
        new_code_cell('model = fdl_keras.build("mnist_mlp")\nmodel.summary()'),
        new_markdown_cell(
            "## Training\nAdam with a cosine learning-rate decay and dropout 0.3 "
            "(`fdl_keras.get_spec('mnist_mlp').fit`). A full run reaches 98.5 %."
        ),
        new_code_cell(
            'result = fdl_keras.train("mnist_mlp", dataset=dataset, '
            'run_dir=os.path.join(WORK, "run"), verbose=0)'
        ),
        new_code_cell(CURVES),
        new_markdown_cell("## Which digits get confused?"),
        new_code_cell(CONFUSION),
        new_markdown_cell("## Export, verified against Keras"),
        new_code_cell(EXPORT),
    ],
)

ch07 = notebook(
    "Chapter 7 - a convolutional network for MNIST",
    "conv 5x5x32 -> pool -> conv 5x5x64 -> pool -> dense 1024 -> dropout 0.5 -> softmax, "
    "trained with small random shifts as augmentation (in `tf.data`, not in the model).",
    [
        new_code_cell('model = fdl_keras.build("mnist_cnn")\nmodel.summary()'),
        new_code_cell(
            'result = fdl_keras.train("mnist_cnn", dataset=dataset, '
            'run_dir=os.path.join(WORK, "run"), verbose=0)'
        ),
        new_code_cell(CURVES),
        new_markdown_cell("## First-layer filters\nThe 5x5 kernels the first convolution learned."),
        new_code_cell("""kernels = result.model.get_layer("conv_1").get_weights()[0]  # 5x5x1x32
fig, axes = plt.subplots(4, 8, figsize=(8, 4))
for i, ax in enumerate(axes.flat):
    ax.imshow(kernels[:, :, 0, i], cmap="gray"); ax.axis("off")
plt.show()"""),
        new_code_cell(CONFUSION),
        new_code_cell(EXPORT),
    ],
)

if __name__ == "__main__":
    nbformat.write(ch05, HERE / "05_mnist_feedforward.ipynb")
    nbformat.write(ch07, HERE / "07_mnist_cnn.ipynb")
