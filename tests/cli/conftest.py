"""The ``cli`` fixture: ``python -m analytics ARGS --db <the small demo>`` in a child process, with an ops
store and a secrets file of the test's own."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.paths import ROOT


@pytest.fixture()
def cli(demo_db, tmp_path):
    env = {
        **os.environ,
        "REVLENS_OPS_URL": f"sqlite:///{tmp_path / 'ops.sqlite'}",
        "REVLENS_SECRETS": str(tmp_path / "x"),
    }

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "analytics", *args, "--db", demo_db],
            capture_output=True,
            text=True,
            timeout=300,
            cwd=ROOT,
            env=env,
        )

    return run
