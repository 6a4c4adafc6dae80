"""Which credential a route takes, as AlgoREA's serverless has it: a thread token for its thread's
messages and for following it, an identity token (a user credential) for the rest.

A thread token for another item or participant than the route's is a 403 naming both, before any
use case runs (the use cases refuse it too: it grants nothing there).
"""

from __future__ import annotations

from flask import g

from application.shared import Actor, Unauthenticated
from domain.forum.model import ThreadKey
from domain.shared import Forbidden, parse_id


def thread_token_for(item_id: str, participant_id: str) -> tuple[Actor, ThreadKey]:
    actor: Actor = g.actor
    claims = actor.thread_claims
    if claims is None:
        raise Unauthenticated("this route takes a thread token (the thread's `token`)")
    key = ThreadKey(parse_id(item_id, "itemId"), parse_id(participant_id, "participantId"))
    if claims.item_id != key.item_id:
        raise Forbidden(f"Token itemId '{claims.item_id}' does not match route itemId '{item_id}'")
    if claims.participant_id != key.participant_id:
        raise Forbidden(
            f"Token participantId '{claims.participant_id}' does not match route participantId '{participant_id}'"
        )
    return actor, key


def identity_token() -> Actor:
    actor: Actor = g.actor
    if not actor.speaks_for_user:
        raise Unauthenticated("this route takes an identity token (a thread token speaks for its thread only)")
    return actor


def route_thread(item_id: str, participant_id: str) -> ThreadKey:
    return ThreadKey(parse_id(item_id, "itemId"), parse_id(participant_id, "participantId"))
