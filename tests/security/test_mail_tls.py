"""Outgoing mail (reset and privacy links) goes only over verified TLS unless plaintext is asked for:
real aiosmtpd servers on loopback, with certificates made here by ``cryptography``."""

from __future__ import annotations

import ipaddress
import logging
import smtplib
import ssl
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from cryptography import x509

from saas.embedded import free_loopback_port
from saas.mail import MailTransportInsecure, send_mail
from tests.certificates import certificate, new_key, write_pem
from tests.mailsink import MailSink

RECIPIENT = "victim@example.com"


@pytest.fixture(scope="module")
def certificates(tmp_path_factory) -> dict[str, Path]:
    """A private CA and a server certificate it signed for 127.0.0.1/localhost; and a self-signed
    certificate for another name."""
    folder = tmp_path_factory.mktemp("smtp-tls")
    ca_key = new_key()
    ca_cert = certificate("Test mail CA", ca_key, ca=True)
    server_key = new_key()
    server_cert = certificate(
        "localhost",
        server_key,
        issuer=("Test mail CA", ca_key),
        names=[x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))],
    )
    other_key = new_key()
    other_cert = certificate("mail.other.example", other_key, names=[x509.DNSName("mail.other.example")])
    return {
        "ca": write_pem(folder / "ca.pem", ca_cert),
        "trusted": write_pem(folder / "server.pem", server_cert, server_key),
        "other": write_pem(folder / "other.pem", other_cert, other_key),
        "other_ca": write_pem(folder / "other-ca.pem", other_cert),
    }


def _server_context(chain: Path) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(chain)
    return context


@pytest.fixture
def smtp_server(app_ctx, monkeypatch):
    """Starts aiosmtpd sinks: ``start(mode, chain)`` with mode ``plain``, ``starttls`` or ``smtps``;
    points ``SMTP_URL`` at the last one (``query`` appended) and returns its sink."""
    controllers: list[Controller] = []

    def start(mode: str, chain: Path | None = None, query: str = "") -> MailSink:
        sink = MailSink()
        port = free_loopback_port()
        options: dict = {}
        if mode == "starttls":
            options = {"tls_context": _server_context(chain), "require_starttls": False}
        elif mode == "smtps":
            options = {"ssl_context": _server_context(chain)}
        controller = Controller(sink, hostname="127.0.0.1", port=port, **options)
        controller.start()
        controllers.append(controller)
        scheme = "smtps" if mode == "smtps" else "smtp"
        monkeypatch.setitem(app_ctx.config, "SMTP_URL", f"{scheme}://127.0.0.1:{port}{query}")
        return sink

    yield start
    for controller in controllers:
        controller.stop()


def test_server_without_starttls_gets_no_mail_and_the_log_names_no_recipient(smtp_server, caplog):
    sink = smtp_server("plain")
    with caplog.at_level(logging.ERROR, logger="saas.mail"), pytest.raises(MailTransportInsecure):
        send_mail(RECIPIENT, "Your privacy center link", "https://example.com/p/x/enter/secret-token")
    assert sink.messages == []
    assert "no verified TLS" in caplog.text
    assert RECIPIENT not in caplog.text and "secret-token" not in caplog.text


def test_plaintext_only_when_the_url_says_tls_none(smtp_server):
    sink = smtp_server("plain", query="?tls=none")
    assert send_mail(RECIPIENT, "Subject", "Body")
    assert [m["To"] for m in sink.messages] == [RECIPIENT]


def test_starttls_with_a_self_signed_certificate_for_another_name_is_refused(smtp_server, certificates):
    sink = smtp_server("starttls", certificates["other"])
    with pytest.raises(ssl.SSLCertVerificationError):
        send_mail(RECIPIENT, "Subject", "Body")
    assert sink.messages == []


def test_starttls_certificate_trusted_but_for_another_host_name_is_refused(
    smtp_server, certificates, monkeypatch, app_ctx
):
    monkeypatch.setitem(app_ctx.config, "SMTP_CA_FILE", str(certificates["other_ca"]))
    sink = smtp_server("starttls", certificates["other"])
    with pytest.raises(ssl.SSLCertVerificationError, match=r"(?i)mismatch|doesn't match|not valid for"):
        send_mail(RECIPIENT, "Subject", "Body")
    assert sink.messages == []


def test_starttls_with_a_certificate_the_ca_file_trusts_delivers(
    smtp_server, certificates, monkeypatch, app_ctx
):
    monkeypatch.setitem(app_ctx.config, "SMTP_CA_FILE", str(certificates["ca"]))
    sink = smtp_server("starttls", certificates["trusted"])
    assert send_mail(RECIPIENT, "Subject", "Body")
    assert [m["To"] for m in sink.messages] == [RECIPIENT]


def test_smtps_verifies_the_certificate_too(smtp_server, certificates, monkeypatch, app_ctx):
    refused = smtp_server("smtps", certificates["other"])
    with pytest.raises(ssl.SSLCertVerificationError):
        send_mail(RECIPIENT, "Subject", "Body")
    assert refused.messages == []

    monkeypatch.setitem(app_ctx.config, "SMTP_CA_FILE", str(certificates["ca"]))
    delivered = smtp_server("smtps", certificates["trusted"])
    assert send_mail(RECIPIENT, "Subject", "Body")
    assert [m["To"] for m in delivered.messages] == [RECIPIENT]


def test_an_unknown_tls_mode_is_refused_rather_than_guessed(smtp_server):
    smtp_server("plain", query="?tls=maybe")
    with pytest.raises(ValueError, match="tls="):
        send_mail(RECIPIENT, "Subject", "Body")


def test_refused_tls_is_an_smtp_error_the_callers_already_handle():
    assert issubclass(MailTransportInsecure, smtplib.SMTPException)


def test_without_smtp_mail_is_not_sent_and_only_its_subject_is_logged(app_ctx, monkeypatch, capsys, caplog):
    # Development never gets here: saas dev points SMTP_URL at its development inbox (tests/development).
    from saas.mail import send_mail

    monkeypatch.setitem(app_ctx.config, "SMTP_URL", None)
    assert send_mail("ann@example.com", "Your link", "Open https://example.test/p/x/enter/abc") is False
    printed = capsys.readouterr().err
    assert "Your link" in caplog.text
    assert "enter/abc" not in printed and "enter/abc" not in caplog.text
    assert "ann@example.com" not in printed and "ann@example.com" not in caplog.text
