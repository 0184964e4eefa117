"""Exceptions raised by formulasearch.

Every message is a single line that names the culprit (row, element, column or
setting), so that the command line can print it as it is, without a traceback.
"""

from __future__ import annotations

__all__ = ["FormulaSearchError", "InputError", "ConfigError"]


class FormulaSearchError(Exception):
    """Base class of the errors formulasearch raises on purpose (one-line messages)."""


class InputError(FormulaSearchError, ValueError):
    """The user's data cannot be used: a missing file, column, element or value."""


class ConfigError(FormulaSearchError, ValueError):
    """The configuration is invalid: an unknown key, a bad value or a bad combination."""
