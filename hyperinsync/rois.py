"""Regions of interest (ROIs): named groups of EEG channels.

ROI file format (bundled files are ``montages/rois-<name>.txt``; see ``montages/README.md``)::

    # comment; also allowed after an entry
    frontal: Fp1, Fp2, F7, F3, Fz, F4, F8
    central: C3, Cz, C4, FC1, FC2, CP1, CP2

One ROI per line: the ROI name, a colon, and channel names separated by commas. ``#`` starts a
comment and blank lines are ignored. A line without a colon, an ROI without channels, a channel
listed twice in one ROI and a duplicate ROI name are errors that name the file and line.

A file may list channels of several caps (10-20 and 10-10 names): :func:`resolve_rois` keeps,
for a given recording, the channels it has. ``role_rois`` and ``roi_spec`` apply them to a
dyad: each person's ROIs as dyad channel names, and the row and column groups of an analysis.
"""

from __future__ import annotations

import os
from pathlib import Path

from ._docs import fill_doc
from ._utils import _validate_type, logger, verbose
from .montage import DATA_PACKAGE, data_files
from .roles import ROLE_SEP, split_ch_name

_PREFIX, _SUFFIX = "rois-", ".txt"


def list_roi_sets():
    """List the names of the bundled ROI sets.

    Returns
    -------
    names : list of str
        Sorted names (``'default'``, ...), usable with :func:`read_rois`.
    """
    return sorted(
        entry.name[len(_PREFIX) : -len(_SUFFIX)]
        for entry in data_files().iterdir()
        if entry.name.startswith(_PREFIX) and entry.name.endswith(_SUFFIX)
    )


def parse_rois(text, source="<string>"):
    r"""Parse ROI definitions written in the ROI file format.

    Parameters
    ----------
    text : str
        The file content.
    source : str
        Where the text comes from, used in error messages.

    Returns
    -------
    rois : dict of str to list of str
        ``{roi_name: [channel, ...]}`` in the order of the text.

    Examples
    --------
    >>> from hyperinsync.rois import parse_rois
    >>> parse_rois("# my ROIs\nfrontal: Fz, F3, F4   # midline and both sides\ncentral: Cz, C3")
    {'frontal': ['Fz', 'F3', 'F4'], 'central': ['Cz', 'C3']}
    """
    rois, first_line = {}, {}
    for lineno, raw_line in enumerate(text.splitlines(), start=1):
        line = raw_line.split("#", 1)[0].strip()
        if not line:
            continue
        where = f"{source}, line {lineno}"
        if ":" not in line:
            raise ValueError(f"{where}: expected 'name: ch1, ch2, ...', got {raw_line.strip()!r}.")
        name, _, rest = line.partition(":")
        name = name.strip()
        if not name:
            raise ValueError(f"{where}: the ROI name before ':' is empty.")
        if name in rois:
            raise ValueError(
                f"{where}: duplicate ROI name {name!r} (first defined on line {first_line[name]})."
            )
        channels = [ch.strip() for ch in rest.split(",")]
        channels = [ch for ch in channels if ch]
        if not channels:
            raise ValueError(f"{where}: ROI {name!r} lists no channels.")
        seen = set()
        for ch in channels:
            if ch.lower() in seen:
                raise ValueError(f"{where}: ROI {name!r} lists channel {ch!r} twice.")
            seen.add(ch.lower())
        rois[name] = channels
        first_line[name] = lineno
    if not rois:
        raise ValueError(f"{source}: no ROI defined (expected lines 'name: ch1, ch2, ...').")
    return rois


@verbose
@fill_doc
def read_rois(name_or_path="default", verbose=None):
    """Read a bundled ROI set by name, or an ROI file by path.

    Parameters
    ----------
    name_or_path : str | path-like
        The name of a bundled ROI set (see :func:`list_roi_sets`; ``'default'`` holds
        frontal, central, parietal, occipital and temporal) or the path to an ROI file.
    %(verbose)s

    Returns
    -------
    rois : dict of str to list of str
        ``{roi_name: [channel, ...]}`` in file order.

    Raises
    ------
    ValueError
        If the name is neither a bundled set nor an existing file (the message lists the
        bundled sets), or if the file is malformed (the message names the file and line).
    """
    _validate_type(name_or_path, ("path-like",), "name_or_path")
    available = list_roi_sets()
    if isinstance(name_or_path, str) and name_or_path in available:
        resource = data_files() / f"{_PREFIX}{name_or_path}{_SUFFIX}"
        text = resource.read_text(encoding="utf-8")
        return parse_rois(text, source=f"{DATA_PACKAGE}/{resource.name}")
    fname = Path(os.fspath(name_or_path)).expanduser()
    if not fname.is_file():
        raise ValueError(
            f"Unknown ROI set {os.fspath(name_or_path)!r}: it is neither a bundled ROI set "
            f"({', '.join(available)}) nor an existing file."
        )
    rois = parse_rois(fname.read_text(encoding="utf-8"), source=str(fname))
    logger.info(f"Read {len(rois)} ROIs from {fname}.")
    return rois


