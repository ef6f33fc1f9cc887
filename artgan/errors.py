"""The user-facing error kinds: each message names the thing and says what to do."""


class ArtganError(Exception):
    """A mistake in the user's input or environment; the CLI prints it as one line."""

    exit_code = 1


class UsageError(ArtganError):
    """A bad flag, setting or combination of them (exit 2, like click's own usage errors)."""

    exit_code = 2


class ConfigError(UsageError):
    """An unknown style, key or a value of the wrong type."""


class CorpusError(ArtganError):
    """A corpus folder that cannot be made or read."""


class CheckpointError(ArtganError):
    """A file that is not an artgan checkpoint, or one that does not fit the request."""


class ModelNotFound(CheckpointError):
    """No run or checkpoint holds the model a file was made with."""

    exit_code = 2


class RenderError(ArtganError):
    """A render, walk or edition that cannot be made as asked."""


class TrainingDiverged(ArtganError):
    """The losses became NaN or infinite."""


class OutputError(ArtganError):
    """An output that cannot be written (full disk, read-only folder, file-size limit)."""
