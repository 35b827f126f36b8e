"""The study file's schema: explicit, versioned, pinned by a snapshot, tied to its functions.

Renaming a Python keyword must never change the study file format silently: the keys are
declared in ``hyperinsync.study.schema`` and these tests check that every key still reaches
a parameter of its function (and documents that parameter's default), and that the schema
equals the snapshot of its version (``tests/data/study_schema_v<N>.json``).

To record a deliberate change: a new key (old files stay valid) -> rewrite the snapshot of the
current version (``python tests/test_schema.py``); a removed or renamed key, a changed default
or a narrower type (an old file would change meaning or fail) -> bump ``SCHEMA_VERSION``, add
the migration from the old version to ``MIGRATIONS``, keep the old snapshot and write the new.
"""

import inspect
import json
import warnings
from pathlib import Path

import pytest
import tomllib

from hyperinsync import lagged_pseudo_dyads, lagged_sync
from hyperinsync.insync import level1, level2, level3
from hyperinsync.io import read_dyad_files, read_dyad_xdf, split_dyad
from hyperinsync.simulation import simulate_physio_study, simulate_study
from hyperinsync.stats import pseudo_dyad_test, surrogate_test
from hyperinsync.study import Study, StudyError, example_study_toml, schema
from hyperinsync.study.checks import check_section, migrate
from hyperinsync.study.schema import FROM_ANALYSIS, SCHEMA_VERSION, SECTIONS, schema_dict
from hyperinsync.sync import compute_sync

ROOT = Path(__file__).resolve().parents[1]
SNAPSHOT = Path(__file__).parent / "data" / f"study_schema_v{SCHEMA_VERSION}.json"

# section -> (its function, keys the study itself reads, which the function does not take)
FUNCTIONS = {
    "analysis": (compute_sync, {"segments"}),
    "surrogates": (surrogate_test, set()),
    "insync.level1": (level1, {"segment"}),
    "insync.level2": (level2, set()),
    "insync.level3": (level3, set()),
    "statistics.pseudo_dyads": (pseudo_dyad_test, {"session"}),
    "simulate": (simulate_study, set()),
    # [physio] / [movement]: how the series are read and preprocessed, and the group step,
    # are the study's; the rest reaches lagged_sync
    **{
        kind: (
            lagged_sync,
            {
                "channels",
                "ch_types",
                "format",
                "sfreq",
                "offsets",
                "reader_kwargs",
                "preprocessing",
                "value",
                "icc",
                "outcomes",
                "center",
                "pseudo_dyads",
            },
        )
        for kind in ("physio", "movement")
    },
    "lagged.pseudo_dyads": (lagged_pseudo_dyads, {"session"}),
    "simulate_physio": (simulate_physio_study, set()),
}
READERS = {"files": read_dyad_files, "xdf": read_dyad_xdf, "split": split_dyad}


def _params(func):
    return inspect.signature(func).parameters


def _plain(value):
    return json.loads(json.dumps(value))


def _snapshot_text():
    d = schema_dict()
    lines = ["{", f' "schema_version": {d["schema_version"]},', ' "sections": {']
    secs = list(d["sections"].items())
    for i, (name, keys) in enumerate(secs):
        lines.append(f"  {json.dumps(name)}: {{")
        items = list(keys.items())
        for j, (k, v) in enumerate(items):
            lines.append(f"   {json.dumps(k)}: {json.dumps(v)}" + ("," * (j < len(items) - 1)))
        lines.append("  }" + ("," * (i < len(secs) - 1)))
    return "\n".join(lines + [" }", "}"]) + "\n"


