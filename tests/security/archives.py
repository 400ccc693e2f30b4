"""Crafted archives for the security tests: real exports, edited, with every checksum made valid again."""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections.abc import Callable
from pathlib import Path

from saas.exports.services import export_tenant_to_file


def export(fixture, path: Path) -> dict:
    with open(path, "wb") as target:
        return export_tenant_to_file(fixture.tenant, target)


def rewrite_with_checksums(source: Path, target: Path, edits: dict[str, Callable[[bytes], bytes]]) -> None:
    """Copy ``source`` to ``target`` with ``edits`` applied to the named files, and the manifest's sizes
    and SHA-256 updated: an archive that passes every integrity check, as an attacker would make it."""
    with zipfile.ZipFile(source) as old:
        files = {name: old.read(name) for name in old.namelist()}
    manifest = json.loads(files["manifest.json"])
    for name, edit in edits.items():
        edited = edit(files[name])
        assert edited != files[name], f"the edit of {name} changed nothing"
        files[name] = edited
        manifest["files"][name] = {
            "sha256": hashlib.sha256(files[name]).hexdigest(),
            "bytes": len(files[name]),
        }
    files["manifest.json"] = json.dumps(manifest).encode()
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as new:
        for name, data in files.items():
            new.writestr(name, data)


def csv_field(value: str) -> bytes:
    """``value`` as one quoted CSV field (RFC 4180: quotes doubled)."""
    return ('"' + value.replace('"', '""') + '"').encode()
