"""``cupy`` for the child processes of a test run under the CuPy emulation.

``tests/conftest.py`` puts this folder on ``PYTHONPATH`` when a run uses the emulation, so
that processes the tests start (a killed study run, joblib and Dask workers) compute on the
same emulated GPU as the run itself, as they would on a machine with a real one. Importing
it installs the emulation (``tests/_cupy_emulation.py``, mode from
``HYPERINSYNC_CUPY_EMULATION``), which replaces this module in ``sys.modules``.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
from _cupy_emulation import Emulation  # noqa: E402

Emulation(os.environ.get("HYPERINSYNC_CUPY_EMULATION", "one-gpu")).install()
