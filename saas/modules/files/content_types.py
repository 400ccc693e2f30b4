"""What an uploaded file really is, decided from its first bytes (``filetype``), never from the name or the
type its sender claims; and which kinds we refuse to store (programs, and pages a browser would run)."""

from __future__ import annotations

import re
from pathlib import PurePath

import filetype

from saas.errors import SaasError
from saas.i18n import N_

SNIFF_BYTES = 8192
"""How much of a file is read to tell its kind (``filetype`` needs 261 bytes; text checks want more)."""

PREVIEWABLE = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf"})
"""Kinds a browser may show inline (a preview): images and PDF, which run no script of ours."""

REFUSED_TYPES = frozenset(
    {
        "application/x-msdownload",
        "application/x-executable",
        "application/x-mach-binary",
        "application/x-sharedlib",
        "application/x-shockwave-flash",
        "application/x-google-chrome-extension",
        "application/vnd.ms-cab-compressed",
        "application/x-rpm",
        "application/x-deb",
        "application/wasm",
    }
)
"""Programs and installers, as ``filetype`` names them."""

REFUSED_EXTENSIONS = frozenset({
    ".exe", ".dll", ".com", ".scr", ".msi", ".msp", ".bat", ".cmd", ".ps1", ".psm1", ".vbs", ".vbe",
    ".wsf", ".hta", ".jar", ".js", ".mjs", ".sh", ".bash", ".app", ".apk", ".dmg", ".pkg", ".deb",
    ".rpm", ".elf", ".so", ".dylib", ".html", ".htm", ".xhtml", ".shtml", ".svg", ".svgz", ".xml",
    ".xsl", ".php", ".cgi",
})  # fmt: skip
"""Names that a desktop or a browser would run or render as a page, whatever the bytes say."""

_MARKUP = re.compile(rb"<\s*(!doctype\s+html|html|head|body|script|svg|iframe|object|embed|\?xml)\b", re.I)
_CONTROL = re.compile(rb"[\x00-\x08\x0b\x0e-\x1a\x1c-\x1f]")


class UnsupportedFileType(SaasError):
    status = 415
    title = "File type not accepted"


def _is_text(head: bytes) -> bool:
    """UTF-8 (or ASCII) text without control characters; a multi-byte character cut at the end is fine."""
    if _CONTROL.search(head):
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as error:
        return error.start >= len(head) - 3
    return True


def classify(head: bytes, filename: str) -> str:
    """The content type to store and serve ``head`` (a file's first bytes) as; refuses what we never store."""
    extension = PurePath(filename.lower()).suffix
    if extension in REFUSED_EXTENSIONS:
        raise UnsupportedFileType(
            N_("Files of this kind (%(extension)s) are not accepted.", extension=extension)
        )
    kind = filetype.guess(head)
    if kind is not None:
        if kind.mime in REFUSED_TYPES:
            raise UnsupportedFileType(N_("Programs and installers are not accepted."))
        return kind.mime
    if head.startswith(b"#!") or head.startswith(b"MZ"):
        raise UnsupportedFileType(N_("Programs and scripts are not accepted."))
    if _is_text(head):
        if _MARKUP.search(head[:1024]):
            raise UnsupportedFileType(
                N_("Web pages and SVG images are not accepted; send them as a ZIP or PDF.")
            )
        return "text/plain"
    return "application/octet-stream"
