"""Clients generated from the API's documents, as an integrator would make them, used against the app
served on loopback: a Python client (openapi-python-client, pinned in pyproject.toml) runs a short
integrator scenario, and TypeScript types (openapi-typescript and typescript, pinned in
tests/api/typescript/package-lock.json) type-check a usage file. Both for the generic document and
for a workspace's own document with its custom fields.

Generated code is made once per test session; the npm tools are installed once per lock file under
``instance/api-clients/``.
"""

from __future__ import annotations

import importlib
import json
import os
import shutil
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import httpx
import pytest

from saas.auth.services import create_api_token
from saas.db import db
from saas.tenants.provisioning import provision_tenant
from tests.conftest import PASSWORD
from tests.e2e.conftest import LiveServer, live_server  # noqa: F401 - the app served on loopback
from tests.npm_packages import install_locked

ROOT = Path(__file__).resolve().parents[2]
TYPESCRIPT = Path(__file__).parent / "typescript"
TOOLS_CACHE = ROOT / "instance" / "api-clients"
GENERATOR = Path(sys.executable).parent / "openapi-python-client"
WORKSPACE_FIELDS = [
    {"entity": "contacts", "key": "vip_code", "label": "VIP code", "field_type": "text"},
    {"entity": "contacts", "key": "shoe_size", "label": "Shoe size", "field_type": "number"},
    {
        "entity": "contacts", "key": "colour", "label": "Colour", "field_type": "single_select",
        "options": ["red", "ochre"],
    },
    {"entity": "contacts", "key": "since", "label": "Since", "field_type": "date"},
    {"entity": "contacts", "key": "newsletter", "label": "Newsletter", "field_type": "boolean"},
    {
        "entity": "contacts", "key": "tags", "label": "Tags", "field_type": "multi_select",
        "options": ["press", "partner"],
    },
]  # fmt: skip


@dataclass
class Workspace:
    token: str
    generic: dict
    own: dict


@pytest.fixture(scope="module")
def workspace(app, live_server: LiveServer) -> Workspace:  # noqa: F811
    """A workspace with custom fields of six types, its token, and both documents as served."""
    with app.app_context():
        suffix = uuid.uuid4().hex[:8]
        email = f"sdk-{suffix}@example.com"
        tenant = provision_tenant(f"sdk-{suffix}", "SDK Ltd", email, PASSWORD)
        _, token = create_api_token(db.session, tenant.slug, email, "sdk")
        db.session.commit()
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=live_server.url, headers=headers) as http:
        for field in WORKSPACE_FIELDS:
            assert http.post("/api/v1/custom-fields", json=field).status_code == 201
        generic = http.get("/api/v1/openapi.json").json()
        own = http.get("/api/v1/custom-fields/openapi.json").json()
    return Workspace(token, generic, own)


def _document(workspace: Workspace, kind: str) -> dict:
    return workspace.generic if kind == "generic" else workspace.own


# --- Python ----------------------------------------------------------------------------------------------


@dataclass
class PythonClient:
    package: ModuleType
    output: str

    def operation(self, operation_id: str) -> ModuleType:
        """The generated module of one operation (generated under its tag's folder)."""
        root = Path(self.package.__file__).parent / "api"
        found = sorted(root.glob(f"*/{operation_id}.py"))
        assert len(found) == 1, f"{operation_id}: {found}"
        tag = found[0].parent.name
        return importlib.import_module(f"{self.package.__name__}.api.{tag}.{operation_id}")

    def model(self, name: str) -> type:
        return getattr(importlib.import_module(f"{self.package.__name__}.models"), name)


_python_clients: dict[str, PythonClient] = {}


