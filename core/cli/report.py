"""``python -m core report WORKSPACE.zip -o report.html``: the persona report, headless.

Reads a workspace exported from the app (validated by :func:`core.workspace.bundle.read_bundle`)
and writes the same self-contained HTML report as the Personas page's download.
"""

from __future__ import annotations

import argparse
import time

from core.cli.common import EXIT_OK, INPUT_FILE, output_in
from core.common.errors import ConfigError


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``report`` sub-command."""
    parser = sub.add_parser("report", help="write the persona report of a workspace zip")
    parser.add_argument("workspace", type=INPUT_FILE, help="workspace .zip exported from the app")
    parser.add_argument("-o", "--output", required=True, type=output_in((".html", ".htm"), ".html"),
                        help="report.html")
    parser.set_defaults(func=cmd_report)


def cmd_report(args: argparse.Namespace) -> int:
    """Build the report and write it; return the exit code."""
    from core.workspace.bundle import read_bundle
    from core.workspace.report import build_report

    out = args.output
    start = time.perf_counter()
    ws = read_bundle(args.workspace)
    if ws.clusters is None:
        raise ConfigError("The workspace has no clusters, so there are no personas to report. "
                          "Cluster the users in the app (or with `python -m core cluster`) "
                          "and export the workspace again.")
    html = build_report(ws)
    out.write_text(html, encoding="utf-8")
    print(f"Wrote the persona report ({len(html) / 1e6:.1f} MB) to {out} in "
          f"{time.perf_counter() - start:.1f} s.")
    return EXIT_OK
