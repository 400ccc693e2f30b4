"""Node packages the tests use (axe-core, TypeScript), installed as their lock file says with ``npm ci``:
once per lock file into a cache folder, staged aside first so that parallel workers never see half an
install."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import uuid
from pathlib import Path


def install_locked(npm: str, package: Path, cache: Path, marker: str) -> Path:
    """The folder holding ``package``'s locked install (``package.json`` and ``package-lock.json``),
    installed when ``marker`` (a path inside it) is missing."""
    lock = (package / "package-lock.json").read_bytes()
    installed = cache / hashlib.sha256(lock).hexdigest()[:16]
    if not (installed / marker).exists():
        staging = cache / f"staging-{uuid.uuid4().hex[:8]}"
        staging.mkdir(parents=True)
        for name in ("package.json", "package-lock.json"):
            shutil.copy(package / name, staging / name)
        done = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts"],
            cwd=staging, capture_output=True, text=True, timeout=600,
        )  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr
        if installed.exists():  # another worker finished first
            shutil.rmtree(staging)
        else:
            staging.rename(installed)
    return installed