def _generate_python_client(document: dict, kind: str, tmp_path_factory) -> PythonClient:
    if kind in _python_clients:  # generated once per session
        return _python_clients[kind]
    assert GENERATOR.exists(), f"{GENERATOR} is missing: pip install -e '.[dev]'"
    work = tmp_path_factory.mktemp(f"python-client-{kind}")
    (work / "openapi.json").write_text(json.dumps(document))
    package = f"crm_{kind}_client"
    # No post hooks: formatting the output needs ruff on PATH and checks nothing of the document.
    (work / "config.json").write_text(json.dumps({"package_name_override": package, "post_hooks": []}))
    generated = subprocess.run(
        [str(GENERATOR), "generate", "--path", "openapi.json", "--config", "config.json",
         "--meta", "none", "--output-path", package],
        cwd=work, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    output = generated.stdout + generated.stderr
    assert generated.returncode == 0, output
    sys.path.insert(0, str(work))
    client = PythonClient(importlib.import_module(package), output)
    _python_clients[kind] = client
    return client


@pytest.mark.parametrize("kind", ["generic", "workspace"])
def test_python_client_generates_without_warnings(workspace, kind, tmp_path_factory):
    client = _generate_python_client(_document(workspace, kind), kind, tmp_path_factory)
    assert "warning" not in client.output.lower(), client.output
    assert "Generating" in client.output  # the generator's own report was read


def _contact_body(client: PythonClient, kind: str, **values):
    """A ContactIn, its custom fields typed from the workspace's document (free-form in the generic one)."""
    custom_class = client.model("ContactInCustomFields")
    custom = values.pop("custom_fields", None)
    if custom is None:
        return client.model("ContactIn")(**values)
    if kind == "workspace":
        typed = custom_class(**custom)
    else:
        typed = custom_class()
        typed.additional_properties.update(custom)
    return client.model("ContactIn")(**values, custom_fields=typed)


@pytest.mark.parametrize("kind", ["generic", "workspace"])
def test_an_integrator_scenario_runs_on_the_generated_python_client(
    workspace,
    kind,
    tmp_path_factory,
    live_server: LiveServer,  # noqa: F811
):
    sdk = _generate_python_client(_document(workspace, kind), kind, tmp_path_factory)
    problem_class = sdk.model("Problem")
    # Any status the document does not list raises: the document must name every answer the API gives.
    api = sdk.package.AuthenticatedClient(
        base_url=live_server.url, token=workspace.token, raise_on_unexpected_status=True
    )
    anonymous = sdk.package.Client(base_url=live_server.url, raise_on_unexpected_status=True)
    create = sdk.operation("create_contact")
    run = uuid.uuid4().hex[:6]

    # Create, with a retry under the same Idempotency-Key answered from the first attempt.
    body = _contact_body(
        sdk, kind, first_name="Zoë", last_name=f"Ñandú {run}", email=f"zoe-{run}@example.com",
        custom_fields={"vip_code": "Gold", "colour": "ochre"},
    )  # fmt: skip
    key = str(uuid.uuid4())
    first = create.sync_detailed(client=api, body=body, idempotency_key=key)
    assert first.status_code == 201, first.content
    contact = first.parsed
    assert isinstance(contact, sdk.model("ContactOut")) and contact.last_name == f"Ñandú {run}"
    retried = create.sync_detailed(client=api, body=body, idempotency_key=key)
    assert retried.status_code == 201 and retried.headers["Idempotent-Replayed"] == "true"
    assert retried.parsed.id == contact.id
    for number in range(2):
        extra = _contact_body(sdk, kind, last_name=f"Ñandú {run} {number}", custom_fields={"colour": "ochre"})
        assert create.sync_detailed(client=api, body=extra).status_code == 201

    # List with paging: two per page until next_cursor is null.
    list_contacts = sdk.operation("list_contacts")
    # The workspace's document types the filter: its choices are a generated enum.
    filters = {"cf_colour": sdk.model("ListContactsColour")("ochre")} if kind == "workspace" else {}
    seen, cursor = [], None
    while True:
        page = list_contacts.sync(client=api, q=f"Ñandú {run}", limit=2, cursor=cursor, **filters)
        assert isinstance(page, sdk.model("ContactPage")), page
        assert len(page.data) <= 2
        seen += [item.id for item in page.data]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert len(seen) == 3 == len(set(seen)) and contact.id in seen

    # Read, then a conditional update: the current ETag passes, the stale one is refused as a problem.
    get_contact, update_contact = sdk.operation("get_contact"), sdk.operation("update_contact")
    read = get_contact.sync_detailed(client=api, record_id=str(contact.id))
    assert read.status_code == 200 and read.parsed.email == f"zoe-{run}@example.com"
    etag = read.headers["ETag"]
    change = sdk.model("ContactInUpdate")(title="CTO")
    updated = update_contact.sync_detailed(client=api, record_id=str(contact.id), body=change, if_match=etag)
    assert updated.status_code == 200 and updated.parsed.title == "CTO"
    stale = update_contact.sync_detailed(client=api, record_id=str(contact.id), body=change, if_match=etag)
    assert stale.status_code == 412
    assert isinstance(stale.parsed, problem_class) and stale.parsed.status == 412

    # 404, 422 and 401 are read as problems, not raised inside the client.
    missing = get_contact.sync(client=api, record_id=str(uuid.uuid4()))
    assert isinstance(missing, problem_class) and missing.status == 404 and missing.detail
    refused = create.sync(client=api, body=_contact_body(sdk, kind, email="not an address"))
    assert isinstance(refused, problem_class) and refused.status == 422
    assert "email" in refused.errors.additional_properties
    unauthenticated = list_contacts.sync(client=anonymous)
    assert isinstance(unauthenticated, problem_class) and unauthenticated.status == 401

    if kind == "workspace":  # the workspace's typed custom fields come back typed
        assert read.parsed.custom_fields.vip_code == "Gold"
        assert read.parsed.custom_fields.colour == "ochre"


# --- TypeScript ------------------------------------------------------------------------------------------


def _npm_tools() -> Path:
    """openapi-typescript and typescript as locked, installed once per lock file (``npm ci``)."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        if os.environ.get("CI"):
            pytest.fail("node and npm are required in CI (.ci/run installs them with apt)")
        pytest.skip(
            "NODE IS MISSING: the TypeScript client check did NOT run. Install node and npm "
            "(apt-get install -y nodejs npm); CI installs them."
        )
    return install_locked(npm, TYPESCRIPT, TOOLS_CACHE, "node_modules/.bin/tsc")


@pytest.fixture(scope="module")
def npm_tools() -> Path:
    return _npm_tools()


@pytest.mark.parametrize("kind", ["generic", "workspace"])
def test_typescript_types_generated_from_the_document_type_check_a_usage_file(
    workspace, kind, npm_tools, tmp_path
):
    (tmp_path / "openapi.json").write_text(json.dumps(_document(workspace, kind)))
    bin_ = npm_tools / "node_modules" / ".bin"
    generated = subprocess.run(
        [str(bin_ / "openapi-typescript"), "openapi.json", "--output", "api.d.ts"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    output = generated.stdout + generated.stderr
    assert generated.returncode == 0, output
    assert "warn" not in output.lower() and "error" not in output.lower(), output
    usage = f"{kind}_usage.ts"
    shutil.copy(TYPESCRIPT / usage, tmp_path / usage)
    config = {
        "compilerOptions": {
            "strict": True, "noEmit": True, "target": "ES2022", "module": "ES2022",
            "moduleResolution": "bundler", "skipLibCheck": False, "types": [],
        },
        "files": ["api.d.ts", usage],
    }  # fmt: skip
    (tmp_path / "tsconfig.json").write_text(json.dumps(config))
    checked = subprocess.run(
        [str(bin_ / "tsc"), "--project", "tsconfig.json"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert checked.returncode == 0, checked.stdout + checked.stderr
