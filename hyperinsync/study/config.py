"""Studies: a description of many dyads and sessions, and the runner that analyses them.

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
The sections, their keys, types, defaults and meaning are declared, and versioned, in
:mod:`hyperinsync.study.schema`; :func:`example_study_toml` returns a complete, annotated
example (the file ``example_study.toml`` shipped with the package). Every table except
``[study]`` and one of ``[[dyads]]`` / ``[simulate]`` is optional. A recording is either
``files = {role = path}`` (one file per person) or ``file = path`` (both people), read with
the ``[reader]`` options, which a session's own ``reader`` table overrides.

Instead of ``[[dyads]]``, a ``[simulate]`` table (the arguments of
:func:`hyperinsync.simulate_study`, e.g. ``n_dyads = 14``, ``n_sessions = 2``,
``segments = [["rest_pre", 60], ["session", 120], ["rest_post", 60]]``, ``sfreq = 250``,
``seed = 42``) makes a simulated study: groups, dates and the variables ``WAI_T``, ``WAI_C``
and ``alliance_gap`` come from its design table.

Group statistics
----------------
Every dyad gets one value per *feature*, ``segment/measure/band/roi`` (same-ROI pairs),
averaged over its sessions. Which value is ``[statistics] feature``:

- ``"z"`` (default): the surrogate z, (observed - null mean) / null SD of the recording's
  own surrogate null (``[surrogates]``): unitless, equal spread for every recording.
  Chance synchrony depends on the spectrum (a strong alpha rhythm raises chance PLV in the
  alpha band) and on the epoch length, so raw values of groups that differ only in alpha
  power differ in "synchrony"; z values do not.
- ``"corrected"``: the observed synchrony minus the null mean, i.e. synchrony above chance
  in the measure's units. Its spread still shrinks with recording length, so groups of
  unbalanced size and length make tests over several features liberal (10 % at a nominal
  5 % in the validation study, ``benchmarks/VALIDITY.md``); z does not.
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
"""

from __future__ import annotations

import os
from pathlib import Path

from .._utils import (
    check_bands,
)
from .checks import (
    StudyError,
    _check_name,
    _check_number,
    check_section,
    migrate,
    read_section,
)
from .group import (
    _check_statistics,
    _StudyGroup,
)
from .physio import check_lagged, check_simulate_physio
from .recordings import (
    _StudyRecordings,
)
from .runner import (
    _StudyRunner,
)
from .schema import SCHEMA_VERSION

# the annotated example study file, installed with the package (package-data)
EXAMPLE_FILE = "example_study.toml"


