"""Montages bundled with hyperinsync (the ``montages/`` folder, package ``hyperinsync.montages``).

Each bundled montage is an ASA electrode file ``<name>.elc`` whose positions were copied once
from MNE's ``standard_1005`` template (see ``montages/README.md``):

- ``tmsi-mobita-32``: the 32-channel 10-20 cap used with TMSi Mobita amplifiers in dual-EEG
  therapy studies (includes Fpz, POz and the mastoids M1, M2);
- ``standard-32``: a common 32-channel 10-20 layout (with TP9/TP10, PO9/PO10);
- ``standard-64``: a 64-channel 10-10 layout (the actiCAP 64 set).

The files are found with :mod:`importlib.resources`, so they work from an installed package.
"""

from __future__ import annotations

import importlib.resources
import os
from pathlib import Path

import mne

from ._docs import fill_doc
from ._utils import _validate_type, logger, verbose

# the package that holds the bundled montage and ROI files (top-level montages/ installed)
DATA_PACKAGE = "hyperinsync.montages"
_SUFFIX = ".elc"


def data_files():
    """Return the :class:`importlib.resources.abc.Traversable` of the bundled data folder."""
    try:
        return importlib.resources.files(DATA_PACKAGE)
    except ModuleNotFoundError:
        # Python started inside a source checkout imports hyperinsync/ from there, where the
        # data sit in the repository's top-level montages/ (installed as hyperinsync.montages)
        src = Path(__file__).resolve().parents[1] / "montages"
        if (src / "__init__.py").is_file():
            return src
        raise ModuleNotFoundError(
            f"The bundled montage and ROI files ({DATA_PACKAGE}) are missing: reinstall "
            "hyperinsync with `pip install .` (or `pip install hyperinsync`)."
        ) from None


def list_montages():
    """List the names of the bundled montages.

    Returns
    -------
    names : list of str
        Sorted montage names, usable with :func:`read_montage`.
    """
    return sorted(
        entry.name[: -len(_SUFFIX)]
        for entry in data_files().iterdir()
        if entry.name.endswith(_SUFFIX)
    )


def _read_file(fname, label):
    """Read a montage file with MNE, turning any parse failure into a ValueError naming it."""
    try:
        montage = mne.channels.read_custom_montage(fname, head_size=None)
    except Exception as err:  # MNE raises ValueError, RuntimeError, IndexError, ...
        raise ValueError(
            f"Could not read the montage file {label}: {type(err).__name__}: {err}. "
            "Use a format that mne.channels.read_custom_montage reads (e.g. .elc, .sfp)."
        ) from err
    if not montage.ch_names:
        raise ValueError(f"The montage file {label} holds no channel positions.")
    return montage


@verbose
@fill_doc
def read_montage(name_or_path, verbose=None):
    """Read a bundled montage by name, or a montage file by path.

    Parameters
    ----------
    name_or_path : str | path-like
        The name of a bundled montage (see :func:`list_montages`, e.g. ``'tmsi-mobita-32'``)
        or the path to a file that :func:`mne.channels.read_custom_montage` reads.
    %(verbose)s

    Returns
    -------
    montage : mne.channels.DigMontage
        The montage, with positions in meters and, for the bundled files, the fiducials
        (nasion, LPA, RPA) so that ``set_montage`` places the channels in the head frame.

    Raises
    ------
    ValueError
        If the name is neither a bundled montage nor an existing file (the message lists the
        bundled montages), or if the file cannot be parsed (the message names the file).

    Examples
    --------
    >>> montage = hs.read_montage("tmsi-mobita-32")
    >>> montage
    <DigMontage | 0 extras (headshape), 0 HPIs, 3 fiducials, 32 channels>
    >>> montage.ch_names[:4]
    ['Fp1', 'Fpz', 'Fp2', 'F7']
    """
    _validate_type(name_or_path, ("path-like",), "name_or_path")
    available = list_montages()
    if isinstance(name_or_path, str) and name_or_path in available:
        resource = data_files() / f"{name_or_path}{_SUFFIX}"
        with importlib.resources.as_file(resource) as fname:
            montage = _read_file(fname, f"{DATA_PACKAGE}/{resource.name}")
        logger.debug(f"Read bundled montage {name_or_path!r} ({len(montage.ch_names)} ch).")
        return montage
    fname = Path(os.fspath(name_or_path)).expanduser()
    if not fname.is_file():
        raise ValueError(
            f"Unknown montage {os.fspath(name_or_path)!r}: it is neither a bundled montage "
            f"({', '.join(available)}) nor an existing file."
        )
    montage = _read_file(fname, str(fname))
    logger.info(f"Read montage {fname} ({len(montage.ch_names)} channels).")
    return montage


@verbose
@fill_doc
def montage_ch_names(name, verbose=None):
    """Return the channel names of a montage, in the order of its file.

    Parameters
    ----------
    name : str | path-like
        A bundled montage name or a montage file, as in :func:`read_montage`.
    %(verbose)s

    Returns
    -------
    ch_names : list of str
        The EEG channel names (fiducials excluded).

    Examples
    --------
    >>> from hyperinsync.montage import montage_ch_names
    >>> names = montage_ch_names("tmsi-mobita-32")
    >>> len(names), names[:4]
    (32, ['Fp1', 'Fpz', 'Fp2', 'F7'])
    """
    return list(read_montage(name).ch_names)
