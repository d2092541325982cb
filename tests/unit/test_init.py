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


def test_commands_find_the_flows_file_init_wrote(tmp_path, monkeypatch):
    """Without --flows: dags/flows.yaml in a checkout, else the file `ml-connector init
    "$AIRFLOW_HOME/dags"` wrote, <dags folder>/ml_connector/flows.yaml."""
    from ml_connector.cli import build_parser, default_flows

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("AIRFLOW__CORE__DAGS_FOLDER", raising=False)
    assert default_flows() == "dags/flows.yaml", "nothing written: the message names it"
    assert cli(["init", str(tmp_path / "home" / "dags"), "--no-pools"]) == 0
    written = tmp_path / "home" / "dags" / "ml_connector" / "flows.yaml"
    assert default_flows() == str(written)
    assert build_parser().parse_args(["doctor"]).flows == str(written)
    monkeypatch.setenv("AIRFLOW__CORE__DAGS_FOLDER", str(tmp_path / "elsewhere"))
    assert default_flows() == "dags/flows.yaml"
    (tmp_path / "dags").mkdir()
    (tmp_path / "dags" / "flows.yaml").write_text("flows: []\n")
    monkeypatch.delenv("AIRFLOW__CORE__DAGS_FOLDER")
    assert default_flows() == "dags/flows.yaml", "a checkout's own file first"


def test_init_writes_into_the_dags_folder_airflow_cfg_names(tmp_path, monkeypatch):
    """Without DAGS_FOLDER: Airflow's [core] dags_folder, from airflow.cfg here."""
    home = tmp_path / "home"
    home.mkdir()
    (home / "airflow.cfg").write_text(f"[core]\ndags_folder = {tmp_path / 'my dags'}\n")
    monkeypatch.setenv("AIRFLOW_HOME", str(home))
    monkeypatch.delenv("AIRFLOW__CORE__DAGS_FOLDER", raising=False)
    assert cli(["init", "--no-pools"]) == 0
    assert (tmp_path / "my dags" / "ml_connector" / "flows.yaml").exists()
    assert not (home / "dags").exists()
