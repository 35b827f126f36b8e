"""A strict CPU emulation of CuPy, to run hyperinsync's GPU path without a GPU.

Installed as the modules ``cupy``, ``cupy.cuda``, ``cupy.fft``, ``cupy.linalg``,
``cupy.lib.stride_tricks``, ``cupyx``, ``cupyx.scipy`` and ``cupyx.scipy.fft`` (see
:meth:`Emulation.install`; ``tests/conftest.py`` does it for a whole run with
``--cupy-emulation`` or ``HYPERINSYNC_CUPY_EMULATION``, and the ``cupy_emulation`` fixture for
one test), so that :mod:`hyperinsync.backend` finds it as it would find CuPy.

What it checks, as real CuPy (13.x) behaves on a GPU:

- device arrays (:class:`ndarray`) refuse implicit conversion to NumPy: ``np.asarray(d)``,
  ``np.array(d)``, ``host[...] = d`` and SciPy/MNE on ``d`` raise CuPy's ``TypeError``
  ("Implicit conversion to a NumPy array is not allowed");
- they refuse mixing with host arrays: ``d + host``, ``host + d``, ``cupy.f(host)``, FFTs of
  host data (``TypeError: Unsupported type``), ``d[a:b] = host`` (``ValueError``), and a
  0-d host array counts as an array, not a scalar;
- reductions and indexing give 0-d device arrays, never NumPy scalars; ``float()``,
  ``int()``, ``bool()``, ``.item()`` of a size-1 array read the device (counted), of a larger
  array fail as in NumPy; no ``__index__`` (``range(d0)`` fails);
- NumPy functions on device arrays dispatch to the namespace below (NEP 13/18) or fail
  when CuPy has no such function; ``cupyx.scipy.fft`` takes no ``workers``;
- ``cupy.cuda.runtime.getDeviceCount()`` and ``Device().mem_info`` follow the mode (one GPU,
  no GPU, a broken driver) and an emulated memory size; allocations beyond it raise
  :class:`OutOfMemoryError` (CuPy's ``cupy.cuda.memory.OutOfMemoryError``, a MemoryError).

Every host/device transfer is counted (:class:`TransferStats`: number and bytes each way,
scalar reads, and the hyperinsync source line that caused each), so tests can show that a
count does not grow with the number of surrogates, epochs or episodes.

Arithmetic is NumPy's on the held arrays, except FFTs, which use ``numpy.fft`` (hyperinsync
uses ``scipy.fft`` on the CPU): a NumPy-vs-"CuPy" comparison then shows genuine float32
rounding differences, as cuFFT would. It cannot find cuFFT/cuBLAS numerics, kernel or
stream problems; only the names listed in ``_FUNCTIONS`` exist, all of which exist in CuPy.
"""

from __future__ import annotations

import gc
import os
import sys
import threading
import types
import weakref
from collections import Counter

import numpy as np

IMPLICIT = (
    "Implicit conversion to a NumPy array is not allowed. Please use `.get()` to "
    "construct a NumPy array explicitly."
)
MODES = ("one-gpu", "no-gpu", "broken-driver")
_PY_SCALARS = (bool, int, float, complex)


class OutOfMemoryError(MemoryError):
    """CuPy's ``cupy.cuda.memory.OutOfMemoryError`` (same arguments and message)."""

    def __init__(self, size, total, limit=0):
        self._size, self._total, self._limit = size, total, limit
        msg = f"Out of memory allocating {size:,} bytes (allocated so far: {total:,} bytes)."
        super().__init__(msg)


class CUDARuntimeError(RuntimeError):
    """CuPy's ``cupy.cuda.runtime.CUDARuntimeError``."""