def example_study_toml():
    """Return the complete, annotated example study file shipped with the package.

    Returns
    -------
    text : str
        TOML text describing a two-dyad study with every section (the package's
        ``hyperinsync/study/example_study.toml``).
    """
    return (Path(__file__).parent / EXAMPLE_FILE).read_text(encoding="utf-8")


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
        ``feature`` (default ``'z'``) needs ``surrogates``.
    simulate : dict | None
        Arguments of :func:`hyperinsync.simulate_study` for a simulated study.
    physio, movement : dict | None
        Lagged synchrony of physiological and movement signals
        (:func:`hyperinsync.lagged_sync`) of every recording and its group step: the keys of
        ``[physio]`` / ``[movement]`` (see "Body and autonomic synchrony" in the module
        docstring); ``None``: not computed.
    simulate_physio : dict | None
        Arguments of :func:`hyperinsync.simulate_physio_study` for a simulated
        physiological study (no EEG).
    base_dir : path-like | None
        Folder that relative file paths start from (default: the current folder).
    study_toml : str
        The TOML text the study came from (kept as provenance).

    Raises
    ------
    StudyError
        Unknown keys (the valid ones listed), inconsistent roles, missing files (all listed).

    Examples
    --------
    A simulated study of four dyads (the same keys as the sections of a study file, see
    :func:`hyperinsync.example_study_toml`), run into a folder and read back:

    >>> study = hs.Study(
    ...     name="pilot", roles=("therapist", "client"),
    ...     simulate=dict(n_dyads=4, sfreq=100.0, seed=7,
    ...                   segments=[["rest_pre", 10.0], ["rest_post", 10.0]]),
    ...     analysis=dict(bands={"alpha": [8, 13]}, segments=["rest_pre", "rest_post"]),
    ...     surrogates=dict(n_surrogates=19, seed=1),
    ...     insync=dict(level1=False, level2=False, level3=False),
    ...     statistics=dict(n_permutations=199, rois=["central"], pseudo_dyads=False,
    ...                     mixed=False))
    >>> study
    <Study 'pilot' | 4 dyads, 4 recordings (simulated) | roles ('therapist', 'client')>
    >>> results = study.run("out")          # hyperinsync run study.toml --out out
    >>> results
    <Results | 4 dyads, 4 recordings | group: contrast, features>
    >>> again = hs.read_results("out/results.h5")
    >>> again.to_table().query("roi == 'central'")[["dyad", "segment", "p"]].head(2)
         dyad   segment     p
    1  dyad01  rest_pre  0.05
    6  dyad01  rest_post  0.05
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
        physio=None,
        movement=None,
        simulate_physio=None,
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
        if groups is not None and (
            isinstance(groups, str) or not isinstance(groups, (list, tuple))
        ):
            raise StudyError(f"[study] groups must be a list of group labels, got {groups!r}.")
        self.groups = None if groups is None else [str(g) for g in groups]
        # absolute: the parts name their input files relative to it, whatever the cwd
        self.base_dir = Path(
            os.path.abspath(Path.cwd() if base_dir is None else Path(base_dir).expanduser())
        )
        self.study_toml = study_toml or ""
        self.schema_version = SCHEMA_VERSION
        self.reader = check_section({} if reader is None else reader, "reader")
        self.analysis = read_section(analysis, "analysis")
        if isinstance(self.analysis["segments"], str):
            self.analysis["segments"] = [self.analysis["segments"]]
        self.surrogates = read_section(surrogates, "surrogates")
        insync = check_section({} if insync is None else insync, "insync")
        self.insync = {
            lvl: read_section(insync.get(lvl), f"insync.{lvl}")
            for lvl in ("level1", "level2", "level3")
        }
        # `statistics = false` skips the group statistics
        self.statistics = read_section(statistics, "statistics")
        if self.statistics is not None:
            _check_statistics(self.statistics, self.surrogates)
            pseudo = self.statistics.get("pseudo_dyads")
            if pseudo is not None and pseudo is not False:
                self.statistics["pseudo_dyads"] = read_section(pseudo, "statistics.pseudo_dyads")
        given = [
            name
            for name, v in (
                ("[[dyads]]", dyads),
                ("[simulate]", simulate),
                ("[simulate_physio]", simulate_physio),
            )
            if v
        ]
        if len(given) > 1:
            raise StudyError(
                f"Give either dyads ([[dyads]]), [simulate] or [simulate_physio], "
                f"not {' and '.join(given)}."
            )
        if not given:
            raise StudyError(
                "The study has no dyads: add [[dyads]] tables, a [simulate] or "
                "a [simulate_physio] table."
            )
        self.physio = check_lagged(physio, "physio")
        self.movement = check_lagged(movement, "movement")
        self.simulate_physio = check_simulate_physio(simulate_physio, roles)
        self.simulate = None
        if simulate is not None:
            if isinstance(simulate, dict) and "couplings" in simulate:
                raise StudyError(
                    "[simulate] couplings cannot be given in a study file; use "
                    "Python (hyperinsync.simulate_study)."
                )
            self.simulate = check_section(simulate, "simulate")
            self.simulate["roles"] = list(roles)
            if "segments" in self.simulate:
                segs = self.simulate["segments"]
                if not isinstance(segs, list) or not all(
                    isinstance(x, (list, tuple)) and len(x) == 2 for x in segs
                ):
                    raise StudyError(
                        f"[simulate] segments must be a list of [name, seconds] "
                        f"pairs, got {segs!r}."
                    )
                self.simulate["segments"] = [tuple(x) for x in segs]
        # files named by options (ROI and montage files): their contents enter the cache key
        self._option_files = set()
        self._check_values()
        self.recordings = self._build_recordings(dyads)
        self.check_files()

    def _check_values(self):
        """Check, before any work, what would otherwise fail deep in every recording's analysis.

        Names that become labels, numbers, ROI files.
        """
        an = self.analysis
        try:
            bands = check_bands(an.get("bands"))
        except (TypeError, ValueError) as err:
            raise StudyError(f"[analysis] bands: {err}") from None
        for band in bands:
            _check_name(band, "band name", "[analysis] bands")
        segments = an["segments"]
        if not isinstance(segments, list) or not segments:
            raise StudyError(
                f"[analysis] segments must be a list of annotation descriptions "
                f"(or 'all'), got {segments!r}."
            )
        for seg in segments:
            _check_name(seg, "segment", "[analysis] segments")
        if len(set(segments)) != len(segments):
            raise StudyError(f"[analysis] segments lists a segment twice: {segments}.")
        measures = an.get("measures", "plv")
        if not (
            isinstance(measures, str)
            or (
                isinstance(measures, list)
                and measures
                and all(isinstance(m, str) for m in measures)
            )
        ):
            raise StudyError(
                f"[analysis] measures must be a name or a list of names, got {measures!r}."
            )
        if "epoch_duration" in an:
            _check_number(
                an["epoch_duration"], "[analysis] epoch_duration (seconds)", positive=True
            )
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
                    f'{lvl} = {{ method = "fft" }} or {lvl} = false.'
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
            _check_number(
                self.surrogates["n_surrogates"],
                "[surrogates] n_surrogates",
                integer=True,
                minimum=1,
            )
        st = self.statistics
        if st is not None:
            _check_number(
                st["n_permutations"], "[statistics] n_permutations", integer=True, minimum=1
            )
            rois = st.get("rois")
            if rois is not None and not (
                isinstance(rois, list) and all(isinstance(r, str) for r in rois)
            ):
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
        d = migrate(_load_toml(fname), source=str(fname))  # a version error names the file
        try:
            return cls.from_dict(
                d, base_dir=fname.parent, study_toml=fname.read_text(encoding="utf-8")
            )
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
        d = check_section(migrate(d), "")
        head = check_section(d.get("study", {}), "study")
        base = Path.cwd() if base_dir is None else Path(base_dir)
        if "data_dir" in head:
            if not isinstance(head["data_dir"], str):
                raise StudyError(
                    f"[study] data_dir must be a folder path, got {head['data_dir']!r}."
                )
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
            physio=d.get("physio"),
            movement=d.get("movement"),
            simulate_physio=d.get("simulate_physio"),
            base_dir=base,
            study_toml=study_toml,
        )

    def __repr__(self):
        """Return the one-line summary that ``repr()`` shows."""
        dyads = {r["dyad"] for r in self.recordings}
        kind = (
            "simulated"
            if self.simulate is not None
            else "simulated physiology"
            if self.simulate_physio is not None
            else "files"
        )
        return (
            f"<Study {self.name!r} | {len(dyads)} dyads, {len(self.recordings)} "
            f"recordings ({kind}) | roles {self.roles}>"
        )
