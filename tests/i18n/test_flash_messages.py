"""Every message a page flashes goes through the translation layer.

A flash shows on the next page, so a walk of pages in the pseudo-locale sees it only after the action
that made it. This check reads the code instead: the message of each ``flash(...)`` call under ``saas/``
must be made by a translating call (``gettext``/``_``, ``ngettext``, or ``translate`` for an error detail
chosen at run time), or be a name or call whose text is made elsewhere. Plain text, an f-string, ``N_``
(which only marks a string for extraction) or a bare ``error.detail`` are reported with their place.
"""

from __future__ import annotations

import ast
from pathlib import Path

import saas

SOURCE = Path(saas.__file__).parent
# Developer-only pages (the local mail inbox of `make dev`) stay English.
NOT_SHIPPED = ("development",)
TRANSLATING = {"_", "gettext", "ngettext", "lazy_gettext", "_l", "translate"}


def _callee(node: ast.AST) -> str | None:
    if isinstance(node, ast.Call):
        function = node.func
        return function.id if isinstance(function, ast.Name) else getattr(function, "attr", None)
    return None


def untranslated_message(message: ast.AST) -> bool:
    """Whether a flash's message is text that never passes through a catalog."""
    if isinstance(message, ast.Constant):  # a space or a colon between translated parts is no text
        return any(character.isalpha() for character in str(message.value))
    if isinstance(message, ast.JoinedStr):
        return True
    if isinstance(message, ast.BinOp):  # "…" % values, N_("…") % values, "…" + detail
        return untranslated_message(message.left) or untranslated_message(message.right)
    if isinstance(message, ast.Attribute) and message.attr == "detail":
        return True
    if isinstance(message, ast.IfExp):
        return untranslated_message(message.body) or untranslated_message(message.orelse)
    if _callee(message) == "N_":
        return True
    if _callee(message) == "join":  # " ".join([...]): each piece counts
        return any(untranslated_message(part) for arg in message.args for part in _pieces(arg))
    return False


def _pieces(node: ast.AST) -> list[ast.AST]:
    if isinstance(node, (ast.List, ast.Tuple)):
        return [e.value if isinstance(e, ast.Starred) else e for e in node.elts]
    return [node]


def untranslated_flashes(source: str, name: str = "<source>") -> list[str]:
    """``file:line`` of every flash in ``source`` whose message is not translated."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if _callee(node) == "flash" and node.args and untranslated_message(node.args[0]):
            found.append(f"{name}:{node.lineno}")
    return found


def test_the_check_catches_text_that_is_not_translated():
    caught = """
flash("Saved.")
flash(f"Welcome to {name}.")
flash(N_("File deleted: %(name)s") % {"name": name})
flash(error.detail, "error")
flash(" ".join([error.detail, *messages]))
flash(_("Saved.") if ok else "Not saved.")
"""
    assert untranslated_flashes(caught) == [f"<source>:{line}" for line in range(2, 8)]
    passed = """
flash(_("Saved."))
flash(gettext("File deleted: %(name)s", name=name), "error")
flash(translate(error.detail))
flash(outcome)
flash(ngettext("%(num)d session ended.", "%(num)d sessions ended.", count))
flash(_("Saved.") + " " + translate(error.detail))
"""
    assert untranslated_flashes(passed) == []


def test_every_flash_in_the_product_is_translated():
    found = []
    for path in sorted(SOURCE.rglob("*.py")):
        relative = path.relative_to(SOURCE)
        if relative.parts[0] in NOT_SHIPPED:
            continue
        found += untranslated_flashes(path.read_text(encoding="utf-8"), str(relative))
    assert found == []
