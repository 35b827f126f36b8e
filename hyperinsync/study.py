'''Studies: a description of many dyads and sessions, and the runner that analyses them.

A study is written in a TOML file (:meth:`Study.from_toml`) or built in Python
(:class:`Study`, same keys as keyword arguments). :meth:`Study.run` analyses every recording
(read and align, or simulate -> :func:`~hyperinsync.sync.compute_sync` per segment ->
surrogate test -> In-Sync Levels 1-2), in parallel with joblib or a Dask cluster, then the
group statistics (group contrast, questionnaire correlations, real vs pseudo-dyads, Level 3
trends), and writes one HDF5 results file (layout in :mod:`hyperinsync.results_io`).
Re-running resumes: a recording whose part file is complete and whose input file hashes and
parameters are unchanged is not recomputed.

Study file format
-----------------
A complete example (also returned by :func:`example_study_toml`); every table except
``[study]`` and one of ``[[dyads]]`` / ``[simulate]`` is optional::

    # hyperinsync study file
    [study]
    name = "therapy-pilot"
    roles = ["therapist", "client"]      # the two roles, as in the channel names
    groups = ["mindful", "non-mindful"]  # optional: allowed group labels (catches typos)
    data_dir = "data"                    # file paths are relative to it (itself relative
                                         # to this file); default: this file's folder

    [reader]                  # defaults for every recording; a session's `reader` overrides
    format = "auto"           # auto | poly5 | xdf | fif | split | mne
    sync = "events"           # two files: align on sync pulses ("events") or on "start"
    stim_channel = "TRIGGERS" # two files: channel with the sync pulses
    montage = "tmsi-mobita-32"

    [analysis]                # passed to hyperinsync.compute_sync
    bands = { theta = [4, 8], alpha = [8, 13] }
    measures = ["plv"]
    rois = "default"          # a bundled ROI set, an ROI file, or { name = [channels] }
    segments = ["rest_pre", "session", "rest_post"]  # annotation descriptions; "all" = whole
    epoch_duration = 2.0
    method = "fft"

    [surrogates]              # hyperinsync.surrogates.test_sync; `surrogates = false` skips
    null = "epoch_shuffle"
    n_surrogates = 200
    seed = 1

    [insync]                  # In-Sync levels; a level set to false is skipped
    level1 = { window = 6.0 } # hyperinsync.insync.level1 options
    level2 = {}               # hyperinsync.insync.level2 options
    level3 = {}               # hyperinsync.insync.level3 options

    [statistics]              # group level
    n_permutations = 5000
    seed = 2
    rois = ["frontal", "central"]         # same-ROI pairs to test (default: all)
    feature = "corrected"                 # per-dyad value: corrected | z | raw (see below)
    correction = "fdr"                    # over the features: fdr | maxstat | false
    statistic = "welch"                   # permuted group statistic: welch | F
    ci = 0.95                             # level of the confidence intervals
    contrast = "group"                    # compare the dyads' groups; false: skip
    mixed = true                          # group x segment x band x ROI mixed model
    differences = { alliance_gap = ["WAI_T", "WAI_C"] }  # derived: WAI_T - WAI_C
    correlate = ["alliance_gap"]          # per-dyad variables correlated with synchrony
    pseudo_dyads = { n_surrogates = 100 } # real vs pseudo-dyads (first sessions); false: skip

    [[dyads]]
    name = "dyad01"
    group = "mindful"
    variables = { WAI_T = 70, WAI_C = 66 }
      [[dyads.sessions]]
      index = 0
      date = 2024-01-08
      files = { therapist = "dyad01/therapist.Poly5", client = "dyad01/client.Poly5" }
      [[dyads.sessions]]
      index = 1
      date = 2024-01-15
      file = "dyad01/session1.xdf"        # one file holding both people
      reader = { format = "xdf", streams = ["EEG-therapist", "EEG-client"] }

    [[dyads]]
    name = "dyad02"
    group = "non-mindful"
    variables = { WAI_T = 61, WAI_C = 68 }
      [[dyads.sessions]]
      index = 0
      file = "dyad02/session0.Poly5"      # one amplifier, two caps
        [dyads.sessions.reader]
        format = "split"
        pattern = '(?P<name>.+)_(?P<role>[12])$'
        role_map = { "1" = "therapist", "2" = "client" }

Instead of ``[[dyads]]``, a ``[simulate]`` table (the arguments of
:func:`hyperinsync.simulate_study`, e.g. ``n_dyads = 14``, ``n_sessions = 2``,
``segments = [["rest_pre", 60], ["session", 120], ["rest_post", 60]]``, ``sfreq = 250``,
``seed = 42``) makes a simulated study: groups, dates and the variables ``WAI_T``, ``WAI_C``
and ``alliance_gap`` come from its design table.

Group statistics
----------------
Every dyad gets one value per *feature*, ``segment/measure/band/roi`` (same-ROI pairs),
averaged over its sessions. Which value is ``[statistics] feature``:

- ``"corrected"`` (default): the observed synchrony minus the mean of the recording's own
  surrogate null (``[surrogates]``), i.e. synchrony above chance in the measure's units.
  Chance synchrony depends on the spectrum (a strong alpha rhythm raises chance PLV in the
  alpha band) and on the epoch length, so raw values of groups that differ only in alpha
  power differ in "synchrony"; corrected values do not.
- ``"z"``: the surrogate z, (observed - null mean) / null SD: unitless, equal spread for
  every recording (also when recordings differ in length).
- ``"raw"``: uncorrected values (no surrogates needed); only comparable between groups with
  the same spectra and recording design.

The group contrast (:func:`hyperinsync.stats.group_contrast`) tests every feature with the
same label permutations, the permuted statistic being Welch's F (``statistic = "welch"``,
robust to groups with different spreads, e.g. recording lengths) or the classical F, and
corrects over the family of all features (segments x measures x bands x ROI pairs) with
Benjamini-Hochberg FDR (``correction = "fdr"``) or the max statistic (``"maxstat"``). It
reports partial eta squared, for two groups the mean difference and Cohen's d, each with
its confidence interval. The questionnaire correlations are corrected over the same family
(per variable) and the Level 3 trends over their features (FDR, or Holm for ``"maxstat"``).
The mixed model (``mixed = true``; :func:`hyperinsync.stats.mixed_model`, statsmodels
MixedLM) analyses the whole design per measure: group (between dyads) x segment x band x ROI
(within), dyad random, with per-term F, partial eta squared and their intervals.

Reader options by source:

- ``files = {role: path}`` (two amplifiers): :func:`hyperinsync.io.align.read_dyad` with
  ``sync``, ``stim_channel``, ``event_id``, ``annotation``, ``tolerance_ms``, ``montage``,
  ``reader_kwargs``.
- ``file`` with ``format = "xdf"`` (or a ``.xdf`` file): :func:`hyperinsync.io.xdf.read_dyad_xdf`
  with ``streams``, ``select_by``, ``sfreq``, ``markers``, ``gap_threshold``, ``montage``.
- ``file`` with ``format = "split"`` (or ``pattern``/``mapping`` given):
  :func:`hyperinsync.io.split.split_dyad` with ``pattern``, ``mapping``, ``role_map``,
  ``shared``, ``shared_to``, ``montage``, ``reader_kwargs``.
- ``file`` with ``format = "fif"`` (or a ``.fif`` file): a saved dyad
  (:func:`hyperinsync.read_dyad_raw`).
'''