def test_schema_equals_its_snapshot():
    assert SNAPSHOT.is_file(), f"no snapshot of schema version {SCHEMA_VERSION}: {SNAPSHOT}"
    pinned = json.loads(SNAPSHOT.read_text(encoding="utf-8"))
    current = _plain(schema_dict())
    assert pinned["schema_version"] == SCHEMA_VERSION
    changed = []
    for name in sorted(set(pinned["sections"]) | set(current["sections"])):
        old, new = pinned["sections"].get(name, {}), current["sections"].get(name, {})
        for key in sorted(set(old) | set(new)):
            if old.get(key) != new.get(key):
                changed.append(f"{name or '(top)'}.{key}: {old.get(key)} -> {new.get(key)}")
    assert not changed, (
        "the study-file schema changed without a new snapshot (see this module's docstring: "
        "a removed/renamed key or a changed default needs SCHEMA_VERSION + 1 and a "
        "migration):\n  " + "\n  ".join(changed)
    )


@pytest.mark.parametrize("section", sorted(FUNCTIONS))
def test_every_key_reaches_its_function_with_its_default(section):
    """A renamed keyword (or a changed default) fails here, not silently in users' files."""
    func, own = FUNCTIONS[section]
    params = _params(func)
    sec = SECTIONS[section]
    for key in sec.keys:
        if key.name in own:
            continue
        assert key.name in params, (
            f"{sec.title} {key.name} is not a parameter of "
            f"{func.__name__}: rename it in the schema (and migrate)"
        )
        if key.filled or key.default in (FROM_ANALYSIS, "[statistics]"):
            continue
        default = params[key.name].default
        if default is inspect.Parameter.empty:  # required (lagged_sync's lag and window)
            assert key.default is None and "required" in key.doc, (section, key.name)
            continue
        assert _plain(key.default) == _plain(default), (
            f"{sec.title} {key.name}: the schema documents {key.default!r}, "
            f"{func.__name__} defaults to {default!r}"
        )
    # the [analysis] options a step receives are exactly the shared ones it takes
    shared = ("bands", "rois", "epoch_duration") + schema._SIGNALS
    if sec.receives:
        assert set(sec.receives) == {p for p in shared if p in params}, section


def test_reader_keys_reach_their_readers():
    keys = {k.name: k for k in SECTIONS["reader"].keys}
    assert set(keys) == {"format", *schema.READER_APPLIED} | {
        k for ks in schema.READER_BY_MODE.values() for k in ks
    }
    for mode, func in READERS.items():
        params = _params(func)
        for name in schema.READER_BY_MODE[mode]:
            if (mode, name) == ("split", "reader_kwargs"):  # for the file's own reader
                continue
            assert name in params, (mode, name)
            assert _plain(keys[name].default) == _plain(params[name].default), (mode, name)


def test_example_file_is_shipped_valid_and_shown_in_the_user_guide(tmp_path):
    path = ROOT / "hyperinsync" / "study" / "example_study.toml"
    text = example_study_toml()
    assert text == path.read_text(encoding="utf-8")
    parsed = tomllib.loads(text)
    assert parsed["schema_version"] == SCHEMA_VERSION
    # every section and key of the example is in the schema (none is left out unchecked)
    d = check_section(migrate(parsed), "")
    for name in ("study", "reader", "analysis", "surrogates", "insync", "statistics"):
        check_section(d[name], name)
    for lvl, opts in d["insync"].items():
        check_section(opts, f"insync.{lvl}")
    check_section(d["statistics"]["pseudo_dyads"], "statistics.pseudo_dyads")
    assert {k for t in parsed.values() if isinstance(t, dict) for k in t} <= {
        k.name for s in SECTIONS.values() for k in s.keys
    }
    # and it builds a study once its files exist
    (tmp_path / "s.toml").write_text(text)
    for rel in (
        "dyad01/therapist.Poly5",
        "dyad01/client.Poly5",
        "dyad01/session1.xdf",
        "dyad02/session0.Poly5",
    ):
        (tmp_path / "data" / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "data" / rel).write_bytes(b"")
    st = Study.from_toml(tmp_path / "s.toml")
    assert st.schema_version == SCHEMA_VERSION and len(st.recordings) == 3
    # the user guide shows this very file: the docs build writes example_study_toml() to
    # doc/_generated/example_study.toml and the page includes it (no copy to drift)
    guide = ROOT / "doc" / "user_guide" / "study.rst"
    if guide.is_file():
        assert ".. literalinclude:: ../_generated/example_study.toml" in guide.read_text(
            encoding="utf-8"
        )


