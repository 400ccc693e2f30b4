"""``/api/v1/queues``: the workspace's ticket queues."""

from __future__ import annotations

import uuid

from saas.api import token_auth
from saas.modules.service import admin, queues
from saas.modules.service import schemas as s
from saas.modules.service.blueprints import api
from saas.tenants.routing import current_tenant_session

auth = api.auth_required(token_auth)


@api.get("/queues")
@auth
@api.output(s.QueueList)
@api.doc(summary="List queues")
def list_queues():
    return {"data": queues.list_queues(current_tenant_session())}


@api.post("/queues")
@auth
@api.input(s.QueueIn)
@api.output(s.QueueOut, status_code=201)
@api.doc(summary="Create a queue (owners and admins)", responses=[403, 422])
def create_queue(json_data):
    return admin.create_queue(current_tenant_session(), json_data)


@api.get("/queues/<uuid:service_queue_id>")
@auth
@api.output(s.QueueOut)
@api.doc(summary="Read a queue", responses=[404])
def get_queue(service_queue_id: uuid.UUID):
    return queues.get_queue(current_tenant_session(), service_queue_id)


@api.patch("/queues/<uuid:service_queue_id>")
@auth
@api.input(s.QueueIn(partial=True))
@api.output(s.QueueOut)
@api.doc(
    summary="Change a queue: name, strategy, members, default (owners and admins)", responses=[403, 404, 422]
)
def update_queue(service_queue_id: uuid.UUID, json_data):
    session = current_tenant_session()
    queues.get_queue(session, service_queue_id)
    return admin.update_queue(session, service_queue_id, json_data)


@api.delete("/queues/<uuid:service_queue_id>")
@auth
@api.output({}, status_code=204)
@api.doc(summary="Delete a queue (its tickets keep no queue)", responses=[403, 404, 409])
def delete_queue(service_queue_id: uuid.UUID):
    session = current_tenant_session()
    queues.get_queue(session, service_queue_id)
    admin.delete_queue(session, service_queue_id)
    return ""