class TransferStats:
    """Host <-> device traffic and device memory of one emulation.

    ``h2d``/``d2h``: array copies to/from the device (``*_bytes`` their sizes);
    ``scalar_reads``: ``float()``/``int()``/``bool()``/``.item()`` of device values (each a
    device synchronisation); ``sites``: counts per ``(kind, 'module.py:line')`` of the
    hyperinsync line that asked for it; ``live``/``peak``: device bytes held.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self.live = 0
        self.peak = 0
        self.reset()

    def reset(self):
        with self._lock:
            self.h2d = self.d2h = self.scalar_reads = 0
            self.h2d_bytes = self.d2h_bytes = 0
            self.sites = Counter()
            self.peak = self.live

    def _record(self, kind, nbytes=0):
        site = _caller()
        with self._lock:
            if kind == "h2d":
                self.h2d += 1
                self.h2d_bytes += int(nbytes)
            elif kind == "d2h":
                self.d2h += 1
                self.d2h_bytes += int(nbytes)
            else:
                self.scalar_reads += 1
            self.sites[(kind, site)] += 1

    def snapshot(self):
        """The counts as a dict (``transfers`` = h2d + d2h + scalar reads)."""
        return dict(
            h2d=self.h2d,
            d2h=self.d2h,
            scalar_reads=self.scalar_reads,
            h2d_bytes=self.h2d_bytes,
            d2h_bytes=self.d2h_bytes,
            transfers=self.h2d + self.d2h + self.scalar_reads,
            peak_bytes=self.peak,
        )

    def report(self):
        """One line per source line that transferred, most frequent first."""
        lines = [
            f"h2d {self.h2d} ({self.h2d_bytes:,} B), d2h {self.d2h} "
            f"({self.d2h_bytes:,} B), scalar reads {self.scalar_reads}"
        ]
        for (kind, site), n in self.sites.most_common():
            lines.append(f"  {n:6d}  {kind:11s} {site}")
        return "\n".join(lines)


def _caller():
    """'sub/module.py:line' of the innermost hyperinsync frame asking for a transfer."""
    f = sys._getframe(2)
    first = None
    pkg = f"{os.sep}hyperinsync{os.sep}"
    while f is not None:
        fn = f.f_code.co_filename
        if fn != __file__:
            if pkg in fn:
                return f"{fn.split(pkg)[-1]}:{f.f_lineno}"
            first = first or f
        f = f.f_back
    if first is None:
        return "?"
    return f"{os.path.basename(first.f_code.co_filename)}:{first.f_lineno}"


class Emulation:
    """One emulated GPU (or none): the modules, the counters and the memory.

    Parameters
    ----------
    mode : 'one-gpu' | 'no-gpu' | 'broken-driver'
        What ``cupy.cuda.runtime.getDeviceCount()`` says: 1, 0, or a CUDARuntimeError.
    memory : float
        Device memory in bytes; allocations beyond it raise :class:`OutOfMemoryError`.
    """

    def __init__(self, mode="one-gpu", memory=16e9):
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        self.mode = mode
        self.memory = int(memory)
        self.stats = TransferStats()
        self._roots = {}  # id(root buffer) -> weakref finalizer
        self.modules = _build_modules(self)
        self.cupy = self.modules["cupy"]
        self._saved = None

    # ---------------------------------------------------------------- memory
    def _register(self, arr):
        """Count a new device buffer (``arr``'s root) in the device memory, or refuse it."""
        root = arr
        while isinstance(root.base, np.ndarray):
            root = root.base
        key = id(root)
        if key in self._roots or root.nbytes == 0:
            return
        st = self.stats
        with st._lock:
            if st.live + root.nbytes > self.memory:
                total = st.live
            else:
                total = None
                st.live += root.nbytes
                st.peak = max(st.peak, st.live)
        if total is not None:
            gc.collect()  # as CuPy's pool frees unreferenced blocks before giving up
            with st._lock:
                if st.live + root.nbytes > self.memory:
                    raise OutOfMemoryError(root.nbytes, st.live)
                st.live += root.nbytes
                st.peak = max(st.peak, st.live)
        self._roots[key] = weakref.finalize(root, self._free, key, root.nbytes)

    def _free(self, key, nbytes):
        with self.stats._lock:
            self.stats.live -= nbytes
        self._roots.pop(key, None)

    # ---------------------------------------------------------------- modules
    def install(self):
        """Put the emulated modules in ``sys.modules`` (the originals are kept)."""
        if self._saved is None:
            self._saved = {k: sys.modules.get(k) for k in self.modules}
        sys.modules.update(self.modules)
        _clear_backend_caches()
        return self

    def uninstall(self):
        """Restore the modules found at :meth:`install` (real CuPy, or none)."""
        if self._saved is None:
            return
        for name, mod in self._saved.items():
            if mod is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = mod
        self._saved = None
        _clear_backend_caches()


def _clear_backend_caches():
    backend = sys.modules.get("hyperinsync.backend")
    if backend is not None:
        backend._cupy_status.cache_clear()


# ====================================================================== arrays
class ndarray:  # noqa: N801  (CuPy's name)
    """A device array: a NumPy array that only explicit transfers can reach."""

    __array_priority__ = 100.0
    __hash__ = None

    def __init__(self, shape, dtype=float, *args, **kwargs):
        # CuPy allows ndarray(shape, dtype); hyperinsync never builds arrays that way
        raise TypeError("create emulated device arrays with cupy.empty/zeros/asarray")

    @classmethod
    def _wrap(cls, emu, a):
        if not isinstance(a, np.ndarray):
            a = np.asarray(a)
        emu._register(a)
        obj = object.__new__(cls)
        obj._a = a
        obj._emu = emu
        return obj

    # --- what real CuPy refuses
    def __array__(self, dtype=None, copy=None):
        raise TypeError(IMPLICIT)

    def __index__(self):  # CuPy arrays have no __index__
        raise TypeError(f"'{type(self).__name__}' object cannot be interpreted as an integer")

    # --- explicit transfers
    def get(self, stream=None, order="C", out=None, blocking=True):
        self._emu.stats._record("d2h", self._a.nbytes)
        if out is not None:
            out[...] = self._a
            return out
        return np.array(self._a, order=order)

    def set(self, arr, stream=None):
        if not isinstance(arr, np.ndarray):
            raise TypeError(f"Only numpy.ndarray can be set to cupy.ndarray, got {type(arr)}")
        self._emu.stats._record("h2d", arr.nbytes)
        self._a[...] = arr

    def _scalar(self, conv):
        self._emu.stats._record("scalar_read")
        return conv(self._a)

    def item(self):
        self._emu.stats._record("scalar_read")
        return self._a.item()

    def tolist(self):
        self._emu.stats._record("d2h", self._a.nbytes)
        return self._a.tolist()

    def __float__(self):
        return self._scalar(float)

    def __int__(self):
        return self._scalar(int)

    def __complex__(self):
        return self._scalar(complex)

    def __bool__(self):
        return self._scalar(bool)

    def __repr__(self):
        self._emu.stats._record("d2h", self._a.nbytes)
        return repr(self._a)

    def __str__(self):
        self._emu.stats._record("d2h", self._a.nbytes)
        return str(self._a)

    def __format__(self, spec):
        if self._a.ndim == 0:
            return format(self._scalar(lambda a: a[()]), spec)
        return format(str(self), spec)

    # --- attributes
    shape = property(lambda self: self._a.shape)
    ndim = property(lambda self: self._a.ndim)
    dtype = property(lambda self: self._a.dtype)
    size = property(lambda self: self._a.size)
    nbytes = property(lambda self: self._a.nbytes)
    itemsize = property(lambda self: self._a.itemsize)
    strides = property(lambda self: self._a.strides)
    flags = property(lambda self: self._a.flags)
    T = property(lambda self: self._w(self._a.T))
    mT = property(lambda self: self._w(np.swapaxes(self._a, -1, -2)))
    device = property(lambda self: self._emu.cupy.cuda.Device(0))

    @property
    def real(self):
        return self._w(self._a.real)

    @property
    def imag(self):
        return self._w(self._a.imag)

    @property
    def base(self):
        return None

    @property
    def __cuda_array_interface__(self):
        return dict(
            shape=self._a.shape,
            typestr=self._a.dtype.str,
            data=(self._a.__array_interface__["data"][0], False),
            strides=None,
            version=3,
        )

    def __len__(self):
        return len(self._a)

    def __iter__(self):
        if self._a.ndim == 0:
            raise TypeError("iteration over a 0-d array")
        return (self[i] for i in range(len(self._a)))

    def _w(self, a):
        return _wrap_out(self._emu, a)

    # --- indexing
    def __getitem__(self, key):
        k = _index(self._emu, key)
        out = self._a[k]
        if not isinstance(out, np.ndarray):  # a 0-d view, never a NumPy scalar
            out = self._a[(k if isinstance(k, tuple) else (k,)) + (Ellipsis,)]
        return self._w(out)

    def __setitem__(self, key, value):
        k = _index(self._emu, key)
        advanced = _is_advanced(key)
        if isinstance(value, ndarray):
            v = value._a
        elif isinstance(value, np.ndarray):
            if value.ndim and not advanced:
                raise ValueError("non-scalar numpy.ndarray cannot be used for fill")
            if value.ndim:
                self._emu.stats._record("h2d", value.nbytes)
            v = value
        elif isinstance(value, _PY_SCALARS + (np.generic,)):
            v = value
        else:
            raise TypeError(f"Unsupported type {type(value)}")
        self._a[k] = v

    # --- arithmetic, through the ufuncs
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        emu = self._emu
        if any(getattr(type(x), "__array_ufunc__", True) is None for x in inputs):
            return NotImplemented
        args = [_operand(emu, x) for x in inputs]
        out = kwargs.get("out")
        if out is not None:
            kwargs["out"] = tuple(_operand(emu, o) for o in out)
        res = getattr(ufunc, method)(*args, **kwargs)
        if out is not None:
            return out[0] if len(out) == 1 else out
        return _wrap_out(emu, res)

    def __array_function__(self, func, types_, args, kwargs):
        impl = _dispatch(self._emu, func)
        if impl is None:
            return NotImplemented
        return impl(*args, **kwargs)


def _method(name):
    def method(self, *args, **kwargs):
        emu = self._emu
        args = [_operand(emu, a, method=True) for a in args]
        kwargs = {k: _operand(emu, v, method=True) for k, v in kwargs.items()}
        return _wrap_out(emu, getattr(self._a, name)(*args, **kwargs))

    method.__name__ = name
    return method


for _name in (
    "sum",
    "mean",
    "max",
    "min",
    "any",
    "all",
    "prod",
    "std",
    "var",
    "argmax",
    "argmin",
    "cumsum",
    "cumprod",
    "conj",
    "conjugate",
    "reshape",
    "transpose",
    "swapaxes",
    "ravel",
    "flatten",
    "squeeze",
    "astype",
    "copy",
    "fill",
    "clip",
    "round",
    "nonzero",
    "repeat",
    "take",
    "dot",
    "view",
    "diagonal",
    "trace",
    "sort",
    "argsort",
    "partition",
    "argpartition",
):
    setattr(ndarray, _name, _method(_name))


def _binop(ufunc, reflected=False, inplace=False):
    def op(self, other):
        if getattr(type(other), "__array_ufunc__", True) is None:
            return NotImplemented
        if not isinstance(other, (ndarray, np.ndarray, np.generic) + _PY_SCALARS):
            return NotImplemented
        if inplace:
            return self.__array_ufunc__(ufunc, "__call__", self, other, out=(self,))
        pair = (other, self) if reflected else (self, other)
        return self.__array_ufunc__(ufunc, "__call__", *pair)

    return op


for _op, _uf in (
    ("add", np.add),
    ("sub", np.subtract),
    ("mul", np.multiply),
    ("truediv", np.true_divide),
    ("floordiv", np.floor_divide),
    ("mod", np.remainder),
    ("pow", np.power),
    ("matmul", np.matmul),
    ("and", np.bitwise_and),
    ("or", np.bitwise_or),
    ("xor", np.bitwise_xor),
    ("lshift", np.left_shift),
    ("rshift", np.right_shift),
):
    setattr(ndarray, f"__{_op}__", _binop(_uf))
    setattr(ndarray, f"__r{_op}__", _binop(_uf, reflected=True))
    setattr(ndarray, f"__i{_op}__", _binop(_uf, inplace=True))
for _op, _uf in (
    ("eq", np.equal),
    ("ne", np.not_equal),
    ("lt", np.less),
    ("le", np.less_equal),
    ("gt", np.greater),
    ("ge", np.greater_equal),
):
    setattr(ndarray, f"__{_op}__", _binop(_uf))
for _op, _uf in (
    ("abs", np.absolute),
    ("neg", np.negative),
    ("pos", np.positive),
    ("invert", np.invert),
):
    setattr(
        ndarray,
        f"__{_op}__",
        (lambda uf: lambda self: self.__array_ufunc__(uf, "__call__", self))(_uf),
    )
ndarray.__module__ = "cupy"  # hyperinsync recognises CuPy arrays by their type's module


def _is_advanced(key):
    keys = key if isinstance(key, tuple) else (key,)
    return any(isinstance(k, (ndarray, np.ndarray, list)) for k in keys)


def _index(emu, key):
    """An index for the held array: device arrays unwrapped, host index arrays copied up."""

    def one(k):
        if isinstance(k, ndarray):
            return k._a
        if isinstance(k, np.ndarray):
            emu.stats._record("h2d", k.nbytes)  # CuPy copies host indices to the device
            return k
        if isinstance(k, list):
            arr = np.asarray(k)
            emu.stats._record("h2d", arr.nbytes)
            return arr
        return k

    return tuple(one(k) for k in key) if isinstance(key, tuple) else one(key)


def _operand(emu, x, method=False):
    """Unwrap a device operand; refuse host arrays as CuPy does."""
    if isinstance(x, ndarray):
        if x._emu is not emu:
            raise TypeError("arrays of two different emulations")
        return x._a
    if isinstance(x, np.ndarray):
        raise TypeError(f"Unsupported type {type(x)}")
    if isinstance(x, (list, tuple)) and not method:
        return type(x)(_operand(emu, v) for v in x)
    return x


def _wrap_out(emu, res):
    if isinstance(res, tuple):
        return tuple(_wrap_out(emu, r) for r in res)
    if isinstance(res, np.ndarray):
        return ndarray._wrap(emu, res)
    if isinstance(res, np.generic):  # reductions give 0-d device arrays, not scalars
        return ndarray._wrap(emu, np.asarray(res))
    return res


def _dispatch(emu, func):
    """The emulated function for a NumPy function (NEP 18), or None."""
    mod = func.__module__ or ""
    ns = emu.cupy
    for sub in ("fft", "linalg"):
        if mod.startswith(f"numpy.{sub}") or mod.startswith(f"numpy._core.{sub}"):
            ns = getattr(ns, sub)
    return getattr(ns, func.__name__, None)


# ====================================================================== namespace
# NumPy functions that CuPy provides with the same signature (a subset: what array code
# plausibly uses). Anything else is an AttributeError, as a function CuPy lacks would be.
_FUNCTIONS = (
    "abs absolute add subtract multiply divide true_divide floor_divide power remainder mod "
    "negative sqrt square exp expm1 exp2 log log1p log2 log10 sin cos tan arcsin arccos "
    "arctan arctan2 sinh cosh tanh arcsinh arccosh arctanh deg2rad rad2deg degrees radians "
    "hypot angle real imag conj conjugate maximum minimum fmax fmin fabs cbrt reciprocal "
    "logaddexp logaddexp2 copysign trunc fix modf divmod float_power sinc i0 unwrap "
    "nan_to_num heaviside cumprod nancumsum select choose compress extract "
    "sign floor ceil rint around round clip where isfinite isnan isinf signbit logical_and "
    "logical_or logical_not logical_xor equal not_equal less less_equal greater "
    "greater_equal bitwise_and bitwise_or bitwise_xor invert left_shift right_shift "
    "sum prod mean median std var max min amax amin ptp argmax argmin any all cumsum "
    "cumprod nansum nanmean nanmax nanmin nanstd nanvar nanmedian nanargmax nanargmin "
    "percentile quantile count_nonzero average einsum matmul dot vdot inner outer tensordot "
    "kron concatenate stack vstack hstack dstack column_stack split array_split transpose "
    "swapaxes moveaxis rollaxis reshape ravel roll take take_along_axis put_along_axis "
    "repeat tile broadcast_to broadcast_arrays expand_dims squeeze flip fliplr flipud sort "
    "argsort partition searchsorted unique nonzero flatnonzero argwhere diff gradient "
    "convolve interp isclose allclose array_equal ascontiguousarray asfortranarray copy "
    "empty_like zeros_like ones_like full_like trace diagonal tril triu atleast_1d "
    "atleast_2d atleast_3d histogram bincount digitize cov corrcoef"
).split()
_CREATION = "empty zeros ones full arange linspace logspace eye identity".split()
_DTYPES = (
    "bool_ int8 int16 int32 int64 uint8 uint16 uint32 uint64 float16 float32 "
    "float64 complex64 complex128 intp uintp"
).split()
_CONSTANTS = ("pi", "e", "inf", "nan", "newaxis", "euler_gamma")
_PASSTHROUGH = ("dtype", "promote_types", "finfo", "iinfo", "isscalar")
_DTYPE_FUNCS = ["result_type", "can_cast"]
# CuPy functions that accept host arrays and copy them to the device themselves
_HOST_OK = ("einsum",)


def _function(emu, name, module=np):
    """A namespace function: device operands only (host ones copied for ``_HOST_OK``)."""
    func = getattr(module, name)
    host_ok = name in _HOST_OK

    def wrapper(*args, out=None, **kwargs):
        if host_ok:
            args = [_upload(emu, a) if isinstance(a, np.ndarray) else a for a in args]
        args = [_operand(emu, a) for a in args]
        kwargs = {k: _operand(emu, v) for k, v in kwargs.items()}
        if out is None:
            return _wrap_out(emu, func(*args, **kwargs))
        if not isinstance(out, ndarray):
            raise TypeError(f"out must be a cupy.ndarray, got {type(out)}")
        func(*args, out=out._a, **kwargs)
        return out

    wrapper.__name__ = name
    return wrapper


def _upload(emu, a):
    emu.stats._record("h2d", a.nbytes)
    return ndarray._wrap(emu, np.array(a, copy=True))


def _build_modules(emu):
    cp = types.ModuleType("cupy")
    cp.__version__ = "13.3.0+emulated"
    cp.__file__ = __file__
    cp.__path__ = []
    cp.ndarray = ndarray
    cp._emulation = emu
    for name in _FUNCTIONS + _CREATION + _DTYPE_FUNCS:
        if hasattr(np, name):
            setattr(cp, name, _function(emu, name))
    for name in _DTYPES:
        setattr(cp, name, getattr(np, name))
    for name in _CONSTANTS:
        setattr(cp, name, getattr(np, name))
    for name in _PASSTHROUGH:
        setattr(cp, name, getattr(np, name))

    def asarray(a, dtype=None, order=None, *, blocking=False):
        if isinstance(a, ndarray):
            if dtype is None or np.dtype(dtype) == a.dtype:
                return a
            return ndarray._wrap(emu, a._a.astype(dtype))
        if isinstance(a, (list, tuple)) and any(isinstance(v, ndarray) for v in a):
            return cp.stack([asarray(v) for v in a]).astype(dtype or None)
        host = np.array(a, dtype=dtype, order=order or "K", copy=True)
        emu.stats._record("h2d", host.nbytes)
        return ndarray._wrap(emu, host)

    def array(a, dtype=None, copy=True, order="K", ndmin=0):
        out = asarray(a, dtype=dtype)
        if copy and out is a:
            out = out.copy()
        while out.ndim < ndmin:
            out = out[None]
        return out

    def asnumpy(a, stream=None, order="C", out=None, blocking=True):
        if isinstance(a, ndarray):
            return a.get(out=out, order=order)
        return np.asarray(a, order=order)

    def iscomplexobj(x):
        return np.issubdtype(x.dtype, np.complexfloating) if hasattr(x, "dtype") else False

    def get_array_module(*args):
        return cp if any(isinstance(a, ndarray) for a in args) else np

    cp.asarray = asarray
    cp.array = array
    cp.asanyarray = asarray
    cp.asnumpy = asnumpy
    cp.iscomplexobj = iscomplexobj
    cp.isrealobj = lambda x: not iscomplexobj(x)
    cp.get_array_module = get_array_module

    # --- cupy.fft and cupyx.scipy.fft: device input only, no workers
    def fft_module(name, scipy_like):
        mod = types.ModuleType(name)

        def make(fname):
            func = getattr(np.fft, fname)

            def wrapper(x, n=None, axis=-1, norm=None, overwrite_x=False, *, plan=None):
                if not isinstance(x, ndarray):
                    raise TypeError("The input array a must be a cupy.ndarray")
                res = func(x._a, n=n, axis=axis, norm=norm)
                # pocketfft keeps single precision; so does cuFFT
                if x.dtype in (np.float32, np.complex64):
                    res = res.astype(np.complex64 if np.iscomplexobj(res) else np.float32)
                return _wrap_out(emu, res)

            if not scipy_like:

                def wrapper2(a, n=None, axis=-1, norm=None):
                    return wrapper(a, n=n, axis=axis, norm=norm)

                wrapper2.__name__ = fname
                return wrapper2
            wrapper.__name__ = fname
            return wrapper

        for fname in ("fft", "ifft", "rfft", "irfft", "hfft", "ihfft"):
            setattr(mod, fname, make(fname))
        mod.fftfreq = lambda n, d=1.0: _wrap_out(emu, np.fft.fftfreq(n, d))
        mod.rfftfreq = lambda n, d=1.0: _wrap_out(emu, np.fft.rfftfreq(n, d))
        if scipy_like:
            import scipy.fft

            mod.next_fast_len = scipy.fft.next_fast_len
        return mod

    cp.fft = fft_module("cupy.fft", scipy_like=False)
    linalg = types.ModuleType("cupy.linalg")
    for name in ("norm", "inv", "solve", "lstsq", "svd", "eigh", "qr", "det", "pinv"):
        setattr(linalg, name, _function(emu, name, np.linalg))
    cp.linalg = linalg
    lib = types.ModuleType("cupy.lib")
    lib.__path__ = []
    stride = types.ModuleType("cupy.lib.stride_tricks")

    def sliding_window_view(x, window_shape, axis=None, *, subok=False, writeable=False):
        if not isinstance(x, ndarray):
            raise TypeError(f"Unsupported type {type(x)}")
        return ndarray._wrap(
            emu, np.lib.stride_tricks.sliding_window_view(x._a, window_shape, axis=axis)
        )

    def as_strided(x, shape=None, strides=None):
        if not isinstance(x, ndarray):
            raise TypeError(f"Unsupported type {type(x)}")
        return ndarray._wrap(emu, np.lib.stride_tricks.as_strided(x._a, shape, strides))

    stride.sliding_window_view = sliding_window_view
    stride.as_strided = as_strided
    lib.stride_tricks = stride
    cp.lib = lib

    # --- cupy.cuda: devices, memory, synchronisation
    cuda = types.ModuleType("cupy.cuda")
    cuda.__path__ = []

    def device_count():
        if emu.mode == "broken-driver":
            raise CUDARuntimeError(
                "cudaErrorInsufficientDriver: CUDA driver version is "
                "insufficient for CUDA runtime version"
            )
        return 1 if emu.mode == "one-gpu" else 0

    def mem_get_info():
        device_count()
        return (emu.memory - emu.stats.live, emu.memory)

    runtime = types.ModuleType("cupy.cuda.runtime")
    runtime.CUDARuntimeError = CUDARuntimeError
    runtime.getDeviceCount = device_count
    runtime.memGetInfo = mem_get_info
    runtime.getDevice = lambda: 0
    runtime.deviceSynchronize = lambda: None
    runtime.runtimeGetVersion = lambda: 12040
    runtime.driverGetVersion = lambda: 12040
    runtime.getDeviceProperties = lambda i: {
        "name": b"Emulated GPU (tests/_cupy_emulation.py)",
        "totalGlobalMem": emu.memory,
        "major": 9,
        "minor": 0,
        "multiProcessorCount": 1,
    }

    class Device:
        def __init__(self, device=None):
            self.id = 0 if device is None else int(device)
            if self.id >= device_count():
                raise CUDARuntimeError("cudaErrorInvalidDevice: invalid device ordinal")

        mem_info = property(lambda self: mem_get_info())
        compute_capability = "90"

        def synchronize(self):
            pass

        def use(self):
            return self

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

    class _Stream:
        def synchronize(self):
            pass

    class Stream(_Stream):
        null = _Stream()

    memory = types.ModuleType("cupy.cuda.memory")
    memory.OutOfMemoryError = OutOfMemoryError

    class MemoryPool:
        def used_bytes(self):
            return emu.stats.live

        def total_bytes(self):
            return emu.stats.live

        def free_bytes(self):
            return 0  # no cached blocks: freed buffers go straight back

        def free_all_blocks(self, stream=None):
            gc.collect()

        def set_limit(self, size=None, fraction=None):
            if size is not None:
                emu.memory = int(size)

        def get_limit(self):
            return emu.memory

    pool = MemoryPool()
    cp.get_default_memory_pool = lambda: pool
    cp.get_default_pinned_memory_pool = lambda: pool
    cuda.runtime = runtime
    cuda.memory = memory
    cuda.Device = Device
    cuda.Stream = Stream
    cuda.OutOfMemoryError = OutOfMemoryError
    cuda.MemoryPool = MemoryPool
    cuda.is_available = lambda: emu.mode == "one-gpu"
    cp.cuda = cuda
    cp.is_available = cuda.is_available

    cupyx = types.ModuleType("cupyx")
    cupyx.__path__ = []
    scipy_mod = types.ModuleType("cupyx.scipy")
    scipy_mod.__path__ = []
    cufft = fft_module("cupyx.scipy.fft", scipy_like=True)
    scipy_mod.fft = cufft
    cupyx.scipy = scipy_mod
    return {
        "cupy": cp,
        "cupy.fft": cp.fft,
        "cupy.linalg": linalg,
        "cupy.lib": lib,
        "cupy.lib.stride_tricks": stride,
        "cupy.cuda": cuda,
        "cupy.cuda.runtime": runtime,
        "cupy.cuda.memory": memory,
        "cupyx": cupyx,
        "cupyx.scipy": scipy_mod,
        "cupyx.scipy.fft": cufft,
    }


def current():
    """The emulation installed as ``cupy`` now, or None (real CuPy, or none)."""
    mod = sys.modules.get("cupy")
    return getattr(mod, "_emulation", None)
