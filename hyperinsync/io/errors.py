"""Exceptions shared by the dyad readers in :mod:`hyperinsync.io`.

All of them derive from :class:`ValueError` so that code catching the generic error of a
bad input keeps working; catch the specific class to tell a bad file from a bad alignment.
"""


class DyadIOError(ValueError):
    """A recording cannot be read or turned into a dyad (the message names the file)."""


class AlignmentError(DyadIOError):
    """Two recordings cannot be put on one timeline with the requested accuracy."""


class XDFError(DyadIOError):
    """An XDF file is missing, truncated, corrupt, or lacks the requested streams."""


class SplitError(DyadIOError):
    """The channels of one recording cannot be assigned to the two participants."""


class PhysioIOError(DyadIOError):
    """A physiological or motion-energy file that cannot be read as it is.

    The message says why and where.
    """
