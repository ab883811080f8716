"""Registration of fdl_keras classes for Keras serialisation (``.keras`` files, safe mode)."""

import keras

PACKAGE = "fdl_keras"


def serializable(cls):
    """Registers ``cls`` as ``fdl_keras>ClassName`` so ``keras.saving.load_model`` finds it."""
    return keras.saving.register_keras_serializable(package=PACKAGE)(cls)


class ConfigModel(keras.Model):
    """A functional ``keras.Model`` subclass whose config is exactly its constructor arguments.

    Subclasses build their graph in ``__init__`` (keras-hub style): the first statement takes
    ``arguments = dict(locals())``, the last two are
    ``super().__init__(inputs=..., outputs=..., **kwargs)`` and ``self._remember(arguments)``.
    ``get_config`` then returns exactly the constructor arguments, so
    ``cls.from_config(model.get_config())`` rebuilds the same architecture.
    """

    def _remember(self, arguments: dict) -> None:
        # Lists become tuples so a config read back from JSON compares equal to the original.
        self._constructor_args = {
            k: (tuple(v) if isinstance(v, list) else v)
            for k, v in arguments.items()
            if k not in ("self", "kwargs", "__class__")
        }

    def get_config(self) -> dict:
        return {"name": self.name, "trainable": self.trainable, **self._constructor_args}


class OptimizerOnlyCompileConfig:
    """Mixin for models whose loss cannot go into a ``.keras`` file (a custom ``compile``, a
    perceptual loss holding a style image and a VGG19): the file keeps the optimizer and its
    state; ``compile`` again (the task does) to attach the loss and train on."""

    def get_compile_config(self) -> dict | None:
        if not self.compiled:
            return None
        return {"optimizer": keras.optimizers.serialize(self.optimizer)}

    def compile_from_config(self, config: dict) -> None:
        self.compile(optimizer=keras.optimizers.deserialize(config["optimizer"]))
        if self.built:  # so the saved optimizer variables have somewhere to load
            self.optimizer.build(self.trainable_variables)
