"""Pages of workflows (placeholder while the editor is written)."""

from flask import render_template

from saas.modules.workflows import workflows
from saas.modules.workflows.blueprints import pages
from saas.tenants.routing import current_tenant_session


@pages.get("/workflows")
def index():
    session = current_tenant_session()
    return render_template("workflows/index.html", workflows=workflows.list_workflows(session))
