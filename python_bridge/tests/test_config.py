"""Settings: a value that does not fit stops the server at start with a message naming the setting."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from o16n.server.config import ConfigError, Settings


@pytest.mark.parametrize("variable, value, expected", [
    ("O16N_POOL_MAX_SIZE", "four", "expected an integer, got 'four'"),
    ("O16N_CONSUME_TIMEOUT", "soon", "expected a number, got 'soon'"),
    ("O16N_WORKER_SANDBOX", "requierd", "expected one of auto, off, required, got 'requierd'"),
])
def test_a_bad_setting_is_named(monkeypatch, variable, value, expected):
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError) as error:
        Settings.from_env()
    assert error.value.key == variable and expected in str(error.value)


def test_choices_hold_however_settings_are_made(tmp_path):
    with pytest.raises(ConfigError, match="O16N_WORKER_SANDBOX"):
        Settings(data_dir=tmp_path, worker_sandbox="sometimes")  # type: ignore[arg-type]


def test_serve_refuses_to_start_and_says_why(tmp_path: Path):
    env = dict(os.environ, O16N_POOL_MAX_SIZE="four")
    started = subprocess.run([sys.executable, "-m", "o16n.cli", "serve", "--data-dir", str(tmp_path), "--port", "1"],
                             env=env, capture_output=True, text=True, timeout=60)
    assert started.returncode == 2
    assert "O16N_POOL_MAX_SIZE: expected an integer, got 'four'" in started.stderr
    assert "Traceback" not in started.stderr


def test_numbers_and_choices_are_read():
    env = {"O16N_POOL_MAX_SIZE": "8", "O16N_CONSUME_TIMEOUT": "2.5", "O16N_WORKER_SANDBOX": "off",
           "O16N_DATABASE_URL": ""}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        settings = Settings.from_env(port=5000)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    assert (settings.pool_max_size, settings.consume_timeout, settings.worker_sandbox) == (8, 2.5, "off")
    assert settings.database_url is None and settings.port == 5000


def test_serve_freezes_what_start_up_loaded_and_collects_young_objects_less_often():
    probe = ("import gc; from o16n.cli import YOUNG_GC_THRESHOLD, tune_garbage_collector; tune_garbage_collector(); "
             "print(gc.get_threshold()[0] == YOUNG_GC_THRESHOLD, gc.get_freeze_count() > 10_000)")
    assert subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.split() == ["True", "True"]
