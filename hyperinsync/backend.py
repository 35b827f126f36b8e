"""Array backend selection: NumPy or CuPy, chosen once per call.

This is the only module that imports CuPy. Everything numeric in hyperinsync is written against
the namespace ``xp`` returned here, so one code path serves the CPU and the GPU.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ._utils import _check_option, logger, warn

ENV_VAR = "HYPERINSYNC_BACKEND"
_NAMES = ("auto", "numpy", "cupy")


@dataclass(frozen=True)
class Backend:
    """A resolved array backend.

    Attributes
    ----------
    name : str
        ``'numpy'`` or ``'cupy'``.
    xp : module
        The array namespace (``numpy`` or ``cupy``).
    fft : module
        The matching FFT module (``scipy.fft`` or ``cupyx.scipy.fft``).
    """

    name: str
    xp: object
    fft: object

    def asarray(self, a, dtype=None):
        """Move ``a`` onto this backend's device (no copy when already there)."""
        return self.xp.asarray(a, dtype=dtype)

    def to_numpy(self, a):
        """Return ``a`` as a NumPy array on the host."""
        if self.name == "cupy":
            return self.xp.asnumpy(a)
        return np.asarray(a)

    def fft_kwargs(self, n_jobs=1):
        """Keyword arguments for this backend's FFT calls (threads on the CPU)."""
        return {"workers": n_jobs} if self.name == "numpy" else {}


@lru_cache(maxsize=1)
def _cupy_status():
    """Return (cupy module or None, reason) without raising."""
    try:
        import cupy
        import cupyx.scipy.fft  # noqa: F401
    except Exception as exc:  # ImportError, or a CUDA library that fails to load
        return None, f"CuPy does not import ({type(exc).__name__}: {exc})"
    try:
        n_dev = cupy.cuda.runtime.getDeviceCount()
    except Exception as exc:
        return None, f"CuPy finds no usable GPU ({type(exc).__name__}: {exc})"
    if n_dev < 1:
        return None, "CuPy imports but no GPU is present"
    return cupy, ""


def cupy_available():
    """Whether CuPy imports and a GPU is present.

    Returns
    -------
    available : bool
    """
    return _cupy_status()[0] is not None


def get_backend(backend="auto"):
    """Resolve a backend name to a :class:`Backend`.

    Parameters
    ----------
    backend : 'auto' | 'numpy' | 'cupy' | Backend | None
        ``'auto'`` (or ``None``) uses CuPy when it imports and a GPU is present, else NumPy;
        the environment variable ``HYPERINSYNC_BACKEND`` (``numpy`` or ``cupy``) overrides
        ``'auto'``. An explicit ``'cupy'`` raises a clear error when CuPy cannot be used.

    Returns
    -------
    backend : Backend
    """
    if isinstance(backend, Backend):
        return backend
    if backend is None:
        backend = "auto"
    _check_option("backend", backend, _NAMES)
    explicit = backend != "auto"
    if not explicit:
        env = os.environ.get(ENV_VAR, "").strip().lower()
        if env:
            if env not in _NAMES:
                raise ValueError(
                    f"{ENV_VAR}={env!r} is not a backend: use one of {_NAMES}."
                )
            backend, explicit = env, env != "auto"
    if backend == "numpy":
        return _numpy_backend()
    cupy, reason = _cupy_status()
    if cupy is None:
        if explicit:
            raise RuntimeError(
                f"backend='cupy' was requested but {reason}. Install the GPU extra with "
                "`pip install hyperinsync[gpu]` on a machine with an NVIDIA GPU, or use "
                "backend='numpy'."
            )
        if backend == "auto" and os.environ.get(ENV_VAR):
            warn(f"{reason}; using NumPy.")
        return _numpy_backend()
    import cupyx.scipy.fft as cufft

    logger.debug("hyperinsync backend: cupy")
    return Backend("cupy", cupy, cufft)


def _numpy_backend():
    import scipy.fft

    return Backend("numpy", np, scipy.fft)


def real_dtype(precision):
    """Return the real dtype for ``'single'`` or ``'double'`` precision."""
    _check_option("precision", precision, ("single", "double"))
    return np.float32 if precision == "single" else np.float64


def complex_dtype(precision):
    """Return the complex dtype for ``'single'`` or ``'double'`` precision."""
    _check_option("precision", precision, ("single", "double"))
    return np.complex64 if precision == "single" else np.complex128
