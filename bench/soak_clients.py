"""The soak's HTTP clients (bench/soak.py): mixed API traffic from processes of their own, keeping a
ledger of every write the server acknowledged so that the soak can count each one back afterwards.

Only the standard library here: a client process starts fast and its memory is not the app's.
Writes carry an ``Idempotency-Key`` and a marker that ends up in the stored row (a contact's notes, an
imported row's email); a write whose answer never came (no answer, 5xx, 409 in flight, 429) is sent
again with the same key and body, as a careful client does, until it is answered or given up.
"""

from __future__ import annotations

import http.client
import json
import random
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field

SEARCH_TERMS = ["Ada", "Grace", "Alan", "Lovelace", "Hopper", "Knuth", "Engineer", "example.com"]
RETRY_STATUSES = frozenset({409, 429, 500, 502, 503, 504})
WRITE_ATTEMPTS = 8
MAX_SAMPLES = 400
IN_FLIGHT = "still in progress"
IN_FLIGHT_STATUS = "409 in flight"


@dataclass
class Answer:
    status: int | None  # None: no answer (connection refused, reset, timed out)
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    error: str = ""

    def json(self) -> dict:
        try:
            return json.loads(self.body or b"{}")
        except ValueError:
            return {}


@dataclass
class Ledger:
    """What one client process sent and what it was told; merged by the soak from every process."""

    statuses: Counter = field(default_factory=Counter)
    """(operation, status or "no answer") -> count, every attempt counted."""
    not_ok: list[tuple[float, str, str, str]] = field(default_factory=list)
    """(wall time, operation, status, body excerpt) of answers other than 2xx, the first MAX_SAMPLES."""
    not_ok_times: list[tuple[float, str]] = field(default_factory=list)
    """(wall time, status) of every answer other than 2xx, to place them against the Redis restart."""
    creates: list[dict] = field(default_factory=list)
    updates: list[dict] = field(default_factory=list)
    replays: list[dict] = field(default_factory=list)
    imports: list[dict] = field(default_factory=list)
    requests: int = 0

    def merge(self, other: Ledger) -> None:
        self.statuses.update(other.statuses)
        self.not_ok += other.not_ok[: MAX_SAMPLES - len(self.not_ok)]
        self.not_ok_times += other.not_ok_times
        self.creates += other.creates
        self.updates += other.updates
        self.replays += other.replays
        self.imports += other.imports
        self.requests += other.requests


class Client:
    """One keep-alive connection to the app; every answer is counted in the ledger."""

    def __init__(self, port: int, ledger: Ledger, lock: threading.Lock) -> None:
        self.port, self.ledger, self.lock = port, ledger, lock
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def call(
        self, operation: str, method: str, path: str, token: str, body: bytes | None = None, **headers: str
    ) -> Answer:
        headers = {"Authorization": f"Bearer {token}", **headers}
        if body is not None:
            headers.setdefault("Content-Type", "application/json")
        answer = Answer(None)
        for fresh in (False, True):
            try:
                self.connection.request(method, path, body=body, headers=headers)
                response = self.connection.getresponse()
                answer = Answer(response.status, response.read(), dict(response.getheaders()))
                break
            except (OSError, http.client.HTTPException) as error:
                self.connection.close()
                self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
                answer = Answer(None, error=repr(error))
                # A kept-alive connection the server closed while idle (gunicorn's keepalive, 75 s) fails
                # before anything is sent: once, on a fresh connection, it is the client's own artefact.
                if fresh or not isinstance(error, BrokenPipeError | http.client.RemoteDisconnected):
                    break
        status = "no answer" if answer.status is None else str(answer.status)
        if answer.status == 409 and IN_FLIGHT in answer.body.decode(errors="replace"):
            status = IN_FLIGHT_STATUS  # documented: the key's first attempt is still being answered
        with self.lock:
            self.ledger.requests += 1
            self.ledger.statuses[(operation, status)] += 1
            if answer.status is None or answer.status >= 300:
                now = time.time()
                self.ledger.not_ok_times.append((now, status))
                if len(self.ledger.not_ok) < MAX_SAMPLES:
                    excerpt = answer.error or answer.body[:200].decode(errors="replace")
                    self.ledger.not_ok.append((now, f"{operation} {method} {path}", status, excerpt))
        return answer

    def write(
        self, operation: str, method: str, path: str, token: str, body: bytes, **headers: str
    ) -> Answer:
        """Send until answered for good: the same key and body each time, backing off as told."""
        answer = Answer(None)
        for attempt in range(WRITE_ATTEMPTS):
            answer = self.call(operation, method, path, token, body, **headers)
            if answer.status is not None and answer.status not in RETRY_STATUSES:
                return answer
            told = answer.headers.get("Retry-After", "")
            time.sleep(min(float(told) if told.isdigit() else 0.5 * 2**attempt, 5.0))
        return answer

    def close(self) -> None:
        self.connection.close()


def multipart(fields: dict[str, str], filename: str, content: bytes) -> tuple[bytes, str]:
    boundary = "soak" + uuid.uuid4().hex
    parts = []
    for name, value in fields.items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        )
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        "Content-Type: text/csv\r\n\r\n".encode()
        + content
        + b"\r\n"
    )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


@dataclass
class Plan:
    """What the client processes share: where the app is, the tenants' tokens, the run's marker."""

    port: int
    tokens: dict[str, str]  # slug -> bearer token
    run: str
    seconds: float
    think_seconds: float
    import_rows: int
    import_every_seconds: float


