"""Outgoing mail (reset and privacy links) goes only over verified TLS unless plaintext is asked for:
real aiosmtpd servers on loopback, with certificates made here by ``cryptography``."""

from __future__ import annotations

import ipaddress
import logging
import smtplib
import ssl
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from saas.mail import MailTransportInsecure, send_mail
from tests.mailsink import MailSink, free_port

RECIPIENT = "victim@example.com"


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _certificate(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    *,
    issuer: tuple[str, ec.EllipticCurvePrivateKey] | None = None,
    names: list[x509.GeneralName] | None = None,
    ca: bool = False,
) -> x509.Certificate:
    issuer_name, issuer_key = issuer or (subject, key)
    now = datetime.now(UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(issuer_name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def _write(path: Path, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey | None = None) -> Path:
    pem = cert.public_bytes(serialization.Encoding.PEM)
    if key is not None:
        pem += key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    path.write_bytes(pem)
    return path


@pytest.fixture(scope="module")
def certificates(tmp_path_factory) -> dict[str, Path]:
    """A private CA and a server certificate it signed for 127.0.0.1/localhost; and a self-signed
    certificate for another name."""
    folder = tmp_path_factory.mktemp("smtp-tls")
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = _certificate("Test mail CA", ca_key, ca=True)
    server_key = ec.generate_private_key(ec.SECP256R1())
    server_cert = _certificate(
        "localhost",
        server_key,
        issuer=("Test mail CA", ca_key),
        names=[x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))],
    )
    other_key = ec.generate_private_key(ec.SECP256R1())
    other_cert = _certificate("mail.other.example", other_key, names=[x509.DNSName("mail.other.example")])
    return {
        "ca": _write(folder / "ca.pem", ca_cert),
        "trusted": _write(folder / "server.pem", server_cert, server_key),
        "other": _write(folder / "other.pem", other_cert, other_key),
        "other_ca": _write(folder / "other-ca.pem", other_cert),
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
        port = free_port()
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


def test_without_smtp_development_prints_the_whole_mail_and_production_logs_only_its_subject(
    app_ctx, monkeypatch, capsys, caplog
):
    from dataclasses import replace

    from saas.mail import send_mail

    monkeypatch.setitem(app_ctx.config, "SMTP_URL", None)
    settings = app_ctx.config["SAAS_SETTINGS"]
    monkeypatch.setitem(app_ctx.config, "SAAS_SETTINGS", replace(settings, environment="development"))
    assert send_mail("ann@example.com", "Your link", "Open https://example.test/p/x/enter/abc") is False
    assert "https://example.test/p/x/enter/abc" in capsys.readouterr().err

    monkeypatch.setitem(app_ctx.config, "SAAS_SETTINGS", replace(settings, environment="production"))
    assert send_mail("ann@example.com", "Your link", "Open https://example.test/p/x/enter/abc") is False
    printed = capsys.readouterr().err
    assert "enter/abc" not in printed and "enter/abc" not in caplog.text
    assert "ann@example.com" not in caplog.text
