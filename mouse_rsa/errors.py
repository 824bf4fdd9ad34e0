"""One small error hierarchy. The CLI prints the message as one line and exits 2."""


class MouseRSAError(Exception):
    """Base class: a problem the user can fix; the message says what to do."""


class InvalidInput(MouseRSAError):
    """Arguments, files or values that cannot be used (unknown names, corrupt files, NaNs)."""


class DataUnavailable(MouseRSAError):
    """Data that is not on disk and cannot be fetched now (no network, not fetched yet)."""


class WeightsUnavailable(MouseRSAError):
    """Pretrained weights that are neither cached nor downloadable."""
