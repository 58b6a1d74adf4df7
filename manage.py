#!/usr/bin/env python3
"""Django's command-line utility, with a bootstrap so a fresh clone needs only Python >= 3.12.

    python3 manage.py up      # create .venv from requirements-dev.lock, migrate, run the server
    python3 manage.py test    # the same set-up, then the pytest suite (arguments pass through)

The bootstrap is stdlib-only on purpose: it runs before any dependency exists. It only
ever syncs a .venv it made itself: an environment that has Django otherwise (an
operator's, installed from the runtime lock; a container image) is used as it is.
"""

import hashlib
import os
import subprocess
import sys
import venv
from importlib.util import find_spec
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
# The dev lock: the runtime lock (requirements.lock, what a production server installs)
# plus the test tools and the `artifact` command's own dependencies.
LOCK = ROOT / "requirements-dev.lock"
STAMP = VENV / ".requirements-dev.lock.sha256"
OLD_STAMP = VENV / ".requirements.lock.sha256"  # this bootstrap's, before the two locks


def _venv_python() -> Path:
    return VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def _venv_sync() -> None:
    """Install exactly the locked dependencies, once per change of the lock file."""
    wanted = hashlib.sha256(LOCK.read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text().strip() == wanted:
        return
    print("Setting up .venv from requirements-dev.lock (first run; about a minute)...", flush=True)
    if not _venv_python().exists():
        venv.EnvBuilder(with_pip=True).create(VENV)
    pip = [str(_venv_python()), "-m", "pip", "--disable-pip-version-check", "install", "-q"]
    # The pip that comes with Python 3.12.1 (23.2) refuses a hashed lock in which a
    # package asks for an extra of another one (scim2-models: pydantic[email]) unless the
    # locked version is the newest on PyPI; pip 25 resolves it from the lock.
    result = subprocess.run([*pip, "pip>=25.1"], check=False)  # noqa: S603
    if result.returncode == 0:
        result = subprocess.run([*pip, "--require-hashes", "-r", str(LOCK)], check=False)  # noqa: S603
    if result.returncode == 0:
        # The server and the `artifact` command (cli/, a distribution of its own), editable;
        # their dependencies are in the lock.
        editable = [
            *pip,
            "--no-deps",
            "--no-build-isolation",
            "-e",
            str(ROOT),
            "-e",
            str(ROOT / "cli"),
        ]
        result = subprocess.run(editable, check=False, stdout=subprocess.DEVNULL)  # noqa: S603
    if result.returncode != 0:
        sys.exit("error: installing the locked dependencies failed (see pip's message above)")
    STAMP.write_text(wanted)


def bootstrap() -> None:
    if sys.version_info < (3, 12):  # noqa: UP036  (this file runs before the venv exists)
        sys.exit(f"error: Python >= 3.12 is required, this is {sys.version.split()[0]}")
    in_repo_venv = Path(sys.prefix).resolve() == VENV.resolve()
    # Only a .venv this bootstrap made is ever synced: an operator's environment (a server
    # installed from the runtime lock, or a .venv made by hand) is used as it is, and never
    # gets the dev lock.
    made_here = STAMP.exists() or OLD_STAMP.exists()
    if in_repo_venv:
        if made_here:
            _venv_sync()
        return
    if find_spec("django") is not None and not (VENV.exists() and made_here):
        return  # an operator's own environment
    _venv_sync()
    python = str(_venv_python())
    os.execv(python, [python, __file__, *sys.argv[1:]])  # noqa: S606


def main() -> None:
    bootstrap()
    if sys.argv[1:2] == ["test"]:
        # The suite is pytest + pytest-django; `manage.py test` is its front door.
        os.chdir(ROOT)
        os.execv(sys.executable, [sys.executable, "-m", "pytest", *sys.argv[2:]])  # noqa: S606
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    # Here, not at the top: Django exists only once the bootstrap above has made .venv.
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
