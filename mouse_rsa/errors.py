"""One error hierarchy for the library and the zoo. The CLI prints the message as one line and exits 2.

The classes live in ``model_zoo.errors`` (the zoo stands alone and never imports mouse_rsa); this
module re-exports them and adds the data errors. ``MouseRSAError`` is the base of all of them.
"""
from model_zoo.errors import InvalidInput, UserError, WeightsUnavailable

MouseRSAError = UserError


class DataUnavailable(UserError):
    """Data that is not on disk and cannot be fetched now (no network, not fetched yet)."""


__all__ = ["DataUnavailable", "InvalidInput", "MouseRSAError", "UserError", "WeightsUnavailable"]
