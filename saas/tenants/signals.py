"""Signals other parts subscribe to, so that ``tenants/`` never imports them.

``tenant_provisioned`` is sent after the provisioning transaction committed, with ``tenant`` (a
:class:`~saas.db.TenantRef`) and ``actor``. Receivers that talk to outside services (billing) must
not fail the signup: they record what they could not do and retry from a job.
"""

from blinker import Namespace

_signals = Namespace()

tenant_provisioned = _signals.signal("tenant-provisioned")
