"""The social domain's rules: post text, image URLs, profiles, self-follows, time-ordered post ids."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain.shared import MAX_ID, InvalidValue
from domain.social.model import (
    MAX_POST_CHARS,
    CannotFollowSelf,
    check_follow,
    clean_image_url,
    clean_post_content,
    clean_profile,
    new_post_id,
    post_time,
)

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def test_post_content_is_trimmed_and_bounded():
    assert clean_post_content("  hello  ") == "hello"
    assert clean_post_content("x" * MAX_POST_CHARS) == "x" * MAX_POST_CHARS
    for bad in ("", "   ", "x" * (MAX_POST_CHARS + 1), "a\x00b"):
        with pytest.raises(InvalidValue) as err:
            clean_post_content(bad)
        assert "content" in err.value.details


@pytest.mark.parametrize("url", ["https://example.org/a.png", "http://cdn.example.org:8080/x?y=1#z", None, ""])
def test_http_and_https_image_urls_are_accepted(url):
    assert clean_image_url(url) == (url or None)


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "data:image/png;base64,AAAA",
        "ftp://example.org/a.png",
        "//example.org/a.png",
        "https://",
        "https://exa mple.org/",
        "https://example.org/\n",
        "https://example.org:99999/",
        "https://bücher.example/",
        "https://example.org/" + "a" * 2048,
    ],
)
def test_other_image_urls_are_refused(url):
    with pytest.raises(InvalidValue) as err:
        clean_image_url(url)
    assert "image_url" in err.value.details


def test_profiles_need_a_name_and_take_a_bounded_about():
    assert clean_profile(1, " Ada ", "", None).name == "Ada"
    with pytest.raises(InvalidValue):
        clean_profile(1, " ", "", None)
    with pytest.raises(InvalidValue):
        clean_profile(1, "Ada", "x" * 501, None)


def test_nobody_follows_themselves():
    check_follow(1, 2)
    with pytest.raises(CannotFollowSelf):
        check_follow(3, 3)


def test_post_ids_sort_by_time_and_stay_64_bit():
    earlier, later = new_post_id(T0), new_post_id(T0 + timedelta(milliseconds=1))
    assert 0 < earlier < later <= MAX_ID
    assert post_time(earlier) == T0
    same_millisecond = {new_post_id(T0) for _ in range(200)}
    assert len(same_millisecond) > 190
