'''Studies: a description of many dyads and sessions, and the runner that analyses them.

A study is written in a TOML file (:meth:`Study.from_toml`) or built in Python
(:class:`Study`, same keys as keyword arguments). :meth:`Study.run` analyses every recording
(read and align, or simulate -> :func:`~hyperinsync.sync.compute_sync` per segment ->
surrogate test -> In-Sync Levels 1-2), in parallel with joblib or a Dask cluster, then the
group statistics (group contrast, questionnaire correlations, real vs pseudo-dyads, Level 3
trends), and writes one HDF5 results file (layout in :mod:`hyperinsync.study.results`).

Re-running resumes: a recording whose part file is intact and whose inputs are unchanged is
not recomputed. Its inputs are the contents of every file its reader opened (a BrainVision
``.vhdr`` with its ``.eeg`` and ``.vmrk``, an EEGLAB ``.set`` with its ``.fdt``, the pieces
of a split FIF file, ...), the contents of ROI and montage files, every parameter that
reaches the recording's analysis, and the versions of hyperinsync (and its code), MNE,
NumPy, SciPy, mne-connectivity, h5py, pyxdf and Python. The dyad-level facts (group,
variables, date) are not stored in the parts: the group statistics read them from the study
each time. Relative paths (data, ROI and montage files) start at ``[study] data_dir``, itself
relative to the study file, so the same study run from another folder reuses its parts.
One run at a time may write into an output folder (a lock file, ``.hyperinsync.lock``); a
second is refused. Dyad names become file names and must not hold
path separators, ``..``, control characters or characters Windows refuses; segment, band and
ROI names must not hold '/' (it separates the parts of a feature label).

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

    [analysis]                # hyperinsync.compute_sync; bands, rois, epoch_duration and
                              # the signal options (method, decim, precision, backend, ...)
                              # also reach the surrogates and In-Sync Levels 1-2
    bands = { theta = [4, 8], alpha = [8, 13] }
    measures = ["plv"]
    rois = "default"          # a bundled ROI set, an ROI file, or { name = [channels] }
    segments = ["rest_pre", "session", "rest_post"]  # annotation descriptions; "all" = whole
    epoch_duration = 2.0
    method = "fft"

    [surrogates]              # hyperinsync.stats.surrogate_test; `surrogates = false` skips
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

- ``files = {role: path}`` (two amplifiers): :func:`hyperinsync.io.align.read_dyad_files` with
  ``sync``, ``stim_channel``, ``event_id``, ``annotation``, ``tolerance_ms``, ``montage``,
  ``reader_kwargs``.
- ``file`` with ``format = "xdf"`` (or a ``.xdf`` file): :func:`hyperinsync.io.xdf.read_dyad_xdf`
  with ``streams``, ``select_by``, ``sfreq``, ``markers``, ``gap_threshold``, ``montage``.
- ``file`` with ``format = "split"`` (or ``pattern``/``mapping`` given):
  :func:`hyperinsync.io.split.split_dyad` with ``pattern``, ``mapping``, ``role_map``,
  ``shared``, ``shared_to``, ``montage``, ``reader_kwargs``.
- ``file`` with ``format = "fif"`` (or a ``.fif`` file): a saved dyad
  (:func:`hyperinsync.read_dyad_fif`).
'''

from __future__ import annotations


import inspect
import os
from pathlib import Path


from .._utils import (
    check_bands,
)
from .checks import (
    _TOP_KEYS,
    _STUDY_KEYS,
    _ANALYSIS_KEYS,
    _SURROGATE_KEYS,
    _INSYNC_KEYS,
    _STAT_KEYS,
    _READER_KEYS,
    DEFAULT_ANALYSIS,
    DEFAULT_SURROGATES,
    DEFAULT_STATISTICS,
    StudyError,
    _check_name,
    _check_number,
    _check_keys,
    _optional,
)
from .runner import (
    _simulate_study,
    _ANALYSES,
    _StudyRunner,
)
from .group import (
    _check_statistics,
    _StudyGroup,
)
from .recordings import (
    _StudyRecordings,
)




















































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
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
            raise StudyError(f"{path} is not valid TOML: {err}") from None


