"""A real CalDAV server for the meetings tests: Radicale (from PyPI) run as a subprocess on a free
loopback port, with plain htpasswd users and filesystem storage in a temporary folder."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import caldav
import requests

from saas.embedded import free_loopback_port

USERS = {"alice": "alice-secret", "bob": "bob-secret", "carol": "carol-secret"}


@dataclass(frozen=True)
class Radicale:
    url: str

    def client(self, user: str) -> caldav.DAVClient:
        return caldav.DAVClient(url=self.url, username=user, password=USERS[user], enable_rfc6764=False)

    def new_calendar(self, user: str) -> str:
        """A fresh, empty calendar of ``user`` (each test its own); returns its URL."""
        with self.client(user) as client:
            calendar = client.principal().make_calendar(name="Work", cal_id=uuid.uuid4().hex)
            return str(calendar.url)

    def events(self, user: str, calendar_url: str) -> list[str]:
        """The iCalendar text of every event in the calendar."""
        with self.client(user) as client:
            return [event.data for event in caldav.Calendar(client=client, url=calendar_url).get_events()]

    def put(self, user: str, calendar_url: str, ics: str) -> None:
        with self.client(user) as client:
            caldav.Calendar(client=client, url=calendar_url).save_event(ics)


@contextmanager
def run_radicale(folder: Path, bearer_introspection_url: str | None = None) -> Iterator[Radicale]:
    """Radicale on a free loopback port; with ``bearer_introspection_url`` it also takes OAuth bearer
    tokens, asking that endpoint whose they are (``tests/meetings/radicale_plugins/radicale_bearer.py``)."""
    port = free_loopback_port()
    (folder / "users").write_text("".join(f"{user}:{password}\n" for user, password in USERS.items()))
    (folder / "config").write_text(
        f"""[server]
hosts = 127.0.0.1:{port}
[auth]
type = {"radicale_bearer" if bearer_introspection_url else "htpasswd"}
htpasswd_filename = {folder / "users"}
htpasswd_encryption = plain
[storage]
filesystem_folder = {folder / "collections"}
[rights]
type = owner_only
[logging]
level = warning
"""
    )
    environment = dict(os.environ)
    if bearer_introspection_url:
        plugins = str(Path(__file__).parent / "radicale_plugins")  # not this folder: radicale.py is here
        environment["PYTHONPATH"] = os.pathsep.join(filter(None, [plugins, environment.get("PYTHONPATH")]))
        environment["RADICALE_BEARER_INTROSPECTION_URL"] = bearer_introspection_url
    process = subprocess.Popen(
        [sys.executable, "-m", "radicale", "--config", str(folder / "config")],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=(folder / "radicale.log").open("w"),
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                requests.get(url, timeout=1)
                break
            except requests.ConnectionError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError((folder / "radicale.log").read_text()) from None
                time.sleep(0.1)
        yield Radicale(url)
    finally:
        process.terminate()
        process.wait(timeout=10)
