"""The command line's default path on logs shaped like real exports: features, sweep and
cluster exit 0 and report what they decided."""

from __future__ import annotations

import json

import pytest

from core.cli import main
from tests.core.workspace.test_real_logs import grocery, purchases_yyyymmdd, ratings


@pytest.mark.parametrize(("name", "make", "expect"), [
    ("transactions.csv.gz", grocery, "no event column: every row is one 'purchase' event"),
    ("cdnow.txt", purchases_yyyymmdd, "every time is a whole day"),
    ("ratings.csv", ratings, "share their user and instant"),
])
def test_features_sweep_and_cluster_complete(tmp_path, capsys, name, make, expect):
    path = tmp_path / name
    frame = make()
    if name.endswith(".gz"):
        frame.to_csv(path, index=False, compression="gzip")
    elif name.endswith(".txt"):
        frame.to_csv(path, index=False, sep=" ")
    else:
        frame.to_csv(path, index=False)
    assert main(["features", str(path), "-o", str(tmp_path / "f.csv")]) == 0
    out = capsys.readouterr().out
    assert f"kept {len(frame):,}" in out or "dropped" in out
    assert expect in out
    assert main(["sweep", str(path), "--k", "2-5", "--json"]) == 0
    sweep = json.loads(capsys.readouterr().out)
    assert 2 <= sweep["suggested_k"] <= 5
    assert main(["cluster", str(path), "--k", str(sweep["suggested_k"]),
                 "-o", str(tmp_path / "segments.csv")]) == 0
    assert "Clustered" in capsys.readouterr().out
