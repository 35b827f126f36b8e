"""Shared helpers: atomic writes, argument checks, docstring filling, JSON conversion."""

import datetime
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from hyperinsync._docs import fill_doc
from hyperinsync._utils import (
    atomic_path,
    check_bands,
    check_n_jobs,
    check_seed,
    json_default,
    remove_stale_temp_files,
)


def test_atomic_path_success_and_failure(tmp_path):
    target = tmp_path / "sub" / "out.txt"
    with atomic_path(target) as tmp:
        assert tmp.parent == target.parent and tmp != target
        tmp.write_text("done")
        assert not target.exists()  # nothing visible until the block succeeds
    assert target.read_text() == "done"
    umask = os.umask(0)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask
    with pytest.raises(RuntimeError, match="boom"):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("boom")
    assert target.read_text() == "done"  # the old file is untouched
    assert [p.name for p in target.parent.iterdir()] == ["out.txt"]  # no temp left


def test_atomic_path_never_touches_the_umask(tmp_path, monkeypatch):
    """The process umask is never changed (other threads' files would get mode 0666), yet
    the file gets a new file's usual permissions; a folder is refused as the target.
    """
    old = os.umask(0o027)
    try:

        def no_umask(mask):
            raise AssertionError("os.umask called")

        monkeypatch.setattr(os, "umask", no_umask)
        with atomic_path(tmp_path / "f.txt") as tmp:
            assert (tmp.stat().st_mode & 0o777) == 0o640
            tmp.write_text("x")
        assert (tmp_path / "f.txt").stat().st_mode & 0o777 == 0o640
    finally:
        monkeypatch.undo()
        os.umask(old)
    folder = tmp_path / "folder"
    folder.mkdir()
    with pytest.raises(IsADirectoryError, match="is a folder"):
        with atomic_path(folder):
            pass
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.txt", "folder"]


def test_remove_stale_temp_files(tmp_path):
    """Temporary files of killed writers are removed; a live writer's file is kept."""
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f".r.h5.{dead.pid}.0123abcd.part"
    live = tmp_path / f".r.h5.{os.getpid()}.0123abcd.part"
    other = tmp_path / ".r.h5.notours.part"
    for f in (stale, live, other):
        f.write_text("half")
    assert remove_stale_temp_files(tmp_path) == [stale]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([live.name, other.name])


def test_check_bands():
    assert check_bands(None) == {"theta": (4.0, 8.0), "alpha": (8.0, 13.0)}
    assert check_bands({"beta": [13, 30]}) == {"beta": (13.0, 30.0)}
    with pytest.raises(ValueError, match="empty"):
        check_bands({})
    with pytest.raises(ValueError, match="Nyquist"):
        check_bands({"gamma": (30, 60)}, sfreq=100.0)


def test_check_seed_and_n_jobs():
    rng = np.random.default_rng(1)
    assert check_seed(rng) is rng
    assert check_seed(3).integers(100) == np.random.default_rng(3).integers(100)
    for bad in (1.5, "1", True):
        with pytest.raises(TypeError, match="seed must be"):
            check_seed(bad)
    assert check_n_jobs(None) == 1 and check_n_jobs(2) == 2
    # -1: the cores this process may use (a container or `taskset` may allow fewer than
    # os.cpu_count())
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    assert check_n_jobs(-1) == usable and check_n_jobs(-2) == max(1, usable - 1)
    with pytest.raises(ValueError, match="must not be 0"):
        check_n_jobs(0)


def test_fill_doc_and_json_default():
    @fill_doc
    def f():
        """Do it.

        Parameters
        ----------
        %(n_jobs)s
        """

    assert "n_jobs : int | None" in f.__doc__ and "%(" not in f.__doc__
    obj = dict(a=np.float32(1.5), b=np.arange(3), c=datetime.date(2024, 1, 8), d=Path("x/y"))
    assert json.loads(json.dumps(obj, default=json_default)) == dict(
        a=1.5, b=[0, 1, 2], c="2024-01-08", d="x/y"
    )
    with pytest.raises(TypeError, match="Cannot store a object"):
        json.dumps(object(), default=json_default)


def test_fill_doc_fills_and_refuses_a_missing_entry():
    from hyperinsync._docs import docdict, fill_doc

    def documented(bands=None):
        """Do something.

        Parameters
        ----------
        %(bands)s
        """

    fill_doc(documented)
    assert docdict["bands"].splitlines()[1].strip() in documented.__doc__
    assert "%(" not in documented.__doc__

    def undocumented(x):
        """Do something.

        Parameters
        ----------
        %(no_such_parameter)s
        """

    with pytest.raises(RuntimeError, match="no_such_parameter.*docdict"):
        fill_doc(undocumented)


def test_fill_doc_on_a_class_fills_its_methods():
    from hyperinsync._docs import docdict, fill_doc

    @fill_doc
    class Documented:
        """A class.

        Parameters
        ----------
        %(seed)s
        """

        def method(self, n_jobs=1):
            """Do something.

            Parameters
            ----------
            %(n_jobs)s
            """

        def plain(self):
            """Do something else (100 % plain: no placeholder, left alone)."""

    for obj, key in ((Documented, "seed"), (Documented.method, "n_jobs")):
        assert "%(" not in obj.__doc__, obj
        assert docdict[key].splitlines()[1].strip() in obj.__doc__
    # the method's entry is indented as its own docstring, not as the class's
    entry = docdict["n_jobs"].splitlines()[1].strip()
    assert "\n" + " " * 16 + entry in Documented.method.__doc__
    assert Documented.plain.__doc__.startswith("Do something else (100 % plain")


@pytest.mark.skipif(
    platform.libc_ver()[0] != "glibc" or not Path("/proc/self/statm").exists(),
    reason="malloc_trim is glibc's (Linux)",
)
def test_release_freed_memory_returns_the_heap():
    """A study's worker gives back what glibc kept of its freed arrays (malloc_trim)."""
    from hyperinsync._utils import release_freed_memory

    def rss_mib():
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20

    big = np.ones(30 * 2**20 // 8)  # freeing it raises glibc's mmap threshold to 30 MB:
    del big
    blocks = [np.ones(4 * 2**20 // 8) for _ in range(25)]  # 100 MB of 4-MB blocks on the heap
    del blocks[:-1]  # freed, but kept by the allocator for reuse
    before = rss_mib()
    release_freed_memory()
    assert before - rss_mib() > 50
