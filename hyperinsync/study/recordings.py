"""The recordings of a study: their sources (files, readers, simulation) checked up front."""

from __future__ import annotations

import os
import re
from pathlib import Path

import mne

from .checks import (
    RecordingError,
    StudyError,
    _check_date,
    _check_name,
    _check_number,
    _file_key,
    check_section,
)
from .h5 import to_json
from .physio import companion_source, recording_paths
from .recording import (
    _make_simulated,
    _make_simulated_physio,
)
from .schema import FORMATS, LAGGED, READER_APPLIED, READER_BY_MODE


class _StudyRecordings:
    """Recordings and their files, and the options that name files (a mixin of ``Study``)."""

    def _build_recordings(self, dyads):
        """One job description per dyad and session."""
        out = self._build_sources(dyads)
        lagged = [k for k in LAGGED if getattr(self, k) is not None]
        eeg = {r["eeg"] for r in out}
        if eeg == {False} and not lagged:
            raise StudyError(
                "The study has no EEG recordings and no [physio] or [movement] "
                "section: nothing to analyse."
            )
        for kind in lagged:
            names = getattr(self, kind)["outcomes"]
            for r in out:
                missing = [o for o in names if o not in r["variables"]]
                if missing:
                    raise StudyError(
                        f"[{kind}] outcomes: {r['dyad']} session {r['session']} has no "
                        f"variable(s) {missing}; its variables: "
                        f"{sorted(r['variables']) or 'none'}."
                    )
        return out

    def _build_sources(self, dyads):
        if self.simulate_physio is not None:
            try:
                sim = _make_simulated_physio(to_json(self.simulate_physio))
            except (TypeError, ValueError) as err:
                raise StudyError(f"[simulate_physio]: {err}") from err
            outcomes = list(sim.design["outcomes"])
            return [
                dict(
                    dyad=row["dyad"],
                    session=int(row["session"]),
                    group=None,
                    date=row["date"].isoformat(),
                    eeg=False,
                    variables={k: row[k] for k in outcomes},
                    source=dict(mode="simulate_physio", design=self.simulate_physio),
                )
                for row in sim.table
            ]
        if self.simulate is not None:
            try:
                sim = _make_simulated(to_json(self.simulate))
            except StudyError:
                raise
            except (TypeError, ValueError) as err:
                raise StudyError(f"[simulate]: {err}") from err
            out = []
            for row in sim.table:
                variables = {k: row[k] for k in ("WAI_T", "WAI_C", "alliance_gap")}
                out.append(
                    dict(
                        dyad=row["dyad"],
                        session=int(row["session"]),
                        group=row["group"],
                        date=row["date"].isoformat(),
                        variables=variables,
                        eeg=True,
                        source=dict(mode="simulate", design=self.simulate),
                    )
                )
            return out
        if not isinstance(dyads, (list, tuple)):
            raise StudyError(f"dyads ([[dyads]]) must be a list of tables, got {dyads!r}.")
        out, seen, files = [], set(), {}
        for k, dyad in enumerate(dyads):
            where = f"[[dyads]] #{k + 1}"
            dyad = check_section(dyad, "dyads", where)
            if "name" not in dyad:
                raise StudyError(f"{where} has no name.")
            name = dyad["name"]
            # the name becomes the name of the dyad's part files
            _check_name(name, "dyad name", where, file=True)
            other = files.setdefault(_file_key(name), name)
            if other != name:
                raise StudyError(
                    f"dyad names {other!r} and {name!r} differ only in upper/lower case (or "
                    "Unicode form): their files would be one on macOS and Windows. Rename one."
                )
            where = f"dyad {name!r}"
            group = dyad.get("group")
            if self.groups is not None and group not in self.groups:
                raise StudyError(
                    f"{where} has group {group!r}, not one of [study] groups {self.groups}."
                )
            sessions = dyad.get("sessions") or []
            if not isinstance(sessions, list) or not sessions:
                raise StudyError(f"{where} has no sessions ([[dyads.sessions]]).")
            dyad_vars = self._check_variables(dyad.get("variables"), where)
            for j, ses in enumerate(sessions):
                swhere = f"{where}, session #{j + 1}"
                ses = check_section(ses, "dyads.sessions", swhere)
                index = _check_number(
                    ses.get("index", j), f"{swhere}: index", integer=True, minimum=0
                )
                if (name, index) in seen:
                    raise StudyError(f"{where} lists session {index} twice.")
                seen.add((name, index))
                swhere = f"{where}, session {index}"
                variables = dict(dyad_vars)
                variables.update(self._check_variables(ses.get("variables"), swhere))
                companions = {
                    k: companion_source(ses[k], k, getattr(self, k), swhere, self._path, self.roles)
                    for k in LAGGED
                    if ses.get(k) is not None
                }
                eeg = "files" in ses or "file" in ses
                for kind in LAGGED:
                    if getattr(self, kind) is not None and not eeg and kind not in companions:
                        raise StudyError(
                            f"{swhere} has no EEG recording (files / file) to read the "
                            f"[{kind}] channels from: give the session's {kind} files "
                            f"({kind} = {{ files = {{ role = path }} }} or "
                            f"{{ file = path }})."
                        )
                note = ses.get("annotations")
                out.append(
                    dict(
                        dyad=name,
                        session=index,
                        group=group,
                        date=_check_date(ses.get("date"), swhere),
                        variables=variables,
                        eeg=eeg,
                        companions=companions,
                        annotations=None if note is None else str(self._path(note)),
                        source=self._source(ses, swhere)
                        if eeg or not companions
                        else dict(mode="none", paths=[]),
                    )
                )
        if len({r["eeg"] for r in out}) > 1:
            some = next(f"{r['dyad']} session {r['session']}" for r in out if not r["eeg"])
            raise StudyError(
                f"{some} has no EEG recording (files / file) while other "
                "sessions have one: a study analyses EEG in every session or in "
                "none."
            )
        return out

    @staticmethod
    def _check_variables(variables, where):
        if variables is None:
            return {}
        if not isinstance(variables, dict) or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in variables.values()
        ):
            raise StudyError(
                f"{where}: variables must be a table of numbers "
                f"{{name = value}}, got {variables!r}."
            )
        return dict(variables)

    def _source(self, ses, where):
        """Resolve a session's files and reader options (mode: files | xdf | split | fif)."""
        own = {} if ses.get("reader") is None else ses["reader"]
        own = check_section(own, "reader", f"{where} reader")
        opts = {**self.reader, **own}
        fmt = opts.pop("format", "auto")
        if fmt not in FORMATS:
            raise StudyError(f"{where}: format {fmt!r} is not one of {', '.join(FORMATS)}.")
        if ("files" in ses) == ("file" in ses):
            raise StudyError(
                f"{where} needs exactly one of files = {{role = path}} (one file per person) "
                "and file = path (one file for both), or, without EEG, its physio or "
                "movement files."
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
        keys = READER_BY_MODE[mode] + READER_APPLIED
        misplaced = [k for k in own if k != "format" and k not in keys]
        if misplaced:
            raise StudyError(
                f"{where}: reader option(s) {misplaced} do not apply to {mode!r} recordings; "
                f"valid: {', '.join(keys) or 'none'}."
            )
        opts = {k: v for k, v in opts.items() if k in keys}
        if opts.get("montage") is not None:
            opts["montage"] = self._check_montage(opts["montage"], f"{where} reader")
        if mode == "split":
            self._check_split_roles(opts, where)
        if opts.get("rename_annotations") is not None:
            self._check_renames(opts["rename_annotations"], where)
        return dict(mode=mode, format=fmt, paths=[str(p) for p in paths], options=opts)

    @staticmethod
    def _check_renames(mapping, where):
        if not isinstance(mapping, dict):
            raise StudyError(
                f"{where}: reader rename_annotations must be a table "
                f"{{old = new}}, got {mapping!r}."
            )
        for old, new in mapping.items():
            if not isinstance(new, str):
                raise StudyError(
                    f"{where}: reader rename_annotations: {old!r} must be "
                    f"renamed to a text, got {new!r}."
                )
            _check_name(new, "renamed annotation", f"{where} reader rename_annotations")

    def _check_split_roles(self, opts, where):
        if ("pattern" in opts) == ("mapping" in opts):
            raise StudyError(f"{where}: a split recording needs exactly one of pattern, mapping.")
        for key in ("mapping", "role_map"):
            if key in opts and not isinstance(opts[key], dict):
                raise StudyError(f"{where}: reader {key} must be a table, got {opts[key]!r}.")
        if "pattern" in opts:
            try:
                rx = re.compile(opts["pattern"])
            except (re.error, TypeError) as err:
                raise StudyError(
                    f"{where}: reader pattern {opts['pattern']!r} is not a valid regular "
                    f"expression: {err}."
                ) from None
            if not {"name", "role"} <= set(rx.groupindex):
                raise StudyError(
                    f"{where}: reader pattern {opts['pattern']!r} needs the groups "
                    "(?P<name>...) and (?P<role>...), e.g. '(?P<name>.+)_(?P<role>[12])$'."
                )
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
        if not isinstance(p, (str, os.PathLike)) or not str(p).strip():
            raise StudyError(f"A file path must be a non-empty text, got {p!r}.")
        p = Path(p).expanduser()
        return p if p.is_absolute() else self.base_dir / p

    def check_files(self):
        """Raise :class:`StudyError` listing every input file that does not exist."""
        missing = [
            (rec, p)
            for rec in self.recordings
            for p in recording_paths(rec)
            if not Path(p).is_file()
        ]
        if len({(rec["dyad"], rec["session"]) for rec, _ in missing}) == 1:
            # one recording: its error, in one line (as when its analysis fails)
            rec = missing[0][0]
            lost = [p for _, p in missing]
            raise RecordingError(
                rec["dyad"],
                rec["session"],
                recording_paths(rec),
                FileNotFoundError(
                    f"not found: {', '.join(lost)} (relative paths start at {self.base_dir})"
                ),
            )
        missing = [f"{rec['dyad']} session {rec['session']}: {p}" for rec, p in missing]
        if missing:
            raise StudyError(
                f"{len(missing)} input file(s) not found (relative paths start at "
                f"{self.base_dir}):\n  " + "\n  ".join(missing)
            )

    def _check_rois(self, rois, where):
        """Validate an ROI option; an ROI file is found relative to the study's folder."""
        from ..rois import check_roi_dict, list_roi_sets, read_rois

        if rois is None:
            return None
        if isinstance(rois, dict):
            try:
                names = list(check_roi_dict(rois))
            except (TypeError, ValueError) as err:
                raise StudyError(f"{where}: {err}") from None
        elif isinstance(rois, str):
            if rois not in list_roi_sets():
                path = self._path(rois)
                if not path.is_file():
                    raise StudyError(
                        f"{where}: {rois!r} is neither a bundled ROI set "
                        f"({', '.join(list_roi_sets())}) nor an ROI file (looked for {path})."
                    )
                rois = str(path)
                self._option_files.add(rois)
            try:
                names = list(read_rois(rois, verbose=False))
            except ValueError as err:
                raise StudyError(f"{where}: {err}") from None
        else:
            raise StudyError(
                f"{where} must name a bundled ROI set or an ROI file, or be a "
                f"table {{name = [channels]}}, got {rois!r}."
            )
        for name in names:
            _check_name(name, "ROI name", where)
        return rois

    def _check_montage(self, montage, where):
        """Check a montage option: a bundled or MNE montage name, or a file (study-relative)."""
        from ..montage import list_montages

        if isinstance(montage, list):
            return [self._check_montage(m, where) for m in montage]
        if (
            not isinstance(montage, str)
            or montage in list_montages()
            or (montage in mne.channels.get_builtin_montages())
        ):
            return montage
        path = self._path(montage)
        if not path.is_file():
            raise StudyError(
                f"{where}: montage {montage!r} is neither a bundled montage "
                f"({', '.join(list_montages())}), an MNE standard montage nor a file (looked "
                f"for {path})."
            )
        self._option_files.add(str(path))
        return str(path)
