"""API resources /api/v1/sequences: list, read, create, change, delete sequences; enrol contacts, read the
enrolments with their history and the counts per salesperson; pause, resume or stop an enrolment
(/api/v1/sequences/enrolments/<id>)."""

from __future__ import annotations

import uuid

from marshmallow import Schema, fields, validate

from saas.api import token_auth
from saas.modules.core.activities import acting_user_id
from saas.modules.core.schemas import list_of
from saas.modules.sequences import sequences, stops
from saas.modules.sequences.blueprints import api
from saas.modules.sequences.models import ENROLMENT_STATUSES
from saas.tenants.routing import current_tenant_session

STEPS = (
    "`steps`: an ordered list of objects with `type`: `email` (`subject`, `body`: plain text with merge "
    "fields such as `{{ first_name }}`), `task` (`title`, `due_days`) or `wait` (`amount`, `unit`: hours "
    "or days). Enrolments keep the steps they started with."
)


class SequenceIn(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    owner_user_id = fields.UUID(load_default=None, metadata={"description": "Default: the token's user."})
    steps = fields.List(fields.Dict(), required=True)


class SequencePatch(Schema):
    name = fields.String(validate=validate.Length(min=1, max=200))
    owner_user_id = fields.UUID(allow_none=True)
    steps = fields.List(fields.Dict())


class SequenceOut(Schema):
    id = fields.UUID()
    name = fields.String()
    owner_user_id = fields.UUID(allow_none=True)
    steps = fields.List(fields.Dict())
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class SequenceEventOut(Schema):
    step_index = fields.Integer()
    kind = fields.String()
    outcome = fields.String()
    detail = fields.String()
    at = fields.DateTime()


class SequenceEnrolmentOut(Schema):
    id = fields.UUID(attribute="enrolment.id")
    sequence_id = fields.UUID(attribute="enrolment.sequence_id")
    contact_id = fields.UUID(attribute="enrolment.contact_id")
    user_id = fields.UUID(attribute="enrolment.user_id", allow_none=True)
    status = fields.String(
        attribute="enrolment.status", metadata={"description": ", ".join(ENROLMENT_STATUSES)}
    )
    step_index = fields.Integer(attribute="enrolment.step_index")
    next_run_at = fields.DateTime(attribute="enrolment.next_run_at", allow_none=True)
    enrolled_at = fields.DateTime(attribute="enrolment.enrolled_at")
    finished_at = fields.DateTime(attribute="enrolment.finished_at", allow_none=True)
    reason = fields.String(attribute="enrolment.reason", allow_none=True)
    events = fields.List(fields.Nested(SequenceEventOut))


class SequenceEnrolIn(Schema):
    contact_ids = fields.List(fields.UUID(), required=True, validate=validate.Length(min=1, max=1000))


class SequenceEnrolledOut(Schema):
    enrolled = fields.Integer(metadata={"description": "New enrolments (contacts already in it are left)."})


class SequenceCountsOut(Schema):
    user_id = fields.UUID(allow_none=True)
    counts = fields.Dict(
        keys=fields.String(), values=fields.Integer(), metadata={"description": ", ".join(sequences.COUNTED)}
    )


class SequenceEnrolmentChange(Schema):
    action = fields.String(required=True, validate=validate.OneOf(stops.ACTIONS))


@api.get("/sequences")
@api.auth_required(token_auth)
@api.output(list_of(SequenceOut))
@api.doc(summary="List sequences")
def list_sequences():
    return {"data": sequences.list_sequences(current_tenant_session())}


@api.get("/sequences/<uuid:sequence_id>")
@api.auth_required(token_auth)
@api.output(SequenceOut)
@api.doc(summary="Get a sequence", responses=[404])
def get_sequence(sequence_id: uuid.UUID):
    return sequences.get_sequence(current_tenant_session(), sequence_id)


@api.post("/sequences")
@api.auth_required(token_auth)
@api.input(SequenceIn)
@api.output(SequenceOut, status_code=201)
@api.doc(summary="Create a sequence", description=STEPS, responses=[422])
def create_sequence(json_data: dict):
    session = current_tenant_session()
    if json_data.get("owner_user_id") is None:
        json_data.pop("owner_user_id", None)
    return sequences.create_sequence(session, json_data, user_id=acting_user_id(session))


@api.patch("/sequences/<uuid:sequence_id>")
@api.auth_required(token_auth)
@api.input(SequencePatch)
@api.output(SequenceOut)
@api.doc(summary="Change a sequence", description=STEPS, responses=[404, 422])
def update_sequence(sequence_id: uuid.UUID, json_data: dict):
    return sequences.update_sequence(current_tenant_session(), sequence_id, json_data)


@api.delete("/sequences/<uuid:sequence_id>")
@api.auth_required(token_auth)
@api.output({}, status_code=204)
@api.doc(summary="Delete a sequence and its enrolments", responses=[404])
def delete_sequence(sequence_id: uuid.UUID):
    sequences.delete_sequence(current_tenant_session(), sequence_id)
    return ""


@api.get("/sequences/<uuid:sequence_id>/enrolments")
@api.auth_required(token_auth)
@api.output(list_of(SequenceEnrolmentOut))
@api.doc(
    summary="A sequence's enrolments and their history",
    description="Newest first, at most 200.",
    responses=[404],
)
def list_sequence_enrolments(sequence_id: uuid.UUID):
    return {"data": sequences.enrolments_of_sequence(current_tenant_session(), sequence_id)}


@api.post("/sequences/<uuid:sequence_id>/enrolments")
@api.auth_required(token_auth)
@api.input(SequenceEnrolIn)
@api.output(SequenceEnrolledOut, status_code=201)
@api.doc(
    summary="Enrol contacts in a sequence",
    description="As the token's user (else the sequence's owner); a contact already in it is left as it is.",
    responses=[404, 422],
)
def enrol_in_sequence(sequence_id: uuid.UUID, json_data: dict):
    session = current_tenant_session()
    created = sequences.enrol_contacts(
        session, sequence_id, json_data["contact_ids"], acting_user_id(session)
    )
    return {"enrolled": len(created)}


@api.get("/sequences/<uuid:sequence_id>/counts")
@api.auth_required(token_auth)
@api.output(list_of(SequenceCountsOut))
@api.doc(summary="A sequence's enrolments counted per salesperson", responses=[404])
def sequence_counts(sequence_id: uuid.UUID):
    return {"data": sequences.counts_by_salesperson(current_tenant_session(), sequence_id)}


@api.post("/sequences/enrolments/<uuid:sequence_enrolment_id>")
@api.auth_required(token_auth)
@api.input(SequenceEnrolmentChange)
@api.output(SequenceEnrolmentOut)
@api.doc(summary="Pause, resume or stop an enrolment", responses=[404, 409, 422])
def change_sequence_enrolment(sequence_enrolment_id: uuid.UUID, json_data: dict):
    session = current_tenant_session()
    enrolment = stops.change_enrolment(session, sequence_enrolment_id, json_data["action"])
    return sequences.EnrolmentView(enrolment, "", sequences.events_of(session, enrolment.id))
