"""Errors that fdl_keras raises for bad input.

Every message is one line that says what went wrong and names the fix. The CLI prints it as
``fdl: error: <message>`` and exits with status 2.
"""


class FdlError(Exception):
    """Base class of every error fdl_keras raises on purpose."""


class UnknownModelError(FdlError, KeyError):
    """A model name that is not in the registry."""

    def __str__(self) -> str:  # KeyError would quote the message.
        return str(self.args[0]) if self.args else ""


class UnknownDatasetError(FdlError, KeyError):
    """A dataset name that no loader knows."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class DatasetNotFoundError(FdlError, FileNotFoundError):
    """A dataset that is neither local nor downloadable."""


class InvalidInputError(FdlError, ValueError):
    """Input arrays with the wrong shape, dtype or non-finite values."""


class TrainingDivergedError(FdlError, FloatingPointError):
    """Training stopped because the loss became NaN or infinite."""


class ExportVerificationError(FdlError):
    """An exported runtime does not reproduce the Keras model's outputs."""


class UnknownArgumentError(InvalidInputError, TypeError):
    """A builder argument that the system's builder does not take."""


class ProviderUnavailableError(FdlError, ValueError):
    """An onnxruntime execution provider that is not installed or cannot compile the model."""