class Study(_StudyRecordings, _StudyRunner, _StudyGroup):
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
        Options of ``hyperinsync.stats.surrogate_test``; ``False`` skips surrogates.
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
        if isinstance(roles, str) or not isinstance(roles, (list, tuple)):
            raise StudyError(f"roles must be a list of two names, got {roles!r}.")
        roles = tuple(roles)
        if len(roles) != 2 or len(set(roles)) != 2 or not all(isinstance(r, str) for r in roles):
            raise StudyError(f"roles must be two different names, got {roles!r}.")
        from ..dyad import ROLE_SEP

        for r in roles:
            if not r.strip() or ROLE_SEP in r:
                raise StudyError(f"role {r!r} must be a non-empty name without {ROLE_SEP!r}.")
        self.roles = roles
        if groups is not None and (isinstance(groups, str)
                                   or not isinstance(groups, (list, tuple))):
            raise StudyError(f"[study] groups must be a list of group labels, got {groups!r}.")
        self.groups = None if groups is None else [str(g) for g in groups]
        # absolute: the parts name their input files relative to it, whatever the cwd
        self.base_dir = Path(os.path.abspath(Path.cwd() if base_dir is None
                                             else Path(base_dir).expanduser()))
        self.study_toml = study_toml or ""
        _check_keys({} if reader is None else reader, _READER_KEYS, "[reader]")
        self.reader = dict(reader or {})
        if analysis is False:
            raise StudyError("[analysis] cannot be false: leave it out for the defaults.")
        self.analysis = _optional(analysis, DEFAULT_ANALYSIS, "[analysis]")
        _check_keys(self.analysis, _ANALYSIS_KEYS, "[analysis]")
        if isinstance(self.analysis["segments"], str):
            self.analysis["segments"] = [self.analysis["segments"]]
        self.surrogates = _optional(surrogates, DEFAULT_SURROGATES, "[surrogates]")
        if self.surrogates is not None:
            _check_keys(self.surrogates, _SURROGATE_KEYS + self._extra_keys("surrogate_test"),
                        "[surrogates]")
        _check_keys({} if insync is None else insync, _INSYNC_KEYS, "[insync]")
        insync = dict(insync or {})
        self.insync = {lvl: _optional(insync.get(lvl), {}, f"[insync] {lvl}")
                       for lvl in _INSYNC_KEYS}
        for lvl, opts in self.insync.items():
            func = _ANALYSES[lvl]
            if opts is not None:
                skip = {"raw", "verbose", "n_jobs"}
                valid = tuple(p for p in inspect.signature(func).parameters if p not in skip)
                _check_keys(opts, valid + (("segment",) if lvl == "level1" else ()),
                            f"[insync] {lvl}")
        # `statistics = false` skips the group statistics
        self.statistics = _optional(statistics, DEFAULT_STATISTICS, "[statistics]")
        if self.statistics is not None:
            _check_keys(self.statistics, _STAT_KEYS, "[statistics]")
            _check_statistics(self.statistics, self.surrogates)
            pseudo = self.statistics.get("pseudo_dyads")
            func = _ANALYSES["pseudo_dyad_test"]
            if isinstance(pseudo, dict):
                skip = {"dyads", "bands", "measures", "rois", "verbose", "n_permutations"}
                valid = tuple(p for p in inspect.signature(func).parameters if p not in skip)
                _check_keys(pseudo, valid + ("session",), "[statistics] pseudo_dyads")
        if simulate is not None and dyads:
            raise StudyError("Give either dyads ([[dyads]]) or [simulate], not both.")
        if simulate is None and not dyads:
            raise StudyError("The study has no dyads: add [[dyads]] tables or a [simulate] table.")
        self.simulate = None
        if simulate is not None:
            if not isinstance(simulate, dict):
                raise StudyError(f"[simulate] must be a table, got {simulate!r}.")
            self.simulate = dict(simulate)
            valid = tuple(p for p in inspect.signature(_simulate_study()).parameters
                          if p not in ("verbose", "roles"))
            _check_keys(self.simulate, valid, "[simulate]")
            self.simulate["roles"] = list(roles)
            if "segments" in self.simulate:
                segs = self.simulate["segments"]
                if not isinstance(segs, list) or not all(
                        isinstance(x, (list, tuple)) and len(x) == 2 for x in segs):
                    raise StudyError(f"[simulate] segments must be a list of [name, seconds] "
                                     f"pairs, got {segs!r}.")
                self.simulate["segments"] = [tuple(x) for x in segs]
        # files named by options (ROI and montage files): their contents enter the cache key
        self._option_files = set()
        self._check_values()
        self.recordings = self._build_recordings(dyads)
        self.check_files()

    @staticmethod
    def _extra_keys(func_name):
        func = _ANALYSES[func_name]
        skip = {"inst", "bands", "measures", "rois", "verbose", "null", "n_surrogates", "seed"}
        return tuple(p for p in inspect.signature(func).parameters if p not in skip)

    def _check_values(self):
        """Check, before any work, what would otherwise fail deep in the analysis of every
        recording: names that become labels, numbers, ROI files."""
        an = self.analysis
        try:
            bands = check_bands(an.get("bands"))
        except (TypeError, ValueError) as err:
            raise StudyError(f"[analysis] bands: {err}") from None
        for band in bands:
            _check_name(band, "band name", "[analysis] bands")
        segments = an["segments"]
        if not isinstance(segments, list) or not segments:
            raise StudyError(f"[analysis] segments must be a list of annotation descriptions "
                             f"(or 'all'), got {segments!r}.")
        for seg in segments:
            _check_name(seg, "segment", "[analysis] segments")
        if len(set(segments)) != len(segments):
            raise StudyError(f"[analysis] segments lists a segment twice: {segments}.")
        measures = an.get("measures", "plv")
        if not (isinstance(measures, str) or (isinstance(measures, list) and measures and all(
                isinstance(m, str) for m in measures))):
            raise StudyError(f"[analysis] measures must be a name or a list of names, got "
                             f"{measures!r}.")
        if "epoch_duration" in an:
            _check_number(an["epoch_duration"], "[analysis] epoch_duration (seconds)",
                          positive=True)
        if "overlap" in an:
            _check_number(an["overlap"], "[analysis] overlap (seconds)", minimum=0)
        # the Levels take [analysis]'s signal options too: their window sums need one
        # analytic signal per band, which Morlet wavelets do not give
        for lvl in ("level1", "level2"):
            opts = self.insync[lvl]
            if opts is not None and opts.get("method", an.get("method")) == "morlet":
                raise StudyError(
                    f"[insync] {lvl} takes [analysis] method = 'morlet', which it cannot use "
                    "(its window sums need one analytic signal per band): set [insync] "
                    f"{lvl} = {{ method = \"fft\" }} or {lvl} = false."
                )
        an["rois"] = self._check_rois(an.get("rois"), "[analysis] rois")
        for lvl in ("level1", "level2"):
            opts = self.insync[lvl]
            if opts and opts.get("rois") is not None:
                opts["rois"] = self._check_rois(opts["rois"], f"[insync] {lvl} rois")
        l1 = self.insync["level1"]
        if l1 and "segment" in l1:
            _check_name(l1["segment"], "segment", "[insync] level1 segment")
        if self.surrogates is not None and "n_surrogates" in self.surrogates:
            _check_number(self.surrogates["n_surrogates"], "[surrogates] n_surrogates",
                          integer=True, minimum=1)
        st = self.statistics
        if st is not None:
            _check_number(st["n_permutations"], "[statistics] n_permutations", integer=True,
                          minimum=1)
            rois = st.get("rois")
            if rois is not None and not (isinstance(rois, list)
                                         and all(isinstance(r, str) for r in rois)):
                raise StudyError(f"[statistics] rois must be a list of ROI names, got {rois!r}.")

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

        Raises
        ------
        FileNotFoundError
            If there is no file at ``fname``.
        StudyError
            If the file is not valid TOML or does not describe a study that can run (the
            message names the file and what is wrong).
        """
        fname = Path(fname)
        if not fname.is_file():
            raise FileNotFoundError(f"No study file at {fname}.")
        d = _load_toml(fname)
        try:
            return cls.from_dict(d, base_dir=fname.parent,
                                 study_toml=fname.read_text(encoding="utf-8"))
        except StudyError:
            raise
        except (TypeError, ValueError, KeyError, AttributeError) as err:
            # a value of the wrong kind that no explicit check caught
            raise StudyError(f"{fname}: {type(err).__name__}: {err}") from err

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
            if not isinstance(head["data_dir"], str):
                raise StudyError(f"[study] data_dir must be a folder path, got "
                                 f"{head['data_dir']!r}.")
            base = base / head["data_dir"]
        return cls(
            d.get("dyads"),
            roles=head.get("roles", ("A", "B")),
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

    def __repr__(self):
        dyads = {r["dyad"] for r in self.recordings}
        kind = "simulated" if self.simulate is not None else "files"
        return (f"<Study {self.name!r} | {len(dyads)} dyads, {len(self.recordings)} "
                f"recordings ({kind}) | roles {self.roles}>")

