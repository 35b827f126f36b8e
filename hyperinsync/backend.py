"""Array backend selection: NumPy or CuPy, chosen once per call.

This is the only module that imports CuPy. Everything numeric in hyperinsync is written against
the namespace ``xp`` returned here, so one code path serves the CPU and the GPU.

On the GPU, everything between the band signals and the final statistics stays on the
device: results come back to the host together (:meth:`Backend.to_numpy_many`), not once per
epoch, surrogate or episode. Chunks of work are bounded by ``max_bytes``
(:meth:`Backend.max_bytes`; ``'auto'`` follows the device's free memory), and an analysis
that runs out of device memory is retried with smaller chunks, then on the CPU, with a
warning that names the step (:func:`gpu_fallback`, :func:`gpu_step`).
"""

from __future__ import annotations

import contextvars
import functools
import inspect
import os
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ._utils import ProgressBar, _check_option, _validate_type, logger, warn

ENV_VAR = "HYPERINSYNC_BACKEND"
_NAMES = ("auto", "numpy", "cupy")
# max_bytes='auto': the CPU bound, and the share of the GPU's free memory one chunk may use
# (several chunk-sized temporaries coexist, beside the band signals held whole)
CPU_MAX_BYTES = 256e6
GPU_MEMORY_SHARE = 1 / 8
# surrogate chunks on the CPU stay this small even when max_bytes allows more: more draws
# per chunk gain nothing once the products are large, and smaller scratch arrays stay
# closer to the caches
CPU_CHUNK_BYTES = 32e6


