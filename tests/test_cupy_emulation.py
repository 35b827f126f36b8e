"""The CuPy emulation itself: CuPy's rules, transfer counts, device modes, memory.

Checked against the reference stand-in in ``../shared/tools/fakecupy`` (its behaviours
come from CuPy's source) on a set of probes, when ``../shared`` is present.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.signal
from _cupy_emulation import IMPLICIT, Emulation, OutOfMemoryError
from conftest import gpu_step_only

pytestmark = [pytest.mark.gpu, gpu_step_only()]
HERE = Path(__file__).parent
FAKECUPY = HERE.parent.parent / "shared" / "tools" / "fakecupy"

# probes of CuPy's rules: each prints "ok:<module>.<type>" or "err:<exception type>"
PROBES = r"""
import json, sys
import numpy as np
import pytest, scipy.signal
import cupy as cp
import cupyx.scipy.fft as cufft

x = cp.arange(6.0).reshape(2, 3)
h = np.arange(3.0)
probes = {
    "np.asarray(d)": lambda: np.asarray(x),
    "np.array([d, d])": lambda: np.array([x, x]),
    "host[:] = d": lambda: h.__setitem__(slice(None), x[0]),
    "d + host": lambda: x + h,
    "host + d": lambda: h + x,
    "d * 0-d host": lambda: x * np.array(2.0),
    "d * np.float32": lambda: x * np.float32(2),
    "d * 2.0": lambda: x * 2.0,
    "concatenate(d, host)": lambda: cp.concatenate([x[0], h]),
    "matmul(d, host)": lambda: cp.matmul(x, h),
    "rfft(host)": lambda: cufft.rfft(h),
    "rfft(workers=2)": lambda: cufft.rfft(x, workers=2),
    "d[a:b] = host": lambda: x.__setitem__((0, slice(None)), h),
    "d[host index]": lambda: x[:, np.array([0, 2])],
    "d.sum()": lambda: x.sum(),
    "d[0, 0]": lambda: x[0, 0],
    "float(0-d)": lambda: float(x.sum()),
    "float(2-d)": lambda: float(x),
    "int(d[0, 0])": lambda: int(x[0, 0]),
    "bool(2-d)": lambda: bool(x),
    "range(d0)": lambda: range(x[0, 0]),
    "np.mean(d)": lambda: np.mean(x, axis=0),
    "np.exp(d)": lambda: np.exp(x),
    "np.where(d > 0, d, 0)": lambda: np.where(x > 0, x, 0),
    "np.nanmax(d)": lambda: np.nanmax(x),
    "einsum(d, host)": lambda: cp.einsum("ij,j->i", x, np.ones(3)),
    "0-d == approx": lambda: x.sum() == pytest.approx(15.0),
    "scipy hilbert(d)": lambda: scipy.signal.hilbert(x),
    "rfft(float32)": lambda: cufft.rfft(cp.ones(8, dtype=cp.float32)).dtype.name,
    "asnumpy(d)": lambda: cp.asnumpy(x),
    "d.get()": lambda: x.get(),
    "list(d)": lambda: list(x)[0],
    "iscomplexobj(d)": lambda: cp.iscomplexobj(x),
}
out = {}
for name, f in probes.items():
    try:
        r = f()
        out[name] = "ok:" + (r if isinstance(r, str) else
                             type(r).__module__.split(".")[0] + "." + type(r).__name__)
    except Exception as e:
        out[name] = "err:" + type(e).__name__
print(json.dumps(out))
"""


def _probe(prelude, env):
    res = subprocess.run(
        [sys.executable, "-c", prelude + PROBES],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=120,
    )
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(not FAKECUPY.is_dir(), reason="needs ../shared/tools/fakecupy")
def test_emulation_agrees_with_the_reference_stand_in():
    ours = _probe(
        f"import sys; sys.path.insert(0, {str(HERE)!r})\n"
        "from _cupy_emulation import Emulation; Emulation().install()\n",
        {},
    )
    ref = _probe("", {"PYTHONPATH": str(FAKECUPY), "FAKECUPY_NDEV": "1"})
    assert ours == ref
    # and the probes do test something: refusals and device results both occur
    assert ours["np.asarray(d)"] == "err:TypeError" and ours["d.sum()"] == "ok:cupy.ndarray"
    assert ours["rfft(float32)"] == "ok:complex64"


def test_cupy_rules():
    cp = Emulation().cupy
    x = cp.arange(6.0).reshape(2, 3)
    with pytest.raises(TypeError, match="Implicit conversion"):
        np.asarray(x)
    with pytest.raises(TypeError, match="Implicit conversion"):
        scipy.signal.hilbert(x)
    with pytest.raises(TypeError, match="Unsupported type"):
        x + np.arange(3.0)
    with pytest.raises(ValueError, match="non-scalar numpy.ndarray"):
        x[0, :] = np.arange(3.0)
    with pytest.raises(TypeError):
        float(x)  # more than one element, as in NumPy and CuPy
    assert isinstance(x.sum(), cp.ndarray) and x.sum().ndim == 0
    assert float(x.sum()) == 15.0
    assert IMPLICIT.startswith("Implicit conversion to a NumPy array is not allowed")


def test_transfers_are_counted():
    emu = Emulation()
    cp, st = emu.cupy, emu.stats
    d = cp.asarray(np.ones(10))  # 80 bytes up
    d2 = d * 2 + 1  # on the device: nothing moves
    d2.get()
    cp.asnumpy(d2[:4])
    float(d2.sum())
    d[np.array([0, 1])] = np.array([5.0, 6.0])  # host index and values go up
    snap = st.snapshot()
    assert (snap["h2d"], snap["d2h"], snap["scalar_reads"]) == (3, 2, 1)
    assert snap["h2d_bytes"] == 80 + 16 + 16 and snap["d2h_bytes"] == 80 + 32
    assert "test_cupy_emulation.py" in st.report()


def test_device_modes():
    assert Emulation("one-gpu").cupy.cuda.runtime.getDeviceCount() == 1
    assert Emulation("no-gpu").cupy.cuda.runtime.getDeviceCount() == 0
    cp = Emulation("broken-driver").cupy
    with pytest.raises(cp.cuda.runtime.CUDARuntimeError):
        cp.cuda.runtime.getDeviceCount()


def test_device_memory_and_out_of_memory():
    emu = Emulation(memory=1e6)
    cp = emu.cupy
    free0, total = cp.cuda.Device().mem_info
    assert total == 10**6 and free0 == total
    a = cp.zeros(50_000)  # 400 kB
    assert cp.cuda.Device().mem_info[0] == total - 400_000
    view = a[::2]  # views hold no new memory
    assert cp.cuda.Device().mem_info[0] == total - 400_000
    with pytest.raises(cp.cuda.memory.OutOfMemoryError, match="400,000"):
        a * 2 + cp.ones(50_000)  # 3 x 400 kB at once do not fit
    assert issubclass(OutOfMemoryError, MemoryError)
    del a, view
    assert cp.cuda.Device().mem_info[0] == total  # freed with its last reference
    assert emu.stats.peak >= 800_000


def test_install_and_backend(monkeypatch):
    from hyperinsync.backend import get_backend

    monkeypatch.delenv("HYPERINSYNC_BACKEND", raising=False)
    saved = sys.modules.get("cupy")
    for mode, name in (("one-gpu", "cupy"), ("no-gpu", "numpy")):
        emu = Emulation(mode).install()
        try:
            assert get_backend("auto").name == name
        finally:
            emu.uninstall()
    assert sys.modules.get("cupy") is saved
