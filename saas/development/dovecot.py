"""A throwaway Dovecot IMAP server on loopback (Debian's ``dovecot-imapd``) for tests, benches and
trying the mailbox module locally: its own configuration, users and maildirs in a temporary folder,
plaintext login on loopback, nothing written outside that folder.

Dovecot refuses to run its login processes as root, so under root it runs as ``nobody``, which then
owns the folder.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from saas.embedded import free_loopback_port

DOVECOT = os.environ.get("DOVECOT_BINARY", "/usr/sbin/dovecot")

CONFIG = """\
base_dir = {root}/run
state_dir = {root}/state
instance_name = saas-test-{port}
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login{oauth2_mechanisms}
default_internal_user = {user}
default_internal_group = {group}
default_login_user = {user}
first_valid_uid = 0
mail_location = maildir:{root}/mail/%u
passdb {{
  driver = passwd-file
  mechanisms = plain login
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
{oauth2_passdb}userdb {{
  driver = passwd-file
  args = username_format=%u {root}/passwd
  default_fields = uid={uid} gid={gid} home={root}/home/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
namespace inbox {{
  inbox = yes
  mailbox Sent {{
    special_use = \\Sent
    auto = subscribe
  }}
}}
"""


OAUTH2_PASSDB = """\
passdb {{
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = {root}/oauth2.conf.ext
}}
"""

# Dovecot asks the provider whether a bearer token is active (RFC 7662 introspection), as a
# provider-backed mail server does; the credentials in the URL are the mail server's own client.
OAUTH2_SETTINGS = """\
introspection_mode = post
introspection_url = {url}
username_attribute = username
active_attribute = active
active_value = true
"""


def dovecot_available() -> bool:
    return Path(DOVECOT).exists()


@dataclass
class Dovecot:
    """One running Dovecot; ``add_user`` before logging in, ``stop``/``start`` to crash and recover it."""

    root: Path
    port: int
    users: dict[str, str] = field(default_factory=dict)
    oauth2_introspection_url: str | None = None
    """Where XOAUTH2/OAUTHBEARER tokens are checked; None: password logins only."""
    process: subprocess.Popen | None = None

    @property
    def host(self) -> str:
        return "127.0.0.1"

    def _ids(self) -> tuple[int, int, str, str]:
        if os.geteuid() == 0:
            import grp
            import pwd

            nobody = pwd.getpwnam("nobody")
            return nobody.pw_uid, nobody.pw_gid, "nobody", grp.getgrgid(nobody.pw_gid).gr_name
        import grp
        import pwd

        return os.getuid(), os.getgid(), pwd.getpwuid(os.getuid()).pw_name, grp.getgrgid(os.getgid()).gr_name

    def add_user(self, name: str, password: str) -> None:
        self.users[name] = password
        lines = "".join(f"{user}:{{PLAIN}}{secret}::::::\n" for user, secret in self.users.items())
        (self.root / "passwd").write_text(lines)
        self._own()

    def _own(self) -> None:
        uid, gid, _, _ = self._ids()
        if os.geteuid() == 0:
            for path in [self.root, *self.root.rglob("*")]:
                os.chown(path, uid, gid)

    def start(self) -> None:
        uid, gid, user, group = self._ids()
        for folder in ("run", "state", "mail", "home"):
            (self.root / folder).mkdir(exist_ok=True)
        config = self.root / "dovecot.conf"
        oauth2 = self.oauth2_introspection_url
        if oauth2:
            (self.root / "oauth2.conf.ext").write_text(OAUTH2_SETTINGS.format(url=oauth2))
        config.write_text(
            CONFIG.format(
                root=self.root, port=self.port, user=user, group=group, uid=uid, gid=gid,
                oauth2_mechanisms=" xoauth2 oauthbearer" if oauth2 else "",
                oauth2_passdb=OAUTH2_PASSDB.format(root=self.root) if oauth2 else "",
            )
        )  # fmt: skip
        (self.root / "passwd").touch()
        self._own()
        as_other = {"user": uid, "group": gid, "extra_groups": []} if os.geteuid() == 0 else {}
        self.process = subprocess.Popen(
            [DOVECOT, "-F", "-c", str(config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # its own process group: ``crash`` reaches every child
            **as_other,
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"dovecot exited: {self.log()[-2000:]}")
            try:
                with socket.create_connection((self.host, self.port), timeout=1) as probe:
                    if probe.recv(64).startswith(b"* OK"):
                        return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"dovecot did not start: {self.log()[-2000:]}")

    def stop(self) -> None:
        """Stop Dovecot and every connection it serves (a crash, as a client sees it)."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def crash(self) -> None:
        """Kill Dovecot and every process serving a connection at once: clients see the socket drop."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self.process = None

    def log(self) -> str:
        path = self.root / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


def start_dovecot(oauth2_introspection_url: str | None = None) -> Dovecot:
    """A started Dovecot on a free loopback port, in a new temporary folder (``close()`` removes both);
    with ``oauth2_introspection_url`` it also takes XOAUTH2 logins, checking tokens there.

    The folder is under the system's temporary directory, not a test's own (pytest's are private to
    their user, and Dovecot may run as another)."""
    root = Path(tempfile.mkdtemp(prefix="saas-dovecot-"))
    server = Dovecot(root=root, port=free_loopback_port(), oauth2_introspection_url=oauth2_introspection_url)
    server.start()
    return server