def _thread(plan: Plan, ledger: Ledger, lock: threading.Lock, seed: int) -> None:
    chooser = random.Random(seed)
    client = Client(plan.port, ledger, lock)
    slugs = sorted(plan.tokens)
    seen: dict[str, list[str]] = {}  # slug -> contact ids seen in lists (for reads by id)
    mine: list[dict] = []  # contacts this thread created and was told so: it alone updates them
    acked: list[dict] = []  # creates acknowledged, for replays
    next_import = time.monotonic() + chooser.uniform(0.2, 1.0) * plan.import_every_seconds
    deadline = time.monotonic() + plan.seconds
    writes = 0
    while time.monotonic() < deadline:
        slug = chooser.choice(slugs)
        token = plan.tokens[slug]
        roll = chooser.random()
        if time.monotonic() >= next_import:
            next_import = time.monotonic() + chooser.uniform(0.5, 1.5) * plan.import_every_seconds
            writes += 1
            _import(client, plan, slug, token, f"{seed}.{writes}")
        elif roll < 0.30:
            answer = client.call("list", "GET", "/api/v1/contacts?limit=25", token)
            if answer.status == 200:
                seen[slug] = [row["id"] for row in answer.json().get("data", [])]
        elif roll < 0.45 and seen.get(slug):
            client.call("get", "GET", f"/api/v1/contacts/{chooser.choice(seen[slug])}", token)
        elif roll < 0.60:
            client.call("search", "GET", f"/api/v1/contacts?q={chooser.choice(SEARCH_TERMS)}&limit=10", token)
        elif roll < 0.80:
            writes += 1
            created = _create(client, plan, slug, token, f"{seed}-{writes}")
            with lock:
                ledger.creates.append(created)
            if created["acked"]:
                mine.append(created)
                acked.append(created)
        elif roll < 0.95 and mine:
            contact = chooser.choice(mine)
            writes += 1
            _update(client, contact, f"u{seed}-{writes}", ledger, lock)
        elif acked:
            _replay(client, chooser.choice(acked), ledger, lock)
        if plan.think_seconds:
            time.sleep(chooser.uniform(0, 2 * plan.think_seconds))
    for contact in mine:
        with lock:
            ledger.updates.append(
                {
                    "slug": contact["slug"],
                    "key": contact["key"],
                    "id": contact["id"],
                    "title": contact["title"],  # the last acknowledged title
                    "maybe": contact["maybe"],  # titles sent since, never acknowledged
                }
            )
    client.close()


def _create(client: Client, plan: Plan, slug: str, token: str, serial: str) -> dict:
    key = f"soak-{plan.run}-{serial}"
    body = json.dumps(
        {
            "first_name": "Soak",
            "last_name": f"Writer {serial}",
            "notes": f"soak:{plan.run}:{key}",
            "title": "t0",
        }
    ).encode()
    answer = client.write("create", "POST", "/api/v1/contacts", token, body, **{"Idempotency-Key": key})
    acked = answer.status == 201
    return {
        "slug": slug,
        "key": key,
        "body": body,
        "acked": acked,
        "acked_at": time.time(),
        "id": answer.json().get("id") if acked else None,
        "status": answer.status,
        "title": "t0",
        "maybe": [],
        "token": token,
    }


def _update(client: Client, contact: dict, title: str, ledger: Ledger, lock: threading.Lock) -> None:
    body = json.dumps({"title": title}).encode()
    answer = client.write("update", "PATCH", f"/api/v1/contacts/{contact['id']}", contact["token"], body)
    if answer.status == 200:
        contact["title"], contact["maybe"] = title, []
    else:  # unanswered: it may or may not have been applied
        contact["maybe"].append(title)


def _replay(client: Client, created: dict, ledger: Ledger, lock: threading.Lock) -> None:
    """The same create, key and body again: it must answer the first answer, not create a second."""
    answer = client.write(
        "replay",
        "POST",
        "/api/v1/contacts",
        created["token"],
        created["body"],
        **{"Idempotency-Key": created["key"]},
    )
    with lock:
        ledger.replays.append(
            {
                "slug": created["slug"],
                "key": created["key"],
                "status": answer.status,
                "same": answer.status == 201 and answer.json().get("id") == created["id"],
                "replayed": answer.headers.get("Idempotent-Replayed") == "true",
                "first_acked_at": created["acked_at"],
                "at": time.time(),
            }
        )


def _import(client: Client, plan: Plan, slug: str, token: str, serial: str) -> None:
    prefix = f"imp.{plan.run}.{serial}"
    lines = ["First name,Last name,Email"]
    lines += [f"Imported,Row {row},{prefix}.{row}@soak.example" for row in range(plan.import_rows)]
    body, content_type = multipart({"entity": "contacts"}, f"{prefix}.csv", "\n".join(lines).encode() + b"\n")
    key = f"soak-{prefix}"
    answer = client.write(
        "import",
        "POST",
        "/api/v1/imports",
        token,
        body,
        **{"Idempotency-Key": key, "Content-Type": content_type},
    )
    with client.lock:
        client.ledger.imports.append(
            {
                "slug": slug,
                "prefix": prefix,
                "rows": plan.import_rows,
                "acked": answer.status == 202,
                "job_id": answer.json().get("id") if answer.status == 202 else None,
                "status": answer.status,
            }
        )


def client_process(plan: Plan, threads: int, seed: int) -> Ledger:
    """``threads`` clients in this process until ``plan.seconds`` pass; their merged ledger."""
    ledger, lock = Ledger(), threading.Lock()
    pool = [
        threading.Thread(target=_thread, args=(plan, ledger, lock, seed * 100 + i)) for i in range(threads)
    ]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    for created in ledger.creates:
        created.pop("token", None)
        created.pop("body", None)
    return ledger
