"""ResNet: parameter counts against the papers, downsampling, shortcuts, v1 vs v2."""

import numpy as np
import pytest

import fdl_keras
from fdl_keras.vision.resnet import ResNet, ZeroPadShortcut

# He et al. 2015, table 6: CIFAR ResNets with parameter-free shortcuts (trainable weights).
CIFAR_PARAMS_M = {"resnet20": 0.27, "resnet32": 0.46, "resnet44": 0.66, "resnet56": 0.85}
# torchvision's ResNets (the papers' 11.7 M, 21.8 M and 25.6 M), counted exactly.
IMAGENET_PARAMS = {"resnet18": 11_689_512, "resnet34": 21_797_672, "resnet50": 25_557_032}


def trainable(model) -> int:
    return int(sum(np.prod(w.shape) for w in model.trainable_weights))


@pytest.mark.parametrize("name", list(CIFAR_PARAMS_M))
def test_cifar_resnet_parameters_match_the_paper(name):
    assert round(trainable(fdl_keras.build(name)) / 1e6, 2) == CIFAR_PARAMS_M[name]


def test_resnet110_v1_and_v2_have_1_7m_parameters_and_110_layers():
    for name in ("resnet110", "resnet110_v2"):
        model = fdl_keras.build(name)
        assert round(trainable(model) / 1e6, 1) == 1.7
        weighted = [la for la in model.layers if type(la).__name__ in ("Conv2D", "Dense")]
        assert len(weighted) == 110


@pytest.mark.parametrize("name", list(IMAGENET_PARAMS))
def test_imagenet_resnet_parameters_match_torchvision(name):
    model = fdl_keras.build(name)
    assert trainable(model) == IMAGENET_PARAMS[name]
    assert model.output_shape == (None, 1000)


def test_stages_downsample_by_two():
    model = fdl_keras.build("resnet20")
    sizes = [model.get_layer(f"stage{s}_block1_out").output.shape[1:] for s in (1, 2, 3)]
    assert sizes == [(32, 32, 16), (16, 16, 32), (8, 8, 64)]
    model = ResNet(
        stem="imagenet",
        block="bottleneck",
        stage_blocks=(1, 1, 1, 1),
        stage_filters=(8, 8, 8, 8),
        shortcut="projection",
        image_shape=(64, 64, 3),
    )
    sizes = [model.get_layer(f"stage{s}_block1_out").output.shape[1:3] for s in (1, 2, 3, 4)]
    assert sizes == [(16, 16), (8, 8), (4, 4), (2, 2)]


def test_zero_pad_shortcut_subsamples_and_pads_channels():
    x = np.arange(2 * 4 * 4 * 2, dtype=np.float32).reshape(2, 4, 4, 2)
    y = np.asarray(ZeroPadShortcut(6, 2)(x))
    assert y.shape == (2, 2, 2, 6)
    np.testing.assert_array_equal(y[..., 2:4], x[:, ::2, ::2, :])
    assert not y[..., :2].any() and not y[..., 4:].any()


def test_v2_is_pre_activation():
    v1, v2 = fdl_keras.build("resnet20"), fdl_keras.build("resnet20_v2")
    # v1 ends each block with ReLU after the addition; v2 ends with the addition itself.
    assert type(v1.get_layer("stage1_block1_out")).__name__ == "ReLU"
    assert type(v2.get_layer("stage1_block1_add")).__name__ == "Add"
    names = [layer.name for layer in v2.layers]
    assert "post_bn" in names and "stem_bn" not in names


def test_bad_arguments_name_the_value():
    with pytest.raises(ValueError, match="block must be one of"):
        ResNet(block="wide")
    with pytest.raises(ValueError, match="one positive entry per stage"):
        ResNet(stage_blocks=(3, 3), stage_filters=(16, 32, 64))
    with pytest.raises(ValueError, match="non-decreasing"):
        ResNet(stage_filters=(64, 32, 16))
