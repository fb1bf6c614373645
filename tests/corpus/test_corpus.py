"""Every input of the corpus gets its outcome: the exit code, and the counts, notes or
message that say what was read or what is wrong and what to do. None prints a
traceback. See :mod:`tests.corpus.cases`."""

from __future__ import annotations

from collections import Counter

import pytest

from core.cli.main import main
from tests.corpus.cases import CASES, command_line


def test_the_corpus_is_broad():
    kinds = Counter(case.kind for case in CASES)
    assert len(CASES) >= 80 and len({c.id for c in CASES}) == len(CASES)
    assert {"events", "file", "table", "experiment", "rules", "workspace"} <= set(kinds)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_input_gets_its_outcome(case, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PERSONA_LENS_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    code = main(command_line(case, tmp_path))
    out, err = capsys.readouterr()
    assert "Traceback" not in err and "Traceback" not in out
    assert code == case.code, f"exit {code}\nstdout: {out}\nstderr: {err}"
    for fragment in case.err:
        assert fragment in err, f"{fragment!r} not in stderr:\n{err}"
    for fragment in case.out:
        assert fragment in out, f"{fragment!r} not in stdout:\n{out}"
    if case.written:
        result = next(tmp_path.glob("result.*")).read_text(encoding="utf-8")
        for fragment in case.written:
            assert fragment in result, f"{fragment!r} not in the output"
