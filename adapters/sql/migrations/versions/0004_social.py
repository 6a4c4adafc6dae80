"""The social graph (issue 17): profiles, counters, follows, posts, likes, timelines.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# Frozen here, as in 0001: adapters.sql.tables.UtcDateTime only converts values.
UtcDateTime = sa.DateTime(timezone=True)
IMAGE_URL = sa.String(2048)


def _post_columns() -> list[sa.Column]:
    return [
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("image_url", IMAGE_URL, nullable=True),
        sa.Column("created_at", UtcDateTime, nullable=False),
    ]


def upgrade() -> None:
    # New tables only: no batch mode needed on SQLite.
    op.create_table(
        "social_profiles",
        sa.Column("user_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("about", sa.Text(), server_default="", nullable=False),
        sa.Column("image_url", IMAGE_URL, nullable=True),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_social_profiles")),
    )
    op.create_table(
        "social_counts",
        sa.Column("user_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("followers", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("following", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("posts", sa.BigInteger(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_social_counts")),
    )
    op.create_table(
        "social_follows",
        sa.Column("followed_id", sa.BigInteger(), nullable=False),
        sa.Column("follower_id", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("followed_id", "follower_id", name=op.f("pk_social_follows")),
    )
    op.create_index(
        op.f("ix_social_follows_follower_id_followed_id"), "social_follows", ["follower_id", "followed_id"]
    )
    op.create_table(
        "social_posts",
        sa.Column("post_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("author_id", sa.BigInteger(), nullable=False),
        *_post_columns(),
        sa.PrimaryKeyConstraint("post_id", name=op.f("pk_social_posts")),
    )
    op.create_index(op.f("ix_social_posts_author_id_post_id"), "social_posts", ["author_id", "post_id"])
    op.create_table(
        "social_likes",
        sa.Column("post_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("post_id", "user_id", name=op.f("pk_social_likes")),
    )
    op.create_table(
        "social_like_counts",
        sa.Column("post_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("likes", sa.BigInteger(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("post_id", name=op.f("pk_social_like_counts")),
    )
    op.create_table(
        "social_timeline",
        sa.Column("owner_id", sa.BigInteger(), nullable=False),
        sa.Column("post_id", sa.BigInteger(), nullable=False),
        sa.Column("author_id", sa.BigInteger(), nullable=False),
        *_post_columns(),
        sa.Column("expires_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("owner_id", "post_id", "author_id", name=op.f("pk_social_timeline")),
    )


def downgrade() -> None:
    for table in ("social_timeline", "social_like_counts", "social_likes", "social_posts"):
        op.drop_table(table)
    op.drop_index(op.f("ix_social_follows_follower_id_followed_id"), table_name="social_follows")
    op.drop_table("social_follows")
    op.drop_table("social_counts")
    op.drop_table("social_profiles")
