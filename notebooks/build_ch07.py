"""Writes notebook 07_cnn (chapter 7 beyond MNIST) without outputs.

Run: python notebooks/build_ch07.py

Batch norm vs none on the book's CIFAR network, the ResNet family, what the network learned
(filters, activation maps, t-SNE) and neural style transfer. CIFAR-10 is used when present,
else MNIST, else scikit-learn's digits. ``FDL_FAST=1`` (the test harness) shrinks data, widths
and steps so the notebook runs in well under 90 s; all files go to a temporary folder.
"""

from pathlib import Path
from textwrap import dedent

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).parent


def md(text: str):
    return new_markdown_cell(dedent(text).strip())


def code(text: str):
    return new_code_cell(dedent(text).strip())


CELLS = [
    md("""
    # Chapter 7 — Convolutional networks beyond MNIST

    The book's CIFAR-10 network with and without batch normalisation, residual networks, what a
    convolutional network learns, and neural style transfer — all from `fdl_keras`.
    """),
    code("""
    import os, tempfile
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras
    import matplotlib.pyplot as plt
    import numpy as np
    from IPython.display import Image, display

    import fdl_keras
    from fdl_keras.data import first_available
    from fdl_keras.vision import style_transfer, visualize

    FAST = os.environ.get("FDL_FAST") == "1"   # the test harness runs every notebook fast
    WORK = tempfile.mkdtemp(prefix="fdl_ch07_")  # every file this notebook writes goes here
    dataset, why_not = first_available("cifar10", "mnist", "digits")
    print("dataset:", dataset, "| fast mode:", FAST)
    if why_not:
        print("stand-in for CIFAR-10:", why_not.split(":")[0])
    """),
    md("""
    ## Batch normalisation: the same network, normalised or not

    `cifar_cnn` is the book's network (two 5x5x64 convolutions with pooling, dense 384 and 192);
    `cifar_cnn_bn` normalises every hidden layer over the batch before its ReLU, `cifar_cnn_gn`
    over groups of channels of each example. Same seed, data order and optimizer; we record the
    training loss after every step. (Fast mode shrinks the widths and skips group norm.)
    """),
    code("""
    class StepLosses(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.losses = []
        def on_train_batch_end(self, batch, logs=None):
            self.losses.append(logs["loss"])

    small = dict(filters=(16, 16), dense_units=(32, 32), groups=8) if FAST else {}
    curves, results = {}, {}
    for name in ("cifar_cnn", "cifar_cnn_bn") + (() if FAST else ("cifar_cnn_gn",)):
        steps = StepLosses()
        results[name] = fdl_keras.train(
            name, dataset=dataset, epochs=1 if FAST else 3, batch_size=64,
            limit=320 if FAST else 20000, augment=False, run_dir=os.path.join(WORK, name),
            verbose=0, callbacks=[steps], **small)
        curves[name] = steps.losses
        print(f"{name:14s} test accuracy {results[name].test_metrics['accuracy']:.2%}")

    fig, ax = plt.subplots(figsize=(7, 3.5))
    for name, losses in curves.items():
        ax.plot(losses, label=name)
    ax.set(xlabel="step", ylabel="training cross-entropy", yscale="log",
           title=f"the CIFAR network on {dataset}")
    ax.legend()
    plt.show()
    """),
    md("""
    `benchmarks/norm_experiment.py` runs the book's experiment properly: steps until a fixed
    validation accuracy for each normalisation.

    ## Residual networks

    One builder gives every ResNet of the papers: CIFAR v1 (depth 6n+2, parameter-free
    shortcuts), v2 (pre-activation), and the ImageNet ResNet-18/34/50 whose stages halve the
    resolution with stride-2 convolutions.
    """),
    code("""
    names = ["resnet20", "resnet18"] if FAST else [
        "resnet20", "resnet32", "resnet44", "resnet56", "resnet110", "resnet110_v2",
        "resnet18", "resnet34", "resnet50"]
    for name in names:
        model = fdl_keras.build(name)
        print(f"{name:13s} {model.count_params() / 1e6:6.2f} M parameters, "
              f"input {model.input_shape[1:]}, {fdl_keras.get_spec(name).summary}")
    """),
    code("""
    resnet20 = fdl_keras.build("resnet20")
    for stage in (1, 2, 3):
        layer = resnet20.get_layer(f"stage{stage}_block1_out")
        print(f"stage {stage} output: {layer.output.shape[1:]}")
    resnet20.summary(line_length=100)
    """),
    md("""
    ## What the network learned

    The first layer's filters, the feature maps one image produces, and a t-SNE embedding of the
    penultimate layer's features (the 192-unit layer) coloured by the true class: a trained
    network pulls the classes apart.
    """),
    code("""
    trained = results["cifar_cnn_bn"]
    x_test, y_test = trained.data.arrays["test"]
    visualize.filter_grid(trained.model, os.path.join(WORK, "filters.png"), figsize=(4, 4))
    visualize.activation_maps(trained.model, x_test[0], os.path.join(WORK, "maps.png"),
                              figsize=(4, 4))
    n = 100 if FAST else 1000
    visualize.tsne_plot(trained.model, x_test[:n], y_test[:n], os.path.join(WORK, "tsne.png"),
                        class_names=trained.data.info.class_names, figsize=(6, 5))
    for png in ("filters.png", "maps.png", "tsne.png"):
        display(Image(os.path.join(WORK, png)))
    """),
    md("""
    ## Neural style transfer

    Gatys et al.: optimise the pixels so the image keeps the content features of one photograph
    and takes the Gram matrices (style) of another. The VGG19 features use ImageNet weights when
    they are in the Keras cache; offline they are random, which still transfers texture.
    """),
    code("""
    photos = style_transfer.sample_photos()
    size, steps = (32, 10) if FAST else (128, 100)
    content = style_transfer.resize(photos["china"], size)
    style = style_transfer.resize(photos["flower"], size)
    cache = os.path.expanduser(f"~/.keras/models/{style_transfer.VGG19_NOTOP_FILE}")
    weights = "imagenet" if os.path.exists(cache) else None
    result = style_transfer.stylize(content, style, steps=steps, weights=weights,
                                    output=os.path.join(WORK, "styled.png"), progress=False)
    fig, axes = plt.subplots(1, 4, figsize=(14, 3))
    for ax, image, title in zip(axes, (content, style, result.image),
                                ("content", "style", f"styled ({weights or 'random'} VGG19)")):
        ax.imshow(image); ax.set_title(title); ax.axis("off")
    axes[3].plot(result.history["loss"]); axes[3].set(title="loss", xlabel="step", yscale="log")
    plt.show()
    print(f"loss fell {1 - result.history['loss'][-1] / result.history['loss'][0]:.0%}")
    """),
    md("""
    Johnson et al. train a network (`fast_style_transfer`) with the same loss once per style; it
    then styles any image in one forward pass and exports to ONNX — see
    `benchmarks/style_transfer.py`.
    """),
]


def build() -> nbformat.NotebookNode:
    nb = new_notebook(cells=CELLS)
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    return nb


if __name__ == "__main__":
    nbformat.write(build(), HERE / "07_cnn.ipynb")