@dataclass(frozen=True)
class Backend:
    """A resolved array backend.

    Each parameter is kept as the attribute of the same name.

    Parameters
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
        """Move ``a`` onto this backend's device (no copy when already there).

        Parameters
        ----------
        a : array-like
            The values (a NumPy array, a device array, a list...).
        dtype : dtype | None
            The dtype of the result; ``None``: that of ``a``.

        Returns
        -------
        array : ndarray
            ``a`` on the device (a CuPy array with CuPy).
        """
        return self.xp.asarray(a, dtype=dtype)

    def to_numpy(self, a):
        """Return ``a`` as a NumPy array on the host.

        Parameters
        ----------
        a : array
            A host or device array.

        Returns
        -------
        array : numpy.ndarray
            ``a`` on the host (copied from the device with CuPy).
        """
        if self.name == "cupy":
            return self.xp.asnumpy(a)
        return np.asarray(a)

    def to_numpy_many(self, *arrays):
        """Return several arrays on the host, with one device-to-host copy per dtype.

        On the GPU those of each dtype are joined and copied at once (each copy costs ~10 us).

        Parameters
        ----------
        *arrays : array
            Host or device arrays.

        Returns
        -------
        arrays : list of numpy.ndarray
            The arrays on the host, in the order given.
        """
        if self.name != "cupy":
            return [np.asarray(a) for a in arrays]
        xp = self.xp
        out = [None] * len(arrays)
        groups = {}
        for i, a in enumerate(arrays):
            groups.setdefault(np.dtype(a.dtype), []).append(i)
        for idx in groups.values():
            flat = xp.concatenate([xp.ravel(arrays[i]) for i in idx])
            host = xp.asnumpy(flat)
            pos = 0
            for i in idx:
                a = arrays[i]
                out[i] = host[pos : pos + a.size].reshape(a.shape)
                pos += a.size
        return out

    def fft_kwargs(self, n_jobs=1):
        """Return the keyword arguments of this backend's FFT calls (threads on the CPU).

        Parameters
        ----------
        n_jobs : int
            Threads of SciPy's FFT (``workers``); ignored on the GPU.

        Returns
        -------
        kwargs : dict
            ``{'workers': n_jobs}`` with NumPy, ``{}`` with CuPy.
        """
        return {"workers": n_jobs} if self.name == "numpy" else {}

    def max_bytes(self, max_bytes="auto"):
        """Resolve ``max_bytes``: a number is kept; ``'auto'`` depends on the device.

        NumPy: 256 MB. CuPy: an eighth of the GPU's free memory now (the driver's, plus
        the free blocks of CuPy's pool), at least 16 MB.

        Parameters
        ----------
        max_bytes : float | 'auto'
            A bound in bytes on the memory of one chunk of work, or ``'auto'``.

        Returns
        -------
        max_bytes : float
            The bound in bytes.
        """
        if isinstance(max_bytes, str):
            _check_option("max_bytes", max_bytes, ("auto",))
            if self.name != "cupy":
                return CPU_MAX_BYTES
            free = self.xp.cuda.Device().mem_info[0]
            free += self.xp.get_default_memory_pool().free_bytes()
            return float(max(16e6, free * GPU_MEMORY_SHARE))
        _validate_type(max_bytes, "numeric", "max_bytes")
        if not max_bytes > 0:
            raise ValueError(f"max_bytes must be positive or 'auto', got {max_bytes}.")
        return float(max_bytes)

    def chunk_bytes(self, max_bytes):
        """Return the bytes one chunk of surrogates should hold.

        Parameters
        ----------
        max_bytes : float
            The analysis' memory budget for intermediate arrays.

        Returns
        -------
        n_bytes : float
            ``max_bytes``; on the CPU at most 32 MB (chunks near the caches run faster).
        """
        return max_bytes if self.name == "cupy" else min(max_bytes, CPU_CHUNK_BYTES)

    def map(self, func, items, n_jobs=1, mesg=None):
        """``[func(item) for item in items]``: in ``n_jobs`` threads with NumPy.

        NumPy releases the GIL: independent chunks of work share the cores (BLAS on one
        thread meanwhile, ``one_blas_thread``). With CuPy one after another.

        Parameters
        ----------
        func : callable
            Called with one item.
        items : iterable
            The items.
        n_jobs : int
            Threads (NumPy only).
        mesg : str | None
            The message of a progress bar; ``None``: no bar.

        Returns
        -------
        results : list
            ``func``'s results, in the items' order.
        """
        items = list(items)
        workers = min(len(items), max(1, int(n_jobs))) if self.name == "numpy" else 1
        pool = ThreadPoolExecutor(workers) if workers > 1 else None
        try:
            res = map(func, items) if pool is None else pool.map(func, items)
            if mesg is not None:
                res = ProgressBar(res, max_value=len(items), mesg=mesg)
            return list(res)
        finally:
            if pool is not None:
                pool.shutdown()

    def run_chunks(self, func, n_items, size, n_jobs=1, mesg=None):
        """:meth:`map` ``func`` over consecutive chunks of items; join each output on axis 0.

        Parameters
        ----------
        func : callable
            Takes a slice of at most ``size`` items (e.g. surrogates) and returns a tuple of
            arrays on this backend's device whose first axis runs over them.
        n_items : int
            The number of items.
        size : int
            Items per chunk (the last chunk may hold fewer).
        n_jobs, mesg : int, str | None
            As :meth:`map`.

        Returns
        -------
        outputs : tuple
            Each of ``func``'s output arrays, concatenated over the chunks in order.
        """
        size = max(1, int(size))
        chunks = [slice(k, min(n_items, k + size)) for k in range(0, n_items, size)]
        res = self.map(func, chunks, n_jobs, mesg)
        return tuple(self.xp.concatenate([r[i] for r in res]) for i in range(len(res[0])))

    def free_memory(self):
        """Give the GPU memory pool's unused blocks back (after an out-of-memory error)."""
        if self.name == "cupy":
            self.xp.get_default_memory_pool().free_all_blocks()


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
        True when ``backend='auto'`` computes on a GPU (unless ``HYPERINSYNC_BACKEND`` says
        ``numpy``).
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
        The resolved backend: its name, array namespace and FFT module.
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
                raise ValueError(f"{ENV_VAR}={env!r} is not a backend: use one of {_NAMES}.")
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


def is_out_of_memory(exc):
    """Whether ``exc`` is the GPU running out of memory (CuPy, cuFFT or cuBLAS).

    Parameters
    ----------
    exc : Exception
        The error raised.

    Returns
    -------
    out_of_memory : bool
        True for an out-of-memory error of the GPU or the host: :class:`MemoryError` (CuPy's
        ``OutOfMemoryError`` is one) and cuFFT's, cuBLAS's or CUDA's allocation failures.

    Examples
    --------
    >>> from hyperinsync.backend import is_out_of_memory
    >>> is_out_of_memory(MemoryError()), is_out_of_memory(RuntimeError("CUFFT_ALLOC_FAILED"))
    (True, True)
    >>> is_out_of_memory(ValueError("bad band"))
    False
    """
    if isinstance(exc, MemoryError):  # cupy.cuda.memory.OutOfMemoryError is one
        return True
    text = f"{type(exc).__name__}: {exc}"
    return any(
        k in text
        for k in (
            "CUFFT_ALLOC_FAILED",
            "CUBLAS_STATUS_ALLOC_FAILED",
            "cudaErrorMemoryAllocation",
            "out of memory",
        )
    )


