"""`make test` names the missing system tools and how to install them, before running."""

from __future__ import annotations

from tests import system_check


def test_missing_tools_are_named_with_their_packages(monkeypatch, capsys):
    monkeypatch.setattr(system_check.shutil, "which", lambda name: None if name == "sox" else "/x")
    monkeypatch.delenv("MIRA_ALLOW_MISSING_TOOLS", raising=False)
    assert system_check.main() == 1
    said = capsys.readouterr().err
    assert "sox" in said and "apt-get install -y sox" in said and "brew install sox" in said
    assert "ffmpeg" not in said
    monkeypatch.setenv("MIRA_ALLOW_MISSING_TOOLS", "1")
    assert system_check.main() == 0


def test_nothing_is_said_when_everything_is_there(monkeypatch, capsys):
    monkeypatch.setattr(system_check.shutil, "which", lambda name: "/usr/bin/" + name)
    monkeypatch.setattr(system_check, "LIBRIVOX", system_check.Path(__file__))
    assert system_check.main() == 0
    assert capsys.readouterr().err == ""
