"""model_zoo's errors: one small hierarchy of problems the user can fix (mouse_rsa re-exports it)."""


class UserError(Exception):
    """Base class: a problem the user can fix; the message says what to do."""


class InvalidInput(UserError, ValueError):
    """Arguments, files or values that cannot be used (unknown names, corrupt files, NaNs).

    ``argument`` names the offending parameter in library words (``folds``, ``weights_file``) so that
    a front end can show it in its own (``--folds``); the message starts with that name.
    """

    def __init__(self, message: str, argument: str | None = None):
        super().__init__(message)
        self.argument = argument


class WeightsUnavailable(UserError):
    """Pretrained weights that are neither cached nor downloadable."""
