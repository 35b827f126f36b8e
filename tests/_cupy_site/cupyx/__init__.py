"""``cupyx`` for child processes under the CuPy emulation (see ``cupy/__init__.py`` here)."""

import cupy  # noqa: F401  (installs the emulation, whose cupyx replaces this module)