def _check_study_tables(d):
    """Every section, nested section and key of a parsed study file is in the schema."""
    d = check_section(migrate(d), "")
    for name, value in d.items():
        if name in ("dyads",):
            for dyad in value:
                dyad = check_section(dyad, "dyads")
                for session in dyad.get("sessions", []):
                    check_section(session, "dyads.sessions")
        elif isinstance(value, dict) and name in SECTIONS:
            value = check_section(value, name)
            for sub, opts in value.items():
                if isinstance(opts, dict) and f"{name}.{sub}" in SECTIONS:
                    check_section(opts, f"{name}.{sub}")


def test_study_files_in_the_user_guide_are_valid():
    guide = ROOT / "doc" / "user_guide"
    if not guide.is_dir():
        pytest.skip("doc/ sources not present (installed package only)")
    blocks = []
    for page in sorted(guide.glob("*.rst")):
        for block in page.read_text(encoding="utf-8").split(".. code-block:: toml\n")[1:]:
            lines = block.split("\n")[1:]  # the blank line after the directive
            body = []
            for line in lines:
                if line and not line.startswith("   "):
                    break
                body.append(line[3:])
            blocks.append((page.name, "\n".join(body)))
    assert len(blocks) >= 2, blocks
    for name, text in blocks:
        _check_study_tables(tomllib.loads(text))
    # and the check can fail: a misspelt key is refused
    with pytest.raises(StudyError, match="did you mean 'window'"):
        _check_study_tables(tomllib.loads("[physio]\nwindw = 30\n"))


def _sim(extra="", top=""):
    return tomllib.loads(
        top
        + """
[study]
roles = ["A", "B"]
[simulate]
n_dyads = 4
segments = [["rest_pre", 10], ["rest_post", 10]]
sfreq = 100
"""
        + extra
    )


@pytest.mark.parametrize(
    "toml, match",
    [
        (
            "[insync]\nlevel1 = { windw = 4.0 }\n",
            r"Unknown key\(s\) \['windw'\] in \[insync\] level1\. Valid keys: bands, rois, "
            r"segment, .* 'windw': did you mean 'window'\?",
        ),
        (
            "[surrogates]\nn_surogates = 10\n",
            r"\['n_surogates'\] in \[surrogates\].*did you mean 'n_surrogates'",
        ),
        (
            "[statistics]\npseudo_dyads = { sesion = 0 }\n",
            r"in \[statistics\] pseudo_dyads.*'sesion': did you mean 'session'",
        ),
        # a parameter of the function that is not a study key: level3's data arguments
        ("[insync]\nlevel3 = { dates = [] }\n", r"\['dates'\] in \[insync\] level3"),
        # no close match: the valid keys only
        (
            "[analysis]\nzzz = 1\n",
            r"\['zzz'\] in \[analysis\]\. Valid keys: bands, measures, "
            r"[^']*\.$",
        ),
        # values of the wrong kind are refused at load
        (
            '[analysis]\nepoch_duration = "2"\n',
            r"\[analysis\] epoch_duration must be a number, got '2' \(str\)",
        ),
        (
            "[insync]\nlevel1 = { lead_lag = 1 }\n",
            r"\[insync\] level1 lead_lag must be true or false",
        ),
        (
            '[surrogates]\nn_surrogates = "many"\n',
            r"\[surrogates\] n_surrogates must be a whole number",
        ),
    ],
)
def test_unknown_keys_and_wrong_kinds(toml, match):
    with pytest.raises(StudyError, match=match):
        Study.from_dict(_sim(toml))