_STEP = contextvars.ContextVar("hyperinsync_gpu_step", default=None)


@contextmanager
def gpu_step(name):
    """Name the step of an analysis that runs inside, for out-of-memory messages.

    An out-of-memory error raised inside carries the innermost step's name
    (``exc.hyperinsync_step``), which :func:`gpu_fallback` reports.

    Parameters
    ----------
    name : str
        The step's name, as the warning should name it (``'band signals'``, ``'surrogates'``).

    Yields
    ------
    None
        The step runs in the ``with`` block as it is; only an out-of-memory error leaving it
        is labelled.

    Examples
    --------
    >>> from hyperinsync.backend import gpu_step
    >>> try:
    ...     with gpu_step("band signals"):
    ...         raise MemoryError("out of memory allocating 2 GB")
    ... except MemoryError as exc:
    ...     print(exc.hyperinsync_step)
    band signals
    """
    token = _STEP.set(name)
    try:
        yield
    except Exception as exc:
        if is_out_of_memory(exc) and not hasattr(exc, "hyperinsync_step"):
            try:
                exc.hyperinsync_step = name
            except AttributeError:  # an exception type that takes no attributes
                pass
        raise
    finally:
        _STEP.reset(token)


def gpu_fallback(what, retries=2, shrink=8):
    """Decorate an analysis: on GPU out-of-memory, smaller chunks, then NumPy.

    The analysis (a function with ``backend`` and ``max_bytes`` parameters) is run again
    with ``max_bytes`` divided by ``shrink`` up to ``retries`` times, then with
    ``backend='numpy'``, with a warning that names the analysis (``what``) and the step
    that ran out of memory (:func:`gpu_step`). A ``seed`` given as a Generator is reset to
    its state at the start, so every attempt draws the same surrogates. Results record the
    backend that computed them. Errors other than out-of-memory are raised at once.

    Parameters
    ----------
    what : str
        The analysis's name, as the messages and warnings name it (``'surrogate_test'``).
    retries : int
        How many times to retry on the GPU with smaller chunks.
    shrink : float
        The factor ``max_bytes`` is divided by at each retry.

    Returns
    -------
    decorator : callable
        The decorator to apply to the analysis function; the wrapped function keeps its
        signature.

    Examples
    --------
    A new analysis written once for NumPy and CuPy:

    >>> from hyperinsync.backend import get_backend, gpu_fallback, gpu_step
    >>> @gpu_fallback("mean power")
    ... def mean_power(data, *, backend="auto", max_bytes="auto"):
    ...     bk = get_backend(backend)
    ...     with gpu_step("power"):
    ...         x = bk.xp.asarray(data)
    ...         return float((abs(x) ** 2).mean())
    >>> mean_power(np.full(8, 2.0), backend="numpy")
    4.0
    """

    def deco(func):
        sig = inspect.signature(func)

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            bound = sig.bind(*args, **kwargs)
            bound.apply_defaults()
            arguments = dict(bound.arguments)
            bk = get_backend(arguments["backend"])
            if bk.name != "cupy":
                return func(*args, **kwargs)
            seed = arguments.get("seed")
            state = seed.bit_generator.state if isinstance(seed, np.random.Generator) else None
            chunk = bk.max_bytes(arguments["max_bytes"])
            for attempt in range(retries + 1):
                try:
                    return func(**{**arguments, "backend": bk, "max_bytes": chunk})
                except Exception as exc:
                    if not is_out_of_memory(exc):
                        raise
                    step = getattr(exc, "hyperinsync_step", "?")
                    bk.free_memory()
                    if state is not None:
                        seed.bit_generator.state = state
                    if attempt < retries:
                        logger.info(
                            f"{what}: the GPU ran out of memory in step '{step}' with chunks "
                            f"of {chunk / 1e6:.3g} MB; retrying with {chunk / shrink / 1e6:.3g} "
                            "MB chunks."
                        )
                        chunk /= shrink
            warn(
                f"{what}: the GPU ran out of memory in step '{step}' even with chunks of "
                f"{chunk / 1e6:.3g} MB, so {what} was computed with NumPy on the CPU "
                "(params['backend'] says so; the results agree with the GPU's to float32 "
                "rounding). Free GPU memory, or pass backend='numpy' to skip the GPU."
            )
            return func(**{**arguments, "backend": "numpy"})

        return wrapper

    return deco


