"""API resources /api/v1/contacts and /api/v1/accounts; thin wrappers over the core services."""

from __future__ import annotations

import uuid
from typing import Any

from apiflask import APIBlueprint
from apiflask.views import MethodView

from saas.api import token_auth
from saas.modules.core import custom_fields, schemas, services
from saas.modules.core.blueprints import api
from saas.modules.core.merge import annotate_duplicates
from saas.tenants.routing import current_tenant_session


def register_record_resource(
    blueprint: APIBlueprint,
    path: str,
    service: services.RecordService,
    schema_in: type,
    schema_out: type,
    page_schema: type,
    list_query: type = schemas.ListQuery,
) -> None:
    """List/create at ``/<path>`` and read/update/delete at ``/<path>/<id>`` for one record type.

    ``list_query`` may add filters to ``q``/``cursor``/``limit``; they reach ``service.list`` as keywords.
    """
    noun = service.noun
    entity = service.model.__tablename__
    # Stable operation ids (generated clients name their functions after them): list_contacts, get_contact...
    plural, singular = path.replace("-", "_"), noun.replace(" ", "_")

    def _annotated(session, record):
        return whole_record(session, service, record)

    class Collection(MethodView):
        decorators = [blueprint.auth_required(token_auth)]

        @blueprint.input(list_query, location="query")
        @blueprint.output(page_schema)
        @blueprint.doc(
            summary=f"List {noun}s",
            description="Cursor-paginated; `q` searches; `cf_<key>=<value>` filters on a custom field "
            "(typed in the workspace's own document).",
            operation_id=f"list_{plural}",
        )
        def get(self, query_data):
            session = current_tenant_session()
            where = custom_fields.filter_conditions(session, entity, query_data.pop("custom", None))
            page = service.list(session, where=where, **query_data)
            custom_fields.annotate(session, entity, page.data)
            return services_page(page)

        @blueprint.input(schema_in)
        @blueprint.output(schema_out, status_code=201)
        @blueprint.doc(summary=f"Create a {noun}", responses=[422], operation_id=f"create_{singular}")
        def post(self, json_data):
            session = current_tenant_session()
            values = json_data.pop("custom_fields", None)
            record = service.create(session, json_data)
            custom_fields.write_values(session, entity, record.id, values, creating=True)
            return _annotated(session, record)

    class Item(MethodView):
        decorators = [blueprint.auth_required(token_auth)]

        @blueprint.output(schema_out)
        @blueprint.doc(summary=f"Read a {noun}", responses=[404], operation_id=f"get_{singular}")
        def get(self, record_id: uuid.UUID):
            session = current_tenant_session()
            return _annotated(session, service.get(session, record_id))

        @blueprint.input(schema_in(partial=True))
        @blueprint.output(schema_out)
        @blueprint.doc(summary=f"Update a {noun}", responses=[404, 422], operation_id=f"update_{singular}")
        def patch(self, record_id: uuid.UUID, json_data):
            session = current_tenant_session()
            values = json_data.pop("custom_fields", None)
            record = service.update(session, record_id, json_data)
            if values is not None:
                custom_fields.write_values(session, entity, record.id, values, creating=False)
            return _annotated(session, record)

        @blueprint.output({}, status_code=204)
        @blueprint.doc(summary=f"Delete a {noun}", responses=[404], operation_id=f"delete_{singular}")
        def delete(self, record_id: uuid.UUID):
            service.delete(current_tenant_session(), record_id)
            return ""

    blueprint.add_url_rule(f"/{path}", view_func=Collection.as_view(f"{path}_collection"))
    blueprint.add_url_rule(f"/{path}/<uuid:record_id>", view_func=Item.as_view(f"{path}_item"))


def whole_record(session, service: services.RecordService, record: Any) -> Any:
    """``record`` as every API answer returns it: with its custom fields and duplicate flags."""
    custom_fields.annotate(session, service.model.__tablename__, [record])
    return annotate_duplicates(session, service.noun, record)


def services_page(page: services.Page) -> dict:
    return {"data": page.data, "next_cursor": page.next_cursor}


register_record_resource(
    api, "contacts", services.contacts, schemas.ContactIn, schemas.ContactOut, schemas.ContactPage,
    schemas.ContactListQuery,
)  # fmt: skip
register_record_resource(
    api, "accounts", services.accounts, schemas.AccountIn, schemas.AccountOut, schemas.AccountPage
)