from __future__ import annotations

import functools
import hashlib
import inspect
import json
import platform
import time
from copy import deepcopy
from pathlib import Path

import mne
import numpy as np

from ._utils import ProgressBar, _validate_type, check_n_jobs, logger, verbose, warn
from .results_io import (
    part_name,
    read_part,
    read_part_header,
    read_results,
    to_json,
    write_part,
    write_results,
)

_TOP_KEYS = ("study", "reader", "analysis", "surrogates", "insync", "statistics", "dyads",
             "simulate")
_STUDY_KEYS = ("name", "roles", "groups", "data_dir")
_DYAD_KEYS = ("name", "group", "variables", "sessions")
_SESSION_KEYS = ("index", "date", "files", "file", "reader", "variables")
_ANALYSIS_KEYS = ("bands", "measures", "rois", "segments", "epoch_duration", "overlap",
                  "method", "convention", "reject_by_annotation", "precision", "backend")
_SURROGATE_KEYS = ("null", "n_surrogates", "seed")
_INSYNC_KEYS = ("level1", "level2", "level3")
_STAT_KEYS = ("n_permutations", "seed", "rois", "feature", "correction", "statistic", "ci",
              "contrast", "differences", "correlate", "mixed", "pseudo_dyads")
_READER_BY_MODE = {
    "files": ("sync", "stim_channel", "event_id", "annotation", "tolerance_ms", "montage",
              "reader_kwargs"),
    "xdf": ("streams", "select_by", "sfreq", "markers", "gap_threshold", "montage"),
    "split": ("pattern", "mapping", "role_map", "shared", "shared_to", "montage",
              "reader_kwargs"),
    "fif": (),
}
_READER_KEYS = ("format",) + tuple(
    dict.fromkeys(k for keys in _READER_BY_MODE.values() for k in keys)
)
_FORMATS = ("auto", "poly5", "xdf", "fif", "split", "mne")

DEFAULT_ANALYSIS = dict(
    bands={"theta": [4.0, 8.0], "alpha": [8.0, 13.0]},
    measures=["plv"],
    rois="default",
    segments=["all"],
    epoch_duration=2.0,
)
DEFAULT_SURROGATES = dict(null="epoch_shuffle", n_surrogates=200, seed=0)
DEFAULT_STATISTICS = dict(n_permutations=5000, seed=0, rois=None, feature="corrected",
                          correction="fdr", statistic="welch", ci=0.95, contrast="group",
                          differences={}, correlate=[], mixed=True, pseudo_dyads={})


class StudyError(ValueError):
    """A study description that cannot be run (unknown keys, missing files, bad roles)."""


def _check_keys(d, valid, where):
    if not isinstance(d, dict):
        raise StudyError(f"{where} must be a table (dict), got {type(d).__name__}.")
    unknown = [k for k in d if k not in valid]
    if unknown:
        raise StudyError(
            f"Unknown key(s) {unknown} in {where}. Valid keys: {', '.join(valid)}."
        )


def _optional(value, default, where):
    """A section that may be ``false`` (skip), missing (defaults) or a table."""
    if value is False:
        return None
    if value is None or value is True:
        return deepcopy(default)
    if not isinstance(value, dict):
        raise StudyError(f"{where} must be a table or false, got {value!r}.")
    out = deepcopy(default)
    out.update(value)
    return out


def example_study_toml():
    """Return the complete example study file of the module docstring.

    Returns
    -------
    text : str
        TOML text describing a two-dyad study with every section.
    """
    doc = __doc__
    start = doc.index("    # hyperinsync study file")
    end = doc.index("\nInstead of ``[[dyads]]``")
    lines = doc[start:end].rstrip().splitlines()
    return "\n".join(line[4:] for line in lines) + "\n"


def _load_toml(path):
    try:
        import tomllib
    except ImportError:  # Python 3.10
        import tomli as tomllib
    with open(path, "rb") as fid:
        try:
            return tomllib.load(fid)
        except tomllib.TOMLDecodeError as err:
            raise StudyError(f"{path} is not valid TOML: {err}") from None