def test_schema_version(tmp_path):
    st = Study.from_dict(_sim(top=f"schema_version = {SCHEMA_VERSION}\n"))
    assert st.schema_version == SCHEMA_VERSION
    assert st.params["schema_version"] == SCHEMA_VERSION
    assert Study.from_dict(_sim()).params == st.params  # absent: the current version
    with pytest.raises(
        StudyError,
        match=rf"schema version {SCHEMA_VERSION + 1}, newer than "
        rf"this hyperinsync .* reads \(up to {SCHEMA_VERSION}\)\. Upgrade",
    ):
        Study.from_dict(_sim(top=f"schema_version = {SCHEMA_VERSION + 1}\n"))
    toml = tmp_path / "future.toml"
    toml.write_text(f"schema_version = {SCHEMA_VERSION + 1}\n[study]\n")
    with pytest.raises(
        StudyError,
        match=rf"{toml.name} is written for study-file schema "
        rf"version {SCHEMA_VERSION + 1}",
    ):
        Study.from_toml(toml)
    for bad in ("0", "true", '"1"', "1.5"):
        with pytest.raises(StudyError, match="schema_version must be a whole number >= 1"):
            Study.from_dict(_sim(top=f"schema_version = {bad}\n"))


def test_older_versions_are_migrated(monkeypatch):
    """The migration chain runs from the file's version up to the current one."""

    def v1_to_v2(d):  # e.g. a future rename of [analysis] measures -> metrics
        d = dict(d)
        d["analysis"] = {
            ("metrics" if k == "measures" else k): v for k, v in d.get("analysis", {}).items()
        }
        return d

    monkeypatch.setattr(schema, "SCHEMA_VERSION", 2)
    monkeypatch.setattr(schema, "MIGRATIONS", {1: v1_to_v2})
    out = migrate({"schema_version": 1, "analysis": {"measures": ["coh"]}})
    assert out == {"analysis": {"metrics": ["coh"]}}
    assert migrate({"analysis": {"metrics": ["coh"]}}) == {"analysis": {"metrics": ["coh"]}}


def test_older_spellings_warn_and_are_renamed():
    with pytest.warns(
        FutureWarning,
        match=r"\[insync\] level1: n_null is the older spelling "
        r"of n_surrogates; write n_surrogates = 30",
    ):
        st = Study.from_dict(_sim("[insync]\nlevel1 = { n_null = 30 }\n"))
    assert st.insync["level1"] == {"n_surrogates": 30}
    with pytest.warns(
        FutureWarning,
        match=r"\[surrogates\]: correction = \"none\" is the "
        r"older spelling of correction = false",
    ):
        st = Study.from_dict(_sim('[surrogates]\ncorrection = "none"\n'))
    assert st.surrogates["correction"] is None
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        st = Study.from_dict(_sim("[insync]\nlevel2 = { correction = false }\n"))
    assert st.insync["level2"]["correction"] is None
    with pytest.raises(StudyError, match="has both n_null .* and n_surrogates"):
        Study.from_dict(_sim("[insync]\nlevel2 = { n_null = 3, n_surrogates = 4 }\n"))


def test_defaults_filled_as_declared():
    st = Study.from_dict(_sim())
    assert st.analysis == SECTIONS["analysis"].defaults()
    assert st.surrogates == SECTIONS["surrogates"].defaults()
    assert st.statistics == SECTIONS["statistics"].defaults()
    assert st.insync == {"level1": {}, "level2": {}, "level3": {}}
    assert (
        Study.from_dict(
            _sim('[statistics]\nfeature = "raw"\n', top="surrogates = false\n")
        ).surrogates
        is None
    )


if __name__ == "__main__":  # write the snapshot of the current schema version
    SNAPSHOT.write_text(_snapshot_text(), encoding="utf-8")
    print(f"wrote {SNAPSHOT}")
