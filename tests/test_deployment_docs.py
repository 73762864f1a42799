"""docs/deployment.md stays true: its nginx example is a configuration nginx accepts, and every
variable it names is a setting the service reads."""

from __future__ import annotations

import datetime
import re
import shutil
import subprocess
from dataclasses import fields
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from service.config import Settings, env_name
from tests.support import PROJECT_DIR

DEPLOYMENT = (PROJECT_DIR / "docs" / "deployment.md").read_text()
CERTIFICATE = "/etc/letsencrypt/live/chat.example.jp/fullchain.pem"
PRIVATE_KEY = "/etc/letsencrypt/live/chat.example.jp/privkey.pem"


def nginx_example() -> str:
    blocks = re.findall(r"^```nginx\n(.*?)^```", DEPLOYMENT, re.MULTILINE | re.DOTALL)
    assert len(blocks) == 1, "docs/deployment.md has one nginx example"
    return str(blocks[0])


def nginx_binary() -> str | None:
    return shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx",) if Path(p).exists()), None
    )


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A throwaway certificate and key for the example's TLS server."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "chat.example.jp")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "fullchain.pem", folder / "privkey.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def test_the_nginx_example_passes_nginx_t(tmp_path: Path) -> None:
    nginx = nginx_binary()
    if nginx is None:
        pytest.skip("nginx is not installed (CI installs Debian's nginx)")
    example = nginx_example()
    for needed in ("proxy_http_version 1.1", "$http_upgrade", "X-Forwarded-For", "hash "):
        assert needed in example, needed
    cert, key = self_signed(tmp_path)
    assert CERTIFICATE in example and PRIVATE_KEY in example
    example = example.replace(CERTIFICATE, str(cert)).replace(PRIVATE_KEY, str(key))
    (tmp_path / "madoguchi.conf").write_text(example)
    # The example is the part of the http context that /etc/nginx/conf.d/ holds; the rest is
    # a minimal nginx.conf that writes nothing outside the temporary folder.
    temp = {
        name: tmp_path / name
        for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi", "logs")
    }
    for path in temp.values():
        path.mkdir()
    (tmp_path / "nginx.conf").write_text(
        f"""
pid {tmp_path / "nginx.pid"};
error_log stderr;
events {{}}
http {{
    access_log off;
    client_body_temp_path {temp["client_body"]};
    proxy_temp_path {temp["proxy"]};
    fastcgi_temp_path {temp["fastcgi"]};
    uwsgi_temp_path {temp["uwsgi"]};
    scgi_temp_path {temp["scgi"]};
    include {tmp_path / "madoguchi.conf"};
}}
"""
    )
    answer = subprocess.run(
        [nginx, "-t", "-q", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert answer.returncode == 0, answer.stderr


def test_every_variable_it_names_is_a_setting() -> None:
    settings = {env_name(f.name) for f in fields(Settings)}
    named = set(re.findall(r"\bMADOGUCHI_[A-Z_]+\b", DEPLOYMENT))
    assert named, "the page names the variables"
    assert named <= settings, named - settings


def test_the_readme_and_the_architecture_link_it() -> None:
    for page in ("README.md", "docs/architecture.md"):
        assert "deployment.md" in (PROJECT_DIR / page).read_text(), page
