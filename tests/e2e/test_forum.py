"""Forum in two windows: the learner (Ada, user 1) opens her thread asking a trainer, the trainer
(Grace, user 2) watches it; each sees the other's messages live; follows, notifications, unread
counts, and the 403 and 409 messages."""

from __future__ import annotations

from tests.e2e.conftest import call, screenshot, sync_api

expect = sync_api.expect
THREAD = "/forum/items/100/participant/1/thread"


def messages(page):
    return page.get_by_role("list", name="Thread messages").locator("li.message")


def status(page):
    return page.locator("#view-forum .status-line")


def show_thread(page, participant: str) -> None:
    page.get_by_label("Participant").fill(participant)
    page.get_by_role("button", name="Show thread").click()
    expect(page.get_by_role("heading", name=f"Thread: item 100, participant {participant}")).to_be_visible()


def post(page, text: str) -> None:
    page.get_by_label("Message", exact=True).fill(text)
    page.get_by_label("Message", exact=True).press("Tab")
    page.keyboard.press("Enter")  # the Post button, reached with the keyboard


def test_two_windows_see_each_others_messages_live(window, parley):
    ada, grace = window(1, "forum"), window(2, "forum")
    show_thread(ada, "1")
    ada.get_by_role("button", name="Ask a trainer").click()
    expect(status(ada)).to_have_text("Status: Waiting for a trainer")

    # Grace finds the thread in the list of group 1's threads, unread, and opens it.
    call(parley.url, "POST", THREAD + "/messages", parley.token(1), {"text": "Hello?", "uuid": "e2e-forum-0"})
    grace.get_by_label("Watched group (empty: my threads)").fill("1")
    grace.get_by_role("button", name="List threads").click()
    row = grace.get_by_role("list", name="Threads").get_by_role("button", name="Item 100, participant 1")
    expect(row.get_by_label("1 unread")).to_be_visible()
    row.click()
    expect(status(grace)).to_have_text("Status: Waiting for a trainer")
    expect(messages(grace).filter(has_text="Hello?")).to_have_count(1)

    post(ada, "I am stuck on step 2")
    expect(messages(grace).filter(has_text="I am stuck on step 2")).to_have_count(1)
    post(grace, "Look at the loop bound")
    expect(messages(ada).filter(has_text="Look at the loop bound")).to_have_count(1)
    screenshot(ada, "forum-learner")
    screenshot(grace, "forum-trainer")

    # Grace follows, then looks at another thread: Ada's next message is a notification for her.
    grace.get_by_role("button", name="Follow").click()
    expect(grace.get_by_role("button", name="Following (unfollow)")).to_have_attribute("aria-pressed", "true")
    show_thread(grace, "3")
    post(ada, "Found it, thanks")
    notifications = grace.get_by_role("list", name="Notifications")
    expect(notifications.get_by_text("Ada Lovelace on item 100: Found it, thanks")).to_be_visible()
    expect(grace.get_by_label("unread notifications")).to_have_text("1")
    screenshot(grace, "forum-notifications")

    # Ada may not read Grace's thread (403), and nobody posts on a closed thread (409).
    show_thread(ada, "2")
    expect(ada.get_by_role("alert")).to_contain_text("Not allowed (403)")
    ada.get_by_role("button", name="Dismiss the message").click()
    show_thread(ada, "1")
    ada.get_by_role("button", name="Close", exact=True).click()
    expect(status(ada)).to_have_text("Status: Closed")
    post(ada, "one more")
    expect(ada.get_by_role("alert")).to_contain_text("Not possible now (409)")
