"""Direct messages in two windows: Ada takes her handle in the page, writes to @grace; Grace's
inbox shows the new conversation live (newest first, unread), she opens it and answers; Ada sees
the answer live."""

from __future__ import annotations

from tests.e2e.conftest import call, screenshot, sync_api

expect = sync_api.expect


def dm(page):
    return page.get_by_role("region", name="Direct messages")


def conversation(page):
    return dm(page).get_by_role("list", name="Conversation messages").locator("li.message")


def test_two_windows_write_to_each_other(window, parley):
    grace_token = parley.token(2)
    call(parley.url, "PUT", "/dm/me", grace_token, {"handle": "grace", "display_name": "Grace Hopper"})
    call(parley.url, "PUT", "/dm/me", parley.token(3), {"handle": "alan", "display_name": "Alan Turing"})
    # An older conversation, so that the new one has to come first in Grace's inbox.
    call(parley.url, "POST", "/dm/messages", parley.token(3), {"handle": "grace", "message": "Lunch at noon?"})

    ada, grace = window(1, "forum"), window(2, "dm")
    # Ada gets to her messages with the keyboard alone.
    ada.get_by_role("link", name="Messages").focus()
    ada.keyboard.press("Enter")
    expect(ada.get_by_role("link", name="Messages")).to_have_attribute("aria-current", "page")
    dm(ada).get_by_label("Handle", exact=True).fill("ada")
    dm(ada).get_by_role("button", name="Save").click()
    expect(dm(ada).get_by_text("Your handle: @ada")).to_be_visible()
    inbox = dm(grace).get_by_role("list", name="Conversations")
    expect(inbox.locator("li")).to_have_count(1)

    dm(ada).get_by_label("To (handle)").fill("@grace")
    dm(ada).get_by_label("First message").fill("Hi Grace, did you finish exercise 3?")
    dm(ada).get_by_role("button", name="Start").click()
    expect(conversation(ada).filter(has_text="did you finish exercise 3?")).to_have_count(1)

    # Live in Grace's inbox: first (newest), with the last message and one unread.
    expect(inbox.locator("li")).to_have_count(2)
    first = inbox.locator("li").first
    expect(first).to_contain_text("Ada Lovelace (@ada)")
    expect(first).to_contain_text("Hi Grace, did you finish exercise 3?")
    expect(first.get_by_label("1 unread")).to_be_visible()
    expect(inbox.locator("li").last).to_contain_text("Lunch at noon?")
    screenshot(grace, "dm-inbox")

    first.get_by_role("button").click()
    expect(conversation(grace)).to_have_count(1)
    expect(first.get_by_label("1 unread")).to_have_count(0)
    dm(grace).get_by_label("Reply").fill("Yes, I will send you my notes.")
    dm(grace).get_by_role("button", name="Send reply").click()
    expect(conversation(ada).filter(has_text="I will send you my notes")).to_have_count(1)
    expect(conversation(grace)).to_have_count(2)
    screenshot(ada, "dm-conversation")
