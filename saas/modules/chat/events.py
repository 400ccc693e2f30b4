"""Real-time chat events: published on Redis pub/sub once the transaction that caused them commits,
streamed to browsers as server-sent events through flask-sse.

Channels are per tenant (an agent's inbox) and per chat (its visitor), so a stream only ever carries
events its listener may see: who may open which stream is checked by the views before subscribing.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Iterator
from typing import Any

from flask import Response, current_app
from flask_sse import Message, ServerSentEventsBlueprint
from redis import Redis
from redis.client import PubSub
from redis.exceptions import RedisError
from sqlalchemy import event

from saas.db import TenantSession

PENDING = "chat_events"
HEARTBEAT_SECONDS = 15
"""An idle stream sends a comment this often: a browser that left is noticed, proxies keep the line."""
STREAM_SECONDS = 300
"""A stream ends after this; EventSource reconnects by itself, so server threads are recycled."""
RETRY_MILLISECONDS = 2000

logger = logging.getLogger(__name__)


def inbox_channel(tenant_id: str) -> str:
    return f"chat:{tenant_id}:inbox"


def chat_channel(tenant_id: str, chat_id: uuid.UUID) -> str:
    return f"chat:{tenant_id}:chat:{chat_id}"


class ChatEvents(ServerSentEventsBlueprint):
    """flask-sse's publisher and subscriber with two changes: one Redis client per app (not a connection
    pool per publish), and streams with a heartbeat and an end (``listen()`` would block forever on a
    quiet channel, keeping a thread for a browser that is long gone)."""

    @property
    def redis(self) -> Redis:
        client = current_app.extensions.get("chat_redis")
        if client is None:
            client = current_app.extensions["chat_redis"] = Redis.from_url(current_app.config["REDIS_URL"])
        return client

    def stream_of(self, *channels: str) -> Response:
        """A ``text/event-stream`` response of these channels' events.

        Subscribed before answering, so nothing published after the permission check is lost; the
        stream runs after the request context is gone and touches no database.
        """
        pubsub = self.redis.pubsub()
        pubsub.subscribe(*channels)
        return Response(
            _events(pubsub),
            mimetype="text/event-stream",
            # Buffering proxies (nginx) would hold events back; caches must not keep a stream.
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )


def _events(pubsub: PubSub) -> Iterator[str]:
    deadline = time.monotonic() + STREAM_SECONDS
    try:
        yield f"retry: {RETRY_MILLISECONDS}\n\n"
        while time.monotonic() < deadline:
            item = pubsub.get_message(ignore_subscribe_messages=True, timeout=HEARTBEAT_SECONDS)
            if item is None:
                yield ": idle\n\n"
            elif item["type"] == "message":
                yield str(Message(**json.loads(item["data"])))
    finally:
        pubsub.close()


chat_events = ChatEvents("chat_events", __name__)
"""Not registered as a blueprint: the chat's pages and public routes open its streams themselves."""


def announce(session: TenantSession, channels: tuple[str, ...], kind: str, payload: dict[str, Any]) -> None:
    """Send ``payload`` as a ``kind`` event on ``channels`` once ``session`` commits (never if it rolls
    back): a listener told of a message can then always read it."""
    data = json.dumps(payload, default=str)
    session.info.setdefault(PENDING, []).extend((channel, kind, data) for channel in channels)


@event.listens_for(TenantSession, "after_commit")
def _publish_pending(session: TenantSession) -> None:
    for channel, kind, data in session.info.pop(PENDING, []):
        try:
            chat_events.publish(data, type=kind, channel=channel)
        except RedisError:
            # The change is committed: a lost live event must not turn it into an error. Pages show
            # the stored state when (re)loaded, and streams refetch when they reconnect.
            logger.warning("chat event %s on %s not published", kind, channel, exc_info=True)


@event.listens_for(TenantSession, "after_rollback")
def _drop_pending(session: TenantSession) -> None:
    session.info.pop(PENDING, None)
