"""Delivery keyed by topic: notifications carry a topic, a type and a generic payload; live
subscriptions become `delivery_subscriptions`. Existing forum rows are migrated in place.

Revision 0007 follows 0002 here: 0003-0006 belong to other contexts' branches, and the chain is
re-linked when they are merged (only down_revision changes).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

FORUM_MESSAGE = "forum.message"


def upgrade() -> None:
    with op.batch_alter_table("notifications") as batch:
        batch.add_column(sa.Column("topic", sa.String(255), nullable=True))
        batch.add_column(sa.Column("type", sa.String(64), nullable=True))
        batch.add_column(sa.Column("payload", sa.JSON(), nullable=True))
    _forum_rows_to_payloads()
    with op.batch_alter_table("notifications") as batch:
        batch.alter_column("topic", existing_type=sa.String(255), nullable=False)
        batch.alter_column("type", existing_type=sa.String(64), nullable=False)
        batch.alter_column("payload", existing_type=sa.JSON(), nullable=False)
        batch.drop_column("item_id")
        batch.drop_column("participant_id")
        batch.drop_column("event")
    # A rename keeps the rows: their topic names (forum.thread.<participant>.<item>) do not change.
    op.rename_table("live_subscriptions", "delivery_subscriptions")
    with op.batch_alter_table("delivery_subscriptions") as batch:
        batch.drop_constraint("pk_live_subscriptions", type_="primary")
        batch.create_primary_key("pk_delivery_subscriptions", ["topic", "connection_id"])


def _forum_rows_to_payloads() -> None:
    """Until now every notification was a forum message: its public fields become the payload, in
    the order the API has always sent them."""
    notes = sa.table(
        "notifications",
        sa.column("user_id", sa.BigInteger()),
        sa.column("id", sa.String(32)),
        sa.column("item_id", sa.BigInteger()),
        sa.column("participant_id", sa.BigInteger()),
        sa.column("event", sa.JSON()),
        sa.column("topic", sa.String(255)),
        sa.column("type", sa.String(64)),
        sa.column("payload", sa.JSON()),
    )
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(notes.c.user_id, notes.c.id, notes.c.item_id, notes.c.participant_id, notes.c.event)
    ).all()
    for row in rows:
        payload = {"item_id": str(row.item_id), "participant_id": str(row.participant_id), "event": row.event}
        connection.execute(
            notes.update()
            .where(notes.c.user_id == row.user_id, notes.c.id == row.id)
            .values(topic=f"forum.thread.{row.participant_id}.{row.item_id}", type=FORUM_MESSAGE, payload=payload)
        )


def downgrade() -> None:
    with op.batch_alter_table("delivery_subscriptions") as batch:
        batch.drop_constraint("pk_delivery_subscriptions", type_="primary")
        batch.create_primary_key("pk_live_subscriptions", ["topic", "connection_id"])
    op.rename_table("delivery_subscriptions", "live_subscriptions")
    # Only forum notifications fit the old columns; the others cannot go back.
    notes = sa.table("notifications", sa.column("type", sa.String(64)))
    op.execute(notes.delete().where(notes.c.type != FORUM_MESSAGE))
    with op.batch_alter_table("notifications") as batch:
        batch.add_column(sa.Column("item_id", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("participant_id", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("event", sa.JSON(), nullable=True))
    connection = op.get_bind()
    full = sa.table(
        "notifications",
        sa.column("user_id", sa.BigInteger()),
        sa.column("id", sa.String(32)),
        sa.column("payload", sa.JSON()),
        sa.column("item_id", sa.BigInteger()),
        sa.column("participant_id", sa.BigInteger()),
        sa.column("event", sa.JSON()),
    )
    for row in connection.execute(sa.select(full.c.user_id, full.c.id, full.c.payload)).all():
        p = row.payload
        connection.execute(
            full.update()
            .where(full.c.user_id == row.user_id, full.c.id == row.id)
            .values(item_id=int(p["item_id"]), participant_id=int(p["participant_id"]), event=p["event"])
        )
    with op.batch_alter_table("notifications") as batch:
        for name, kind in (("item_id", sa.BigInteger()), ("participant_id", sa.BigInteger()), ("event", sa.JSON())):
            batch.alter_column(name, existing_type=kind, nullable=False)
        batch.drop_column("payload")
        batch.drop_column("type")
        batch.drop_column("topic")
