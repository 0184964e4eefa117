"""Exceptions raised by formulasearch.

Every message is a single line that names the culprit (row, element, column or
setting), so that the command line can print it as it is, without a traceback.
"""

from __future__ import annotations

from typing import Any

__all__ = ["FormulaSearchError", "InputError", "ConfigError", "Interrupted", "stop_if_interrupted"]


class FormulaSearchError(Exception):
    """Base class of the errors formulasearch raises on purpose (one-line messages)."""


class InputError(FormulaSearchError, ValueError):
    """The user's data cannot be used: a missing file, column, element or value."""


class ConfigError(FormulaSearchError, ValueError):
    """The configuration is invalid: an unknown key, a bad value or a bad combination."""


class Interrupted(Exception):
    """Ctrl-C during a stage; the kernel returned the best it had found (control flow, not a user error)."""


def stop_if_interrupted(found: Any, stage: str) -> None:
    """Raise Interrupted(stage) when a kernel's result (a _core result, with `interrupted`) says it was interrupted."""
    if found.interrupted:
        raise Interrupted(stage)
