"""What the command line's subcommands share: files written whole, figures without a display."""

from __future__ import annotations

from .._utils import atomic_path


def _use_agg():
    # figures are written to files only
    import matplotlib

    matplotlib.use("Agg")


def _write_table(table, fname):
    with atomic_path(fname) as tmp:  # never a half-written table
        table.to_csv(tmp, index=False)
