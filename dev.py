#!/usr/bin/env python3
"""One-command setup for riskdesk on a machine that has only Python >= 3.11.

    python3 dev.py demo      # create .venv, install the locked runtime, run `riskdesk demo`
    python3 dev.py test      # create .venv, install the locked runtime + test tools, run every gate
    python3 dev.py run ARGS  # run `riskdesk ARGS` inside the prepared .venv

The virtual environment lives in `.venv/` next to this file. Installs come from the
pinned lock files in `requirements/` (regenerate them with `python3 dev.py lock`).
A marker file records what was installed, so a second run skips the install.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / ("python.exe" if os.name == "nt" else "python")
RUNTIME_LOCK = ROOT / "requirements" / "runtime.lock"
DEV_LOCK = ROOT / "requirements" / "dev.lock"


def _run(*args: str | Path, env: dict[str, str] | None = None) -> None:
    printable = " ".join(str(a) for a in args)
    print(f"+ {printable}", flush=True)
    result = subprocess.run([str(a) for a in args], cwd=ROOT, env=env, check=False)  # noqa: S603
    if result.returncode != 0:
        sys.exit(result.returncode)


def _ensure_venv(lock: Path) -> None:
    if sys.version_info < (3, 11):  # noqa: UP036 - this script must explain itself on old Pythons
        sys.exit(f"riskdesk needs Python >= 3.11 (this is {sys.version.split()[0]})")
    if not PY.exists():
        print(f"creating virtual environment in {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
    digest = hashlib.sha256(lock.read_bytes() + (ROOT / "pyproject.toml").read_bytes()).hexdigest()
    marker = VENV / f".installed-{lock.stem}"
    if marker.exists() and marker.read_text() == digest:
        return
    _run(
        PY,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--require-hashes",
        "--no-deps",
        "-r",
        lock,
    )
    _run(
        PY,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--no-deps",
        "--no-build-isolation",
        "-e",
        ".",
    )
    marker.write_text(digest)


def _riskdesk(*args: str) -> None:
    _run(BIN / "riskdesk", *args)


def cmd_demo(_: list[str]) -> None:
    _ensure_venv(RUNTIME_LOCK)
    _riskdesk("demo")


def cmd_run(args: list[str]) -> None:
    _ensure_venv(RUNTIME_LOCK)
    _riskdesk(*args)


def cmd_test(args: list[str]) -> None:
    _ensure_venv(DEV_LOCK)
    _run(PY, "-m", "ruff", "check", "src", "tests", "benchmarks", "dev.py")
    _run(PY, "-m", "ruff", "format", "--check", "src", "tests", "benchmarks", "dev.py")
    _run(PY, "-m", "mypy")
    _run(BIN / "lint-imports")
    env = dict(os.environ)
    env.setdefault("OMP_WAIT_POLICY", "passive")
    _run(PY, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args, env=env)


def cmd_lock(_: list[str]) -> None:
    """Regenerate the lock files (needs network access to the package index)."""
    tools = ROOT / ".lockenv"
    if not (tools / "bin" / "uv").exists():
        venv.EnvBuilder(with_pip=True, clear=True).create(tools)
        _run(tools / "bin" / "python", "-m", "pip", "install", "--quiet", "uv")
    uv = tools / "bin" / "uv"
    common = [
        "pip",
        "compile",
        "pyproject.toml",
        "--generate-hashes",
        "--python-version",
        "3.11",
        "--no-header",
        "--quiet",
        "--index-url",
        "https://pypi.org/simple",
    ]
    _run(uv, *common, "--extra", "build", "-o", RUNTIME_LOCK)
    _run(uv, *common, "--extra", "test", "--extra", "build", "-c", RUNTIME_LOCK, "-o", DEV_LOCK)


COMMANDS = {"demo": cmd_demo, "test": cmd_test, "run": cmd_run, "lock": cmd_lock}


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        print(__doc__)
        sys.exit(2)
    COMMANDS[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    main()
