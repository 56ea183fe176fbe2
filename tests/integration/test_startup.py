"""A folder Duet cannot write stops it at start with one line that names it, not a traceback.

The tests run as root, for whom a chmod'ed folder is still writable: they use paths that fail
for root too (a folder inside a regular file), and a read-only file system simulated where
nothing else fails for root.
"""

import errno
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from app import create_app
from tests.conftest import test_settings

ROOT = Path(__file__).resolve().parents[2]


def start(tmp_path, instance: Path, **overrides) -> str:
    settings = test_settings(tmp_path, f"sqlite:///{instance / 'duet.sqlite3'}", **overrides)
    settings["INSTANCE_PATH"] = str(instance)
    with pytest.raises(SystemExit) as stopped:
        create_app(settings)
    message = str(stopped.value.code)
    assert message.startswith("Duet cannot start: ")
    assert "\n" not in message
    return message


def test_an_instance_folder_that_cannot_be_made(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    message = start(tmp_path, blocker / "instance")
    assert str(blocker / "instance") in message
    assert "Not a directory" in message


def test_a_read_only_instance_folder(tmp_path, monkeypatch):
    instance = tmp_path / "instance"
    instance.mkdir()
    monkeypatch.delenv("SECRET_KEY", raising=False)
    real_write_text = Path.write_text

    def read_only(path, *args, **kwargs):
        if path.parent == instance:
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(path))
        return real_write_text(path, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", read_only)
    message = start(tmp_path, instance)
    assert str(instance) in message
    assert "Read-only file system" in message


def test_a_folder_where_sqlite_cannot_write_its_journal(tmp_path, monkeypatch):
    instance = tmp_path / "instance"
    instance.mkdir()
    (instance / "secret_key").write_text("made on the first run")
    real_temporary_file = tempfile.TemporaryFile

    def read_only(*args, dir=None, **kwargs):
        if Path(dir) == instance:
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(dir))
        return real_temporary_file(*args, dir=dir, **kwargs)

    monkeypatch.setattr(tempfile, "TemporaryFile", read_only)
    message = start(tmp_path, instance)
    assert str(instance) in message
    assert "Read-only file system" in message


def test_a_sqlite_database_inside_a_file(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    url = f"sqlite:///{blocker / 'duet.sqlite3'}"
    with pytest.raises(SystemExit) as stopped:
        create_app(test_settings(tmp_path, url))
    assert str(stopped.value.code).startswith(f"Duet cannot start: cannot write to {blocker}")


def test_the_command_line_shows_one_line_and_no_traceback(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in {"SECRET_KEY", "DATABASE_URL", "TEST_DATABASE_URL"}
    }
    environment["DUET_INSTANCE_PATH"] = str(blocker / "instance")
    finished = subprocess.run(
        [sys.executable, "-c", "from app import create_app; create_app()"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert finished.returncode == 1
    lines = finished.stderr.strip().splitlines()
    assert len(lines) == 1, finished.stderr
    assert lines[0].startswith("Duet cannot start: cannot write to ")