def _sha256_file(path, chunk=1 << 20):
    h = hashlib.sha256()
    with open(path, "rb") as fid:
        for block in iter(lambda: fid.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


def _sha256_json(obj):
    return hashlib.sha256(to_json(obj).encode()).hexdigest()


def _versions():
    import h5py
    import scipy

    from . import __version__

    out = dict(hyperinsync=__version__, mne=mne.__version__, numpy=np.__version__,
               scipy=scipy.__version__, h5py=h5py.__version__,
               python=platform.python_version())
    try:
        import mne_connectivity

        out["mne_connectivity"] = mne_connectivity.__version__
    except ImportError:
        pass
    return out


def _optional_function(module, name):
    """A function of a sibling module, or None while that module is not there."""
    import importlib

    try:
        return getattr(importlib.import_module(f"hyperinsync.{module}"), name)
    except (ImportError, AttributeError):
        return None


class Study:
    """A hyperscanning study: dyads, sessions, their recordings and the analysis to run.

    Parameters
    ----------
    dyads : list of dict | None
        One dict per dyad: ``name``, ``group``, ``variables`` (``{name: number}``) and
        ``sessions`` (list of dicts with ``index``, ``date``, ``files`` (``{role: path}``) or
        ``file``, ``reader`` (options overriding ``reader``) and ``variables``). ``None``
        when ``simulate`` is given.
    roles : tuple of str
        The two roles; ``files`` keys must be these roles.
    name : str
        Study name.
    groups : list of str | None
        Allowed group labels (``None``: any).
    reader : dict | None
        Default reader options (see the module docstring).
    analysis : dict | None
        Options of :func:`~hyperinsync.sync.compute_sync` plus ``segments``.
    surrogates : dict | bool | None
        Options of ``hyperinsync.surrogates.test_sync``; ``False`` skips surrogates.
    insync : dict | None
        ``{'level1': dict | False, 'level2': ..., 'level3': ...}``: options of
        ``hyperinsync.insync.level1`` etc. (``level1`` also takes ``segment``, the annotation
        to analyse; default the whole recording). A level that is missing or ``None`` runs
        with defaults; ``False`` skips it.
    statistics : dict | None
        Group statistics options (see "Group statistics" in the module docstring); its
        ``feature`` (default ``'corrected'``) needs ``surrogates``.
    simulate : dict | None
        Arguments of :func:`hyperinsync.simulate_study` for a simulated study.
    base_dir : path-like | None
        Folder that relative file paths start from (default: the current folder).
    study_toml : str
        The TOML text the study came from (kept as provenance).

    Raises
    ------
    StudyError
        Unknown keys (the valid ones listed), inconsistent roles, missing files (all listed).
    """

    def __init__(
        self,
        dyads=None,
        *,
        roles=("A", "B"),
        name="study",
        groups=None,
        reader=None,
        analysis=None,
        surrogates=None,
        insync=None,
        statistics=None,
        simulate=None,
        base_dir=None,
        study_toml="",
    ):
        self.name = str(name)
        roles = tuple(roles)
        if len(roles) != 2 or len(set(roles)) != 2 or not all(isinstance(r, str) for r in roles):
            raise StudyError(f"roles must be two different names, got {roles!r}.")
        self.roles = roles
        self.groups = None if groups is None else [str(g) for g in groups]
        self.base_dir = Path.cwd() if base_dir is None else Path(base_dir)
        self.study_toml = study_toml or ""
        self.reader = dict(reader or {})
        _check_keys(self.reader, _READER_KEYS, "[reader]")
        self.analysis = _optional(analysis, DEFAULT_ANALYSIS, "[analysis]")
        _check_keys(self.analysis, _ANALYSIS_KEYS, "[analysis]")
        if isinstance(self.analysis["segments"], str):
            self.analysis["segments"] = [self.analysis["segments"]]
        self.surrogates = _optional(surrogates, DEFAULT_SURROGATES, "[surrogates]")
        if self.surrogates is not None:
            _check_keys(self.surrogates, _SURROGATE_KEYS + self._extra_keys("test_sync"),
                        "[surrogates]")
        insync = dict(insync or {})
        _check_keys(insync, _INSYNC_KEYS, "[insync]")
        self.insync = {lvl: _optional(insync.get(lvl), {}, f"[insync] {lvl}")
                       for lvl in _INSYNC_KEYS}
        for lvl, opts in self.insync.items():
            func = _optional_function("insync", lvl)
            if opts is not None and func is not None:
                skip = {"raw", "verbose", "n_jobs"}
                valid = tuple(p for p in inspect.signature(func).parameters if p not in skip)
                _check_keys(opts, valid + (("segment",) if lvl == "level1" else ()),
                            f"[insync] {lvl}")
        self.statistics = _optional(statistics, DEFAULT_STATISTICS, "[statistics]")
        _check_keys(self.statistics, _STAT_KEYS, "[statistics]")
        _check_statistics(self.statistics, self.surrogates)
        pseudo = self.statistics.get("pseudo_dyads")
        func = _optional_function("surrogates", "pseudo_dyad_test")
        if isinstance(pseudo, dict) and func is not None:
            skip = {"dyads", "bands", "measures", "rois", "verbose", "n_permutations"}
            valid = tuple(p for p in inspect.signature(func).parameters if p not in skip)
            _check_keys(pseudo, valid + ("session",), "[statistics] pseudo_dyads")
        if simulate is not None and dyads:
            raise StudyError("Give either dyads ([[dyads]]) or [simulate], not both.")
        if simulate is None and not dyads:
            raise StudyError("The study has no dyads: add [[dyads]] tables or a [simulate] table.")
        self.simulate = None
        if simulate is not None:
            self.simulate = dict(simulate)
            valid = tuple(p for p in inspect.signature(_simulate_study()).parameters
                          if p not in ("verbose", "roles"))
            _check_keys(self.simulate, valid, "[simulate]")
            self.simulate["roles"] = list(roles)
            if "segments" in self.simulate:
                self.simulate["segments"] = [tuple(s) for s in self.simulate["segments"]]
        self.recordings = self._build_recordings(dyads)
        self.check_files()

    @staticmethod
    def _extra_keys(func_name):
        func = _optional_function("surrogates", func_name)
        if func is None:
            return ()
        skip = {"inst", "bands", "measures", "rois", "verbose", "null", "n_surrogates", "seed"}
        return tuple(p for p in inspect.signature(func).parameters if p not in skip)

    # -- construction ---------------------------------------------------------------------
    @classmethod
    def from_toml(cls, fname):
        """Read a study file.

        Parameters
        ----------
        fname : path-like
            The TOML file (format in the module docstring).

        Returns
        -------
        study : Study
            The study; relative paths start at ``[study] data_dir`` (relative to the file).
        """
        fname = Path(fname)
        if not fname.is_file():
            raise FileNotFoundError(f"No study file at {fname}.")
        d = _load_toml(fname)
        return cls.from_dict(d, base_dir=fname.parent, study_toml=fname.read_text())

    @classmethod
    def from_dict(cls, d, base_dir=None, study_toml=""):
        """Build a study from the parsed TOML structure.

        Parameters
        ----------
        d : dict
            Tables as in the study file.
        base_dir : path-like | None
            Folder of the study file.
        study_toml : str
            The file's text (provenance).

        Returns
        -------
        study : Study
            The study.
        """
        _check_keys(d, _TOP_KEYS, "the study file (top level)")
        head = d.get("study", {})
        _check_keys(head, _STUDY_KEYS, "[study]")
        base = Path.cwd() if base_dir is None else Path(base_dir)
        if "data_dir" in head:
            base = base / head["data_dir"]
        return cls(
            d.get("dyads"),
            roles=tuple(head.get("roles", ("A", "B"))),
            name=head.get("name", "study"),
            groups=head.get("groups"),
            reader=d.get("reader"),
            analysis=d.get("analysis"),
            surrogates=d.get("surrogates"),
            insync=d.get("insync"),
            statistics=d.get("statistics"),
            simulate=d.get("simulate"),
            base_dir=base,
            study_toml=study_toml,
        )

    def _build_recordings(self, dyads):
        """One job description per dyad and session."""
        if self.simulate is not None:
            sim = _make_simulated(to_json(self.simulate))
            out = []
            for row in sim.table:
                variables = {k: row[k] for k in ("WAI_T", "WAI_C", "alliance_gap")}
                out.append(dict(
                    dyad=row["dyad"], session=int(row["session"]), group=row["group"],
                    date=row["date"].isoformat(), variables=variables,
                    source=dict(mode="simulate", design=self.simulate),
                ))
            return out
        _validate_type(dyads, (list, tuple), "dyads")
        out, seen = [], set()
        for k, dyad in enumerate(dyads):
            where = f"[[dyads]] #{k + 1}"
            _check_keys(dyad, _DYAD_KEYS, where)
            if "name" not in dyad:
                raise StudyError(f"{where} has no name.")
            name = str(dyad["name"])
            where = f"dyad {name!r}"
            group = dyad.get("group")
            if self.groups is not None and group not in self.groups:
                raise StudyError(
                    f"{where} has group {group!r}, not one of [study] groups {self.groups}."
                )
            sessions = dyad.get("sessions") or []
            if not sessions:
                raise StudyError(f"{where} has no sessions ([[dyads.sessions]]).")
            for j, ses in enumerate(sessions):
                swhere = f"{where}, session #{j + 1}"
                _check_keys(ses, _SESSION_KEYS, swhere)
                index = int(ses.get("index", j))
                if (name, index) in seen:
                    raise StudyError(f"{where} lists session {index} twice.")
                seen.add((name, index))
                variables = dict(dyad.get("variables") or {})
                variables.update(ses.get("variables") or {})
                date = ses.get("date")
                out.append(dict(
                    dyad=name, session=index, group=group,
                    date=None if date is None else str(date),
                    variables=variables, source=self._source(ses, swhere),
                ))
        return out

    def _source(self, ses, where):
        """Resolve a session's files and reader options (mode: files | xdf | split | fif)."""
        own = dict(ses.get("reader") or {})
        _check_keys(own, _READER_KEYS, f"{where} reader")
        opts = {**self.reader, **own}
        fmt = opts.pop("format", "auto")
        if fmt not in _FORMATS:
            raise StudyError(f"{where}: format {fmt!r} is not one of {', '.join(_FORMATS)}.")
        if ("files" in ses) == ("file" in ses):
            raise StudyError(
                f"{where} needs exactly one of files = {{role = path}} (one file per person) "
                "and file = path (one file for both)."
            )
        if "files" in ses:
            files = ses["files"]
            if not isinstance(files, dict) or set(files) != set(self.roles):
                got = list(files) if isinstance(files, dict) else files
                raise StudyError(
                    f"{where}: files must name one file per role {list(self.roles)}, got "
                    f"{got}. Check [study] roles and the keys of files."
                )
            mode = "files"
            paths = [self._path(files[r]) for r in self.roles]
        else:
            path = self._path(ses["file"])
            paths = [path]
            suffix = path.suffix.lower()
            if fmt == "auto":
                if suffix in (".xdf", ".xdfz"):
                    fmt = "xdf"
                elif "pattern" in opts or "mapping" in opts:
                    fmt = "split"
                elif suffix == ".fif" or path.name.endswith(".fif.gz"):
                    fmt = "fif"
                else:
                    raise StudyError(
                        f"{where}: cannot tell how to read {path.name} as a dyad: set reader "
                        "format to 'xdf', 'split' (with pattern or mapping) or 'fif'."
                    )
            mode = {"poly5": "split", "mne": "split"}.get(fmt, fmt)
        keys = _READER_BY_MODE[mode]
        misplaced = [k for k in own if k != "format" and k not in keys]
        if misplaced:
            raise StudyError(
                f"{where}: reader option(s) {misplaced} do not apply to {mode!r} recordings; "
                f"valid: {', '.join(keys) or 'none'}."
            )
        opts = {k: v for k, v in opts.items() if k in keys}
        if mode == "split":
            self._check_split_roles(opts, where)
        return dict(mode=mode, format=fmt, paths=[str(p) for p in paths], options=opts)

    def _check_split_roles(self, opts, where):
        if ("pattern" in opts) == ("mapping" in opts):
            raise StudyError(f"{where}: a split recording needs exactly one of pattern, mapping.")
        if "mapping" in opts and set(opts["mapping"]) != set(self.roles):
            raise StudyError(
                f"{where}: mapping keys {list(opts['mapping'])} must be the roles "
                f"{list(self.roles)}."
            )
        if "role_map" in opts and set(opts["role_map"].values()) != set(self.roles):
            raise StudyError(
                f"{where}: role_map values {sorted(opts['role_map'].values())} must be the "
                f"roles {list(self.roles)}."
            )

    def _path(self, p):
        p = Path(p).expanduser()
        return p if p.is_absolute() else self.base_dir / p

    def check_files(self):
        """Raise :class:`StudyError` listing every input file that does not exist."""
        missing = [
            f"{rec['dyad']} session {rec['session']}: {p}"
            for rec in self.recordings
            for p in rec["source"].get("paths", [])
            if not Path(p).is_file()
        ]
        if missing:
            raise StudyError(
                f"{len(missing)} input file(s) not found (relative paths start at "
                f"{self.base_dir}):\n  " + "\n  ".join(missing)
            )

    def __repr__(self):
        dyads = {r["dyad"] for r in self.recordings}
        kind = "simulated" if self.simulate is not None else "files"
        return (f"<Study {self.name!r} | {len(dyads)} dyads, {len(self.recordings)} "
                f"recordings ({kind}) | roles {self.roles}>")

    @property
    def params(self):
        """The full parameter set (a JSON-able dict)."""
        return dict(
            name=self.name, roles=list(self.roles), groups=self.groups, reader=self.reader,
            analysis=self.analysis, surrogates=self.surrogates, insync=self.insync,
            statistics=self.statistics, simulate=self.simulate,
        )

    def _recording_params(self, rec):
        """What a recording's results depend on, besides its input files."""
        return dict(roles=list(self.roles), source=rec["source"], analysis=self.analysis,
                    surrogates=self.surrogates,
                    insync={k: v for k, v in self.insync.items() if k != "level3"})

    def _input_hash(self, rec):
        src = rec["source"]
        if src["mode"] == "simulate":
            return _sha256_json(dict(design=src["design"], dyad=rec["dyad"],
                                     session=rec["session"]))
        return _sha256_json([_sha256_file(p) for p in src["paths"]])

    # -- running --------------------------------------------------------------------------
    @verbose
    def run(self, out_dir, n_jobs=1, scheduler=None, resume=True, *, fname="results.h5",
            verbose=None):
        """Analyse every recording, then the group, and write the results file.

        Parameters
        ----------
        out_dir : path-like
            Output folder: ``results.h5`` and ``parts/`` (one file per recording, reused
            by the next run).
        n_jobs : int
            Parallel recordings (joblib processes; with ``scheduler='local'`` the number of
            Dask workers). ``-1``: all cores.
        scheduler : None | 'local' | str | distributed.Client
            ``None``: joblib. ``'local'``: a :class:`distributed.LocalCluster` of ``n_jobs``
            process workers, closed at the end. An address (``'tcp://host:8786'``): that Dask
            scheduler (workers must see the input files and ``out_dir`` is written by this
            process). A :class:`distributed.Client`: used as is.
        resume : bool
            Reuse complete parts whose input hashes and parameters are unchanged.
        fname : str
            Name of the results file inside ``out_dir``.
        verbose : bool | str | int | None
            Control verbosity of the logging output, as in MNE.

        Returns
        -------
        results : hyperinsync.results_io.Results
            The results file read back; ``results.run_info`` holds ``computed`` and
            ``skipped`` ``(dyad, session)`` lists and ``elapsed_s``.
        """
        t0 = time.perf_counter()
        n_jobs = check_n_jobs(n_jobs)
        self.check_files()
        out_dir = Path(out_dir)
        parts_dir = out_dir / "parts"
        parts_dir.mkdir(parents=True, exist_ok=True)
        for stale in parts_dir.glob(".*.part"):  # left by a killed run
            stale.unlink()
        jobs, skipped = [], []
        for rec in self.recordings:
            part = parts_dir / part_name(rec["dyad"], rec["session"])
            job = dict(rec, part=str(part), input_hash=self._input_hash(rec),
                       param_hash=_sha256_json(self._recording_params(rec)),
                       analysis=self.analysis, surrogates=self.surrogates,
                       insync=self.insync, roles=list(self.roles))
            header = read_part_header(part) if resume and part.is_file() else None
            if header == (True, job["input_hash"], job["param_hash"]):
                skipped.append((rec["dyad"], rec["session"]))
                continue
            if header is not None:
                logger.info(f"{rec['dyad']} session {rec['session']}: inputs or parameters "
                            "changed, recomputing.")
            jobs.append(job)
        logger.info(f"Study {self.name!r}: {len(jobs)} recording(s) to compute, "
                    f"{len(skipped)} reused from {parts_dir}.")
        failures = _execute(jobs, n_jobs, scheduler)
        if failures:
            lines = [f"{d} session {s}: {type(e).__name__}: {e}" for (d, s), e in failures]
            raise RuntimeError(
                f"{len(failures)} recording(s) failed (the others are saved in {parts_dir} "
                "and will be reused):\n  " + "\n  ".join(lines)
            ) from failures[0][1]
        parts = [parts_dir / part_name(r["dyad"], r["session"]) for r in self.recordings]
        group_stats = self._group_statistics(parts)
        out = out_dir / fname
        write_results(out, parts, group_stats, self.params, _versions(), self.study_toml)
        results = read_results(out)
        results.run_info = dict(
            computed=[(j["dyad"], j["session"]) for j in jobs], skipped=skipped,
            elapsed_s=time.perf_counter() - t0,
        )
        logger.info(f"Results: {out} ({results.run_info['elapsed_s']:.1f} s).")
        return results

    # -- group level ----------------------------------------------------------------------
    def _group_statistics(self, parts):
        records = [read_part(p) for p in parts]
        st = self.statistics
        out = dict(features=None, contrast=None, correlation=None, mixed=None,
                   pseudo_dyads=None, level3=None)
        if st is None:
            return out
        feats = _dyad_features(records, st.get("rois"), st.get("differences") or {},
                               st.get("feature", "corrected"))
        out["features"] = feats
        values, dyads, labels = feats["values"], feats["dyads"], feats["labels"]
        seed = st.get("seed")
        if st.get("contrast"):
            out["contrast"] = _contrast(values, feats["groups"], st, seed, labels)
            if st.get("mixed", True):
                out["mixed"] = _mixed(feats, st)
        correlate = list(st.get("correlate") or [])
        if correlate:
            out["correlation"] = _correlations(values, feats["variables"], correlate, st,
                                               seed, dyads, labels)
        out["pseudo_dyads"] = self._pseudo_dyads(records, st)
        out["level3"] = self._level3(records, feats, st)
        logger.info(f"Group statistics over {len(dyads)} dyads, {values.shape[1]} features "
                    f"({feats['feature']}).")
        return out

    def _pseudo_dyads(self, records, st):
        """Real vs pseudo-dyads per segment, on each dyad's first session."""
        opts = st.get("pseudo_dyads")
        func = _optional_function("surrogates", "pseudo_dyad_test")
        if opts is None or opts is False:
            return None
        if func is None:
            logger.info("Pseudo-dyads skipped: hyperinsync.surrogates.pseudo_dyad_test is "
                        "not available.")
            return None
        opts = dict(opts)
        session = opts.pop("session", None)
        first = {}
        for rec in sorted(self.recordings, key=lambda r: (r["dyad"], r["session"])):
            if session is None or rec["session"] == session:
                first.setdefault(rec["dyad"], rec)
        if len(first) < 2:
            logger.info("Pseudo-dyads skipped: fewer than 2 dyads.")
            return None
        an = dict(self.analysis)
        segments = an.pop("segments")
        # recordings are read again here: pseudo-dyads pair people of different recordings
        raws = [_load_recording(dict(rec, roles=list(self.roles))) for rec in first.values()]
        out = {}
        for seg in segments:
            insts = [raw if seg == "all" else _crop_segment(raw, seg) for raw in raws]
            kwargs = dict(bands=an.get("bands"), measures=an.get("measures", "plv"),
                          rois=an.get("rois"), n_permutations=st["n_permutations"],
                          seed=st.get("seed"))
            for key in ("epoch_duration", "method"):
                if key in an:
                    kwargs[key] = an[key]
            kwargs.update(opts)
            res = func(insts, **kwargs, verbose=False)
            res.params["dyads"] = list(first)
            out[seg] = res.to_dict()
        return out

    def _level3(self, records, feats, st):
        """Session trends of every feature (needs 3 or more sessions of every dyad)."""
        opts = self.insync.get("level3")
        func = _optional_function("insync", "level3")
        if opts is None or func is None:
            return None
        n_ses = {}
        for rec in records:
            n_ses[rec["dyad"]] = n_ses.get(rec["dyad"], 0) + 1
        if min(n_ses.values()) < 3:
            logger.info("Level 3 skipped: it needs at least 3 sessions of every dyad "
                        f"(fewest: {min(n_ses.values())}).")
            return None
        from .stats import _holm, fdr_bh

        kwargs = dict(n_permutations=st["n_permutations"], seed=st.get("seed"))
        kwargs.update(opts)
        dates = {(rec["dyad"], rec["session"]): rec["meta"].get("date") for rec in records}
        ses = feats["sessions"]
        out = {}
        for j, lab in enumerate(feats["labels"]):
            rows = []
            for dyad, session, val in zip(ses["dyad"], ses["session"], ses["values"][:, j]):
                row = dict(dyad=str(dyad), session=int(session), value=float(val))
                if dates.get((str(dyad), int(session))):
                    row["date"] = dates[(str(dyad), int(session))]
                rows.append(row)
            if any("date" not in r for r in rows):
                rows = [{k: v for k, v in r.items() if k != "date"} for r in rows]
            out[str(lab)] = func(rows, **kwargs).to_dict()
        # the features' trend tests form one family; max-stat needs joint permutations,
        # which the per-feature tests do not share: Holm keeps the family-wise rate instead
        corr = _correction(st)
        p = np.array([d["summary"]["p"] for d in out.values()])
        if corr == "fdr":
            p_corr = fdr_bh(p)[1]
        elif corr == "maxstat":
            corr, p_corr = "holm", _holm(p)
        else:
            p_corr = np.full(len(p), np.nan)
        for d, pc in zip(out.values(), p_corr):
            d["summary"].update(p_corrected=None if corr is None else float(pc),
                                correction=corr, family=_family(feats["labels"]),
                                feature=feats["feature"])
        return out


# --------------------------------------------------------------------------------------------
# per-recording work (runs in workers: plain dicts in, plain dicts out)


def _simulate_study():
    from .simulate import simulate_study

    return simulate_study


@functools.lru_cache(maxsize=4)
def _make_simulated(design_json):
    """The simulated study of a design (cached: every recording of a worker shares it)."""
    design = json.loads(design_json)
    if "segments" in design:
        design["segments"] = [tuple(s) for s in design["segments"]]
    if "couplings" in design:
        raise StudyError("[simulate] couplings cannot be given in a study file; use Python.")
    design["roles"] = tuple(design["roles"])
    return _simulate_study()(**design, verbose=False)


def _load_recording(job):
    """Read (or simulate) one recording as a DyadRaw."""
    src = job["source"]
    roles = tuple(job["roles"])
    opts = dict(src.get("options", {}))
    if src["mode"] == "simulate":
        raw, _ = _make_simulated(to_json(src["design"])).get_dyad(
            job["dyad"], job["session"], verbose=False
        )
        return raw
    if src["mode"] == "files":
        from .io.align import read_dyad

        return read_dyad(*src["paths"], roles=roles, **opts, verbose=False)
    path = src["paths"][0]
    if src["mode"] == "xdf":
        from .io.xdf import read_dyad_xdf

        if "streams" in opts:
            opts["streams"] = tuple(opts["streams"])
        return read_dyad_xdf(path, roles=roles, **opts, verbose=False)
    if src["mode"] == "fif":
        from .dyad import get_roles, read_dyad_raw

        raw = read_dyad_raw(path, verbose=False)
        if tuple(get_roles(raw)) != roles:
            raise StudyError(f"{path} holds roles {get_roles(raw)}, the study {roles}.")
        return raw
    from .io.split import split_dyad

    kwargs = opts.pop("reader_kwargs", None) or {}
    if src["format"] == "poly5" or path.lower().endswith(".poly5"):
        from .io.poly5 import read_raw_poly5

        raw = read_raw_poly5(path, preload=True, verbose=False, **kwargs)
    else:
        raw = mne.io.read_raw(path, preload=True, verbose=False, **kwargs)
    return split_dyad(raw, roles=roles, **opts, verbose=False)


def _crop_segment(raw, description):
    """The parts of ``raw`` annotated ``description`` (several are concatenated)."""
    ann = raw.annotations
    hits = [i for i, d in enumerate(ann.description) if d == description]
    if not hits:
        raise StudyError(
            f"No annotation {description!r} in the recording to analyse as a segment; it has "
            f"{sorted(set(ann.description))}. Fix [analysis] segments."
        )
    sfreq = raw.info["sfreq"]
    t0 = raw.first_samp / sfreq
    pieces = []
    for i in hits:
        onset = ann.onset[i] - (t0 if ann.orig_time is not None else 0.0)
        # in samples, so a segment that ends with the recording keeps its last sample
        start = max(int(round(onset * sfreq)), 0)
        stop = min(int(round((onset + ann.duration[i]) * sfreq)), raw.n_times)
        pieces.append(raw.copy().crop(start / sfreq, (stop - 1) / sfreq, include_tmax=True))
    return pieces[0] if len(pieces) == 1 else mne.concatenate_raws(pieces)


def _process(job):
    """Analyse one recording; return a record of plain dicts (see results_io.write_part)."""
    from .dyad import get_dyad_meta
    from .sync import compute_sync

    t0 = time.perf_counter()
    raw = _load_recording(job)
    an = dict(job["analysis"])
    segments = an.pop("segments")
    test_sync = _optional_function("surrogates", "test_sync")
    rec = dict(dyad=job["dyad"], session=job["session"], input_hash=job["input_hash"],
               param_hash=job["param_hash"], sync={}, surrogates={}, level1={}, level2=None)
    for seg in segments:
        inst = raw if seg == "all" else _crop_segment(raw, seg)
        res = compute_sync(inst, **an, verbose=False)
        rec["sync"][seg] = res.to_dict()
        if job["surrogates"] is not None and test_sync is not None:
            sur = test_sync(inst, bands=an.get("bands"), measures=an.get("measures", "plv"),
                            rois=an.get("rois"), **job["surrogates"], verbose=False)
            rec["surrogates"][seg] = sur.to_dict()
    level1 = _optional_function("insync", "level1")
    l1 = job["insync"].get("level1")
    if l1 is not None and level1 is not None:
        l1 = dict(l1)
        seg = l1.pop("segment", "all")
        inst = raw if seg == "all" else _crop_segment(raw, seg)
        l1.setdefault("bands", an.get("bands"))
        l1.setdefault("rois", an.get("rois") or "default")
        res = level1(inst, **l1, verbose=False)
        rec["level1"][seg] = res.to_dict()
    level2 = _optional_function("insync", "level2")
    l2 = job["insync"].get("level2")
    if l2 is not None and level2 is not None:
        l2 = dict(l2)
        l2.setdefault("bands", an.get("bands"))
        l2.setdefault("rois", an.get("rois") or "default")
        rec["level2"] = level2(raw, **l2, verbose=False).to_dict()
    meta = dict(group=job["group"], date=job["date"], variables=job["variables"],
                source=job["source"], alignment=get_dyad_meta(raw).get("alignment"),
                duration_s=float(raw.times[-1] + 1 / raw.info["sfreq"]),
                sfreq=float(raw.info["sfreq"]), annotations=_annotation_list(raw))
    meta["elapsed_s"] = time.perf_counter() - t0
    rec["meta"] = meta
    return rec


def _annotation_list(raw):
    return [dict(onset=float(a["onset"]), duration=float(a["duration"]),
                 description=str(a["description"])) for a in raw.annotations]


def _execute(jobs, n_jobs, scheduler):
    """Run jobs, writing each part as soon as it is back; return [(key, exception)]."""
    failures = []
    if not jobs:
        return failures

    def commit(job, rec):
        write_part(job["part"], rec)
        logger.info(f"  {job['dyad']} session {job['session']} done "
                    f"({rec['meta']['elapsed_s']:.1f} s)")

    with ProgressBar(len(jobs), mesg="Recordings") as bar:
        if scheduler is None:
            from joblib import Parallel, delayed

            def safe(job):
                try:
                    return job, _process(job), None
                except Exception as err:  # reported together at the end
                    return job, None, err

            if n_jobs == 1:
                results = (safe(job) for job in jobs)
            else:
                results = Parallel(n_jobs=n_jobs, return_as="generator_unordered")(
                    delayed(safe)(job) for job in jobs
                )
            for job, rec, err in results:
                if err is None:
                    commit(job, rec)
                else:
                    failures.append(((job["dyad"], job["session"]), err))
                bar.update_with_increment_value(1)
            return failures
        client, owned = _dask_client(scheduler, n_jobs)
        try:
            from distributed import as_completed

            futures = {client.submit(_process, job, pure=False): job for job in jobs}
            for fut in as_completed(futures):
                job = futures[fut]
                try:
                    commit(job, fut.result())
                except Exception as err:
                    failures.append(((job["dyad"], job["session"]), err))
                bar.update_with_increment_value(1)
        finally:
            if owned:
                cluster = client.cluster
                client.close()
                if cluster is not None:
                    cluster.close()
    return failures


def _dask_client(scheduler, n_jobs):
    """Return (client, whether we own and must close it)."""
    from distributed import Client, LocalCluster

    if isinstance(scheduler, Client):
        return scheduler, False
    _validate_type(scheduler, str, "scheduler")
    if scheduler == "local":
        cluster = LocalCluster(n_workers=n_jobs, threads_per_worker=1, processes=True,
                               dashboard_address=None)
        return Client(cluster), True
    return Client(scheduler), True


# --------------------------------------------------------------------------------------------
# group statistics


FEATURES = ("corrected", "z", "raw")
_FEATURE_TEXT = {
    "corrected": "surrogate-corrected synchrony: observed minus the mean of the recording's "
                 "own surrogate null ([surrogates]), per session, then the mean over sessions",
    "z": "surrogate z: (observed - null mean) / null SD of the recording's own surrogate "
         "null ([surrogates]), per session, then the mean over sessions",
    "raw": "raw synchrony (not corrected for chance level, which depends on the spectrum "
           "and the epoch length), mean over sessions",
}


def _check_statistics(st, surrogates):
    """Validate the [statistics] options that shape the group step."""
    if st is None:
        return
    if st.get("feature") not in FEATURES:
        raise StudyError(f"[statistics] feature must be one of {', '.join(FEATURES)}, got "
                         f"{st.get('feature')!r}.")
    if st["feature"] != "raw" and surrogates is None:
        raise StudyError(
            f"[statistics] feature = {st['feature']!r} is corrected against each recording's "
            "surrogate null, but [surrogates] is false. Enable [surrogates], or set "
            "[statistics] feature = \"raw\" (not corrected for chance level: groups that "
            "differ in spectrum, e.g. alpha power, then differ in 'synchrony')."
        )
    if st.get("correction") not in ("fdr", "maxstat", False, None):
        raise StudyError(f"[statistics] correction must be \"fdr\", \"maxstat\" or false, "
                         f"got {st.get('correction')!r}.")
    if st.get("statistic") not in ("F", "welch"):
        raise StudyError(f"[statistics] statistic must be \"welch\" or \"F\", got "
                         f"{st.get('statistic')!r}.")
    ci = st.get("ci")
    if not isinstance(ci, (int, float)) or isinstance(ci, bool) or not 0 < ci < 1:
        raise StudyError(f"[statistics] ci must be a confidence level in (0, 1), got {ci!r}.")


def _session_features(records, rois, feature):
    """Same-ROI synchrony of every recording as ``{(dyad, session): {label: value}}``.

    Returns ``(chosen, raw, labels)``: the ``feature`` values and the raw values, labels
    ``segment/measure/band/roi`` in first-seen order.
    """
    from .surrogates import SurrogateResult
    from .sync import SyncResult

    chosen, raw, labels = {}, {}, {}
    for rec in records:
        key = (rec["dyad"], rec["session"])
        where = f"{rec['dyad']} session {rec['session']}"
        chosen[key], raw[key] = {}, {}
        for seg, d in rec["sync"].items():
            res = SyncResult.from_dict(d)
            rn, cn = res.roi_names
            if not rn:
                raise StudyError("Group statistics compare ROI pairs: set [analysis] rois "
                                 "(e.g. \"default\").")
            names = [r for r in rn if r in cn and (rois is None or r in rois)]
            if rois is not None:
                missing = [r for r in rois if r not in names]
                if missing:
                    raise StudyError(
                        f"[statistics] rois {missing} are not ROIs of the results "
                        f"(ROIs: {rn}); check [analysis] rois."
                    )
            sur = None
            if feature != "raw":
                if seg not in rec["surrogates"]:
                    raise StudyError(
                        f"{where}: no surrogate results for segment {seg!r}, which the "
                        f"{feature!r} feature needs; re-run with [surrogates] enabled or set "
                        "[statistics] feature = \"raw\"."
                    )
                sur = SurrogateResult.from_dict(rec["surrogates"][seg])
            for m in res.measures:
                for b in res.bands:
                    mat = res.get_data(m, b, level="roi")
                    for r in names:
                        lab = f"{seg}/{m}/{b}/{r}"
                        labels.setdefault(lab, None)
                        raw[key][lab] = float(mat[rn.index(r), cn.index(r)])
                        if sur is None:
                            chosen[key][lab] = raw[key][lab]
                            continue
                        try:
                            ix = (sur.measures.index(m), list(sur.bands).index(b),
                                  sur.rows.index(r), sur.cols.index(r))
                        except ValueError:
                            raise StudyError(
                                f"{where}: the surrogate results of segment {seg!r} hold no "
                                f"{m} / {b} / {r}-{r} value; re-run the study."
                            ) from None
                        val = (sur.observed[ix] - sur.null_mean[ix] if feature == "corrected"
                               else sur.z[ix])
                        if not np.isfinite(val):
                            raise StudyError(
                                f"{where}, {lab}: the {feature} value is {val} (null with "
                                "no spread?); use more surrogates or another feature."
                            )
                        chosen[key][lab] = float(val)
    return chosen, raw, list(labels)


def _dyad_features(records, rois, differences, feature="raw"):
    """Per-dyad features of same-ROI pairs (mean over sessions) and per-dyad variables."""
    chosen, raw, labels = _session_features(records, rois, feature)
    by_dyad = {}
    for rec in records:
        by_dyad.setdefault(rec["dyad"], []).append(rec)
    dyads = sorted(by_dyad)
    incomplete = sorted({lab for lab in labels for key in chosen if lab not in chosen[key]})
    if incomplete:
        raise StudyError(f"Features {incomplete} are missing for some recordings (segments "
                         "absent from some of them?).")

    def mean_over_sessions(cells, lab, dyad):
        return np.mean([cells[(dyad, r["session"])][lab] for r in by_dyad[dyad]])

    values = np.array([[mean_over_sessions(chosen, lab, d) for lab in labels] for d in dyads])
    raw_values = np.array([[mean_over_sessions(raw, lab, d) for lab in labels]
                           for d in dyads])
    groups = np.array([str(by_dyad[d][0]["meta"].get("group")) for d in dyads])
    var_names = sorted({v for recs in by_dyad.values() for r in recs
                        for v in r["meta"].get("variables", {})})
    variables = {}
    for v in var_names:
        variables[v] = np.array([
            np.mean([float(r["meta"]["variables"][v]) for r in by_dyad[d]
                     if v in r["meta"].get("variables", {})] or [np.nan])
            for d in dyads
        ])
    for name, pair in differences.items():
        if not isinstance(pair, (list, tuple)) or len(pair) != 2:
            raise StudyError(f"[statistics] differences: {name} must be [minuend, subtrahend].")
        missing = [p for p in pair if p not in variables]
        if missing:
            raise StudyError(
                f"[statistics] differences: {name} uses unknown variable(s) {missing}; "
                f"variables are {var_names}."
            )
        variables[name] = variables[pair[0]] - variables[pair[1]]
    sessions = dict(
        dyad=np.array([k[0] for k in chosen]), session=np.array([k[1] for k in chosen]),
        values=np.array([[chosen[k][lab] for lab in labels] for k in chosen]),
    )
    return dict(dyads=np.array(dyads), labels=np.array(labels), groups=groups,
                values=values, raw=raw_values, feature=feature,
                description=_FEATURE_TEXT[feature], variables=variables, sessions=sessions)


def _family(labels):
    """Words for a family of features ``segment/measure/band/roi``: its factors and size."""
    parts = [sorted(set(p)) for p in zip(*(str(lab).split("/") for lab in labels))]
    names = ("segments", "measures", "bands", "ROI pairs")
    dims = " x ".join(f"{len(p)} {n}" for p, n in zip(parts, names))
    return f"{dims} = {len(labels)} features"


def _correction(st):
    return st.get("correction") or None


def _contrast(values, groups, st, seed, labels=None):
    from .stats import group_contrast

    labels_, counts = np.unique(groups, return_counts=True)
    if len(labels_) < 2 or np.any(counts < 2):
        logger.info(f"Group contrast skipped: groups {dict(zip(labels_, counts))} need at "
                    "least 2 groups of at least 2 dyads.")
        return None
    res = group_contrast(values, groups, n_permutations=st["n_permutations"], seed=seed,
                         statistic=st.get("statistic", "welch"), correction=_correction(st),
                         ci=st.get("ci", 0.95))
    out = {k: (np.asarray(v) if isinstance(v, (list, tuple)) and k != "df" else v)
           for k, v in res.items()}
    out["feature"] = st.get("feature", "raw")
    out["family"] = None if labels is None else _family(labels)
    return out


def _correlations(values, variables, names, st, seed, dyads=None, labels=None):
    from .stats import correlation_test

    unknown = [n for n in names if n not in variables]
    if unknown:
        raise StudyError(
            f"[statistics] correlate names unknown variable(s) {unknown}; variables are "
            f"{sorted(variables)} (add differences to derive more)."
        )
    rng = np.random.default_rng(seed)
    out = {}
    for name in names:
        y = np.asarray(variables[name], float)
        ok = np.isfinite(y)
        if not ok.all():
            left = [str(d) for d in np.asarray(dyads)[~ok]] if dyads is not None else []
            warn(f"Correlation with {name!r}: dyad(s) {left} have no value of {name!r} and "
                 "are left out.")
        if ok.sum() < 3:
            logger.info(f"Correlation with {name!r} skipped: fewer than 3 dyads have it.")
            continue
        res = correlation_test(values[ok], y[ok], n_permutations=st["n_permutations"],
                               seed=rng, correction=_correction(st), ci=st.get("ci", 0.95))
        res["p_fdr"] = res["p_corrected"]  # the name earlier results files used
        res["feature"] = st.get("feature", "raw")
        res["family"] = None if labels is None else _family(labels)
        res["dyads"] = None if dyads is None else np.asarray(dyads)[ok]
        out[name] = res
    return out or None


def _mixed(feats, st):
    """The mixed design: group (between) x segment x band x ROI (within), dyad random."""
    from .stats import mixed_model

    groups, dyads = feats["groups"], feats["dyads"]
    labs, counts = np.unique(groups, return_counts=True)
    if len(labs) < 2 or np.any(counts < 2):
        return None
    parts = [str(lab).split("/") for lab in feats["labels"]]
    out = {}
    for m in dict.fromkeys(p[1] for p in parts):
        rows = [dict(dyad=str(d), group=str(g), segment=p[0], band=p[2], roi=p[3],
                     value=float(feats["values"][i, j]))
                for i, (d, g) in enumerate(zip(dyads, groups))
                for j, p in enumerate(parts) if p[1] == m]
        within = [w for w, k in (("segment", 0), ("band", 2), ("roi", 3))
                  if len({p[k] for p in parts if p[1] == m}) > 1]
        if not within:
            logger.info("Mixed model skipped: one segment, band and ROI only (the group "
                        "contrast is the whole design).")
            return None
        res = mixed_model(rows, within=within, ci=st.get("ci", 0.95))
        res["feature"] = st.get("feature", "raw")
        out[m] = res
    return out
