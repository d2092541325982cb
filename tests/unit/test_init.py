"""``ml-connector init``: the starter files are the repository's dags/, byte for byte."""

from __future__ import annotations

from pathlib import Path

from ml_connector.cli import main as cli
from ml_connector.init import STARTER

ROOT = Path(__file__).resolve().parents[2]


def test_init_writes_the_starter_files_and_never_overwrites_unasked(tmp_path, capsys):
    dags = tmp_path / "dags"
    assert cli(["init", str(dags), "--no-pools"]) == 0
    for name in STARTER:
        assert (dags / "ml_connector" / name).read_bytes() == (ROOT / "dags" / name).read_bytes()
    out = capsys.readouterr().out
    assert "pools not created: ml-connector pools --flows" in out
    (dags / "ml_connector" / "flows.yaml").write_text("flows: []\n")
    assert cli(["init", str(dags), "--no-pools"]) == 2
    assert "exist already" in capsys.readouterr().err
    assert (dags / "ml_connector" / "flows.yaml").read_text() == "flows: []\n"
    assert cli(["init", str(dags), "--no-pools", "--force"]) == 0
    assert (dags / "ml_connector" / "flows.yaml").read_bytes() == \
        (ROOT / "dags" / "flows.yaml").read_bytes()


def test_a_missing_flows_file_is_one_line_with_the_fix(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)  # outside the repository: no dags/flows.yaml here
    assert cli(["pools"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("ml-connector pools: no flows file at dags/flows.yaml")
    assert "ml-connector init" in err and "Traceback" not in err