def check_roi_dict(rois):
    """Validate a user ROI dict and return a copy with lists of str."""
    out = {}
    for name, channels in rois.items():
        _validate_type(name, str, "ROI name")
        if isinstance(channels, str):
            raise TypeError(
                f"ROI {name!r} must be a list of channel names, got the string {channels!r}."
            )
        channels = list(channels)
        if not channels:
            raise ValueError(f"ROI {name!r} lists no channels.")
        for ch in channels:
            _validate_type(ch, str, f"channel of ROI {name!r}")
        out[name] = channels
    if not out:
        raise ValueError("rois is an empty dict: give at least one {name: [channels]}.")
    return out


def channel_matcher(ch_names):
    """Return a function mapping a channel name to its spelling in ch_names (or None)."""
    exact = set(ch_names)
    folded = {}
    for ch in ch_names:
        folded.setdefault(ch.lower(), []).append(ch)

    def match(ch):
        if ch in exact:
            return ch
        candidates = folded.get(ch.lower(), [])
        if len(candidates) > 1:
            raise ValueError(
                f"Channel {ch!r} matches several channels case-insensitively: {candidates}."
            )
        return candidates[0] if candidates else None

    return match


@verbose
@fill_doc
def resolve_rois(rois, ch_names, *, min_channels=1, verbose=None):
    """Restrict ROI definitions to the channels of a recording.

    Parameters
    ----------
    rois : None | str | path-like | dict
        ``None`` or ``'default'`` for the bundled default ROIs, the name of another bundled
        ROI set, the path to an ROI file, or a dict ``{roi_name: [channel, ...]}``.
    ch_names : list of str
        The channel names of one participant (plain names such as ``'Fz'``, not dyad names).
    min_channels : int
        ROIs with fewer channels present are dropped (and logged).
    %(verbose)s

    Returns
    -------
    rois : dict of str to list of str
        ``{roi_name: [channel, ...]}`` with only the channels present, spelled as in
        ``ch_names`` (names match case-insensitively), in ROI order.

    Raises
    ------
    ValueError
        If no ROI keeps ``min_channels`` channels; the message lists the ROIs and the channels
        available.

    Examples
    --------
    The bundled ROIs, restricted to the channels a recording has:

    >>> hs.resolve_rois("default", ["Fz", "Cz", "C3", "Pz", "O1"])
    {'frontal': ['Fz'], 'central': ['C3', 'Cz'], 'parietal': ['Pz'], 'occipital': ['O1']}
    >>> hs.resolve_rois({"left": ["C3", "CP5"], "right": ["C4"]}, ["C3", "C4"])
    {'left': ['C3'], 'right': ['C4']}
    """
    _validate_type(min_channels, "int", "min_channels")
    if min_channels < 1:
        raise ValueError(f"min_channels must be at least 1, got {min_channels}.")
    ch_names = list(ch_names)
    for ch in ch_names:
        _validate_type(ch, str, "channel name")
    if rois is None:
        rois = "default"
    if isinstance(rois, dict):
        definitions = check_roi_dict(rois)
    else:
        definitions = read_rois(rois)
    match = channel_matcher(ch_names)
    out = {}
    for name, channels in definitions.items():
        present = []
        for ch in channels:
            found = match(ch)
            if found is not None and found not in present:
                present.append(found)
        if len(present) < min_channels:
            logger.info(
                f"Dropping ROI {name!r}: {len(present)} of its {len(channels)} channels "
                f"present ({', '.join(present) or 'none'}), fewer than "
                f"min_channels={min_channels}."
            )
            continue
        out[name] = present
    if not out:
        listed = "; ".join(f"{n}: {', '.join(c)}" for n, c in definitions.items())
        raise ValueError(
            f"No ROI has at least {min_channels} of its channels in the data. ROIs: {listed}. "
            f"Channels available: {', '.join(ch_names) or 'none'}."
        )
    return out


def role_rois(rois, names, roles, *, verbose=None):
    """ROIs of each person, ``{role: {label: [dyad channel names]}}``, among ``names``.

    ``rois`` as everywhere (:func:`resolve_rois`: a bundled set, a file or
    a dict, restricted to the channels present); ``None``: every channel is its own ROI.
    Roles without a channel in ``names`` are left out.
    """
    out = {}
    for role in roles:
        plain = [split_ch_name(n)[1] for n in names if split_ch_name(n)[0] == role]
        if not plain:
            continue
        if rois is None:
            groups = {p: [p] for p in plain}
        else:
            try:
                groups = resolve_rois(rois, plain, verbose=verbose)
            except ValueError as err:
                raise ValueError(
                    f"{err} (role {role!r}). Pass rois=None to analyse channel pairs "
                    "without ROIs, or a dict {roi_name: [channel, ...]}."
                ) from None
        out[role] = {label: [f"{role}{ROLE_SEP}{c}" for c in chs] for label, chs in groups.items()}
    return out


def roi_spec(rois, rows, cols, roles, pairs):
    """Resolve ROIs per role into row and column groups of channel names (``None``: none)."""
    if rois is None:
        return None

    def groups(names):
        out = {}
        for role, per_role in role_rois(rois, names, roles).items():
            for label, chs in per_role.items():
                key = label if pairs == "inter" else f"{role}{ROLE_SEP}{label}"
                out[key] = chs
        return out

    return {"rows": groups(rows), "cols": groups(cols)}