def scratch(work, key, shape, dtype, xp):
    """Return a C-contiguous scratch array of ``shape``, from ``work`` if given.

    Chunked loops pass the same dict each time (one per thread), so their large temporaries
    are allocated once (a fresh array of tens of MB page-faults on first touch, which costs
    more than the arithmetic in it): a view of a flat buffer in ``work[(key, dtype)]``.
    """
    if work is None:
        return xp.empty(shape, dtype)
    size = 1
    for n in shape:
        size *= int(n)
    slot = (key, np.dtype(dtype).str)
    buf = work.get(slot)
    if buf is None or buf.size < size:
        buf = work[slot] = xp.empty(size, dtype)
    return buf[:size].reshape(shape)


class ThreadScratch(threading.local):
    """Each thread's scratch arrays (:func:`scratch`), e.g. for :meth:`Backend.run_chunks`.

    ``obj(key, shape, dtype, xp)`` is ``scratch(obj.work, ...)`` with the calling thread's
    own ``work`` dict, so that threads never share a buffer.
    """

    def __init__(self):
        self.work = {}

    def __call__(self, key, shape, dtype, xp):
        """Return this thread's scratch array ``key`` (see :func:`scratch`)."""
        return scratch(self.work, key, shape, dtype, xp)


def one_blas_thread():
    """Run BLAS on one thread inside this context (threadpoolctl).

    For many mid-sized products run in ``n_jobs`` threads of their own (:meth:`Backend.map`):
    BLAS threads on top only add synchronisation (compute_sync 2x slower on an idle 2-core
    machine; the surrogate nulls 3-26x when other processes load its cores).
    """
    return _blas_controller().limit(limits=1, user_api="blas")


_CONTROLLER = (None, -1)  # (threadpoolctl controller, len(sys.modules) when it was made)


def _blas_controller():
    """Return a threadpoolctl controller of the loaded BLAS libraries, made once.

    Finding the libraries scans every loaded shared object (~6 ms per ``threadpool_limits``
    call); it is done again only when modules were imported since (new libraries).
    """
    global _CONTROLLER
    from threadpoolctl import ThreadpoolController

    n_mod = len(sys.modules)
    ctl, seen = _CONTROLLER
    if ctl is None or seen != n_mod:
        ctl = ThreadpoolController()
        _CONTROLLER = (ctl, n_mod)
    return ctl


def single_blas_thread(func):
    """Decorate an analysis to run with BLAS on one thread (:func:`one_blas_thread`).

    Its parallelism is its own (``n_jobs`` threads over chunks of surrogates, FFT
    workers); the limit is lifted when it returns.
    """

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with one_blas_thread():
            return func(*args, **kwargs)

    return wrapper


def real_dtype(precision):
    """Return the real dtype for ``'single'`` or ``'double'`` precision.

    Parameters
    ----------
    precision : 'single' | 'double'
        The precision of the computation.

    Returns
    -------
    dtype : type
        ``numpy.float32`` (single) or ``numpy.float64`` (double).

    Examples
    --------
    >>> from hyperinsync.backend import real_dtype
    >>> real_dtype("single"), real_dtype("double")
    (<class 'numpy.float32'>, <class 'numpy.float64'>)
    """
    _check_option("precision", precision, ("single", "double"))
    return np.float32 if precision == "single" else np.float64


def complex_dtype(precision):
    """Return the complex dtype for ``'single'`` or ``'double'`` precision.

    Parameters
    ----------
    precision : 'single' | 'double'
        As in :func:`real_dtype`.

    Returns
    -------
    dtype : type
        ``numpy.complex64`` (single) or ``numpy.complex128`` (double), for band signals.

    Examples
    --------
    >>> from hyperinsync.backend import complex_dtype
    >>> complex_dtype("single"), complex_dtype("double")
    (<class 'numpy.complex64'>, <class 'numpy.complex128'>)
    """
    _check_option("precision", precision, ("single", "double"))
    return np.complex64 if precision == "single" else np.complex128
