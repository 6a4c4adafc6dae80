"""The AlgoREA backend surface's two blueprints and what their views share.

Both are mounted under PARLEY_ALGOREA_BACKEND_PREFIX (entrypoints/http/app.py gives the prefix at
registration): `bp` takes a user's session (a Parley user JWT, as AlgoREA's backend takes its
access token); `events_bp` takes the event sender's credential (events.py). Their errors are
AlgoREA's bodies (errors.py), documented with the `AlgoreaError` schema.
"""

from __future__ import annotations

from dependency_injector.wiring import Provide, inject

from application.forum.directory import Directory
from entrypoints.http.algorea import errors
from entrypoints.http.blueprint import Blueprint

ALGOREA_ERROR_REF = {"$ref": "#/components/schemas/AlgoreaError"}
THREAD = "/items/<id64:item_id>/participant/<id64:participant_id>/thread"


class AlgoreaBlueprint(Blueprint):
    """Parley's blueprint conventions, with AlgoREA's error bodies in the document and on the wire."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        errors.install(self)

    def _prepare_envelope_doc(self, doc, doc_info, *, method, **kwargs):
        doc = super()._prepare_envelope_doc(doc, doc_info, method=method, **kwargs)
        for status, response in doc.get("responses", {}).items():
            if str(status)[0] in "45" and isinstance(response, dict):
                for content in response.get("content", {}).values():
                    content["schema"] = ALGOREA_ERROR_REF
        return doc


bp = AlgoreaBlueprint(
    "algorea", __name__, description="AlgoREA backend's thread endpoints, for AlgoREA's front end (docs/algorea.md)"
)
events_bp = AlgoreaBlueprint(
    "algorea_events", __name__, public=True,
    description="AlgoREA backend's events (EventBridge envelopes), applied to the forum (docs/algorea.md)",
)


@inject
def directory(found: Directory = Provide["forum.directory"]) -> Directory:
    return found


@inject
def events_token(settings=Provide["forum.algorea_settings"]) -> str | None:
    return settings.events_token
