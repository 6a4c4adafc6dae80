"""Chat in two windows: Ada makes a room with a long history, Grace joins it; each sees the
other's comments live; the older comments come back on scrolling up, each once; leaving works."""

from __future__ import annotations

from tests.e2e.conftest import call, screenshot, sync_api

expect = sync_api.expect
ROOM = "e2e-lobby"
HISTORY = 25  # more than the page's first page (20): the rest comes on scroll


def chat(page):
    return page.get_by_role("region", name="Chat")


def comments(page):
    return chat(page).get_by_role("list", name="Room comments").locator("li.message")


def send(page, text: str) -> None:
    chat(page).get_by_label("Comment", exact=True).fill(text)
    chat(page).get_by_role("button", name="Send", exact=True).click()


def test_two_windows_chat_live_and_page_back(window, parley):
    ada_token = parley.token(1)
    call(parley.url, "PUT", f"/chat/rooms/{ROOM}", ada_token, {"display_name": "E2E lobby"})
    for n in range(1, HISTORY + 1):
        call(parley.url, "POST", f"/chat/rooms/{ROOM}/comments", ada_token, {"text": f"history {n:02d}"})

    ada, grace = window(1, "chat"), window(2, "chat")
    ada.get_by_role("list", name="My rooms").get_by_role("button", name=ROOM).click()
    expect(comments(ada)).to_have_count(20)
    chat(grace).get_by_label("Room", exact=True).fill(ROOM)
    grace.get_by_role("button", name="Join").click()
    expect(comments(grace)).to_have_count(20)
    expect(comments(grace).last).to_contain_text(f"history {HISTORY}")

    send(ada, "Welcome, Grace")
    expect(comments(grace).filter(has_text="Welcome, Grace")).to_have_count(1)
    send(grace, "Thanks, Ada")
    expect(comments(ada).filter(has_text="Thanks, Ada")).to_have_count(1)
    expect(ada.get_by_role("list", name="Room comments").get_by_text("Grace Hopper joined")).to_be_visible()

    # Scrolling to the top brings the five oldest comments, each once and in order.
    chat(grace).get_by_role("list", name="Room comments").hover()
    grace.mouse.wheel(0, -5000)
    expect(comments(grace)).to_have_count(HISTORY + 2)
    expect(comments(grace).first).to_contain_text("history 01")
    expect(comments(grace).filter(has_text="history 05")).to_have_count(1)
    texts = comments(grace).locator("p").all_inner_texts()
    assert texts == [f"history {n:02d}" for n in range(1, HISTORY + 1)] + ["Welcome, Grace", "Thanks, Ada"]
    screenshot(grace, "chat")

    grace.get_by_role("button", name="Leave the room").click()
    expect(ada.get_by_role("list", name="Room comments").get_by_text("Grace Hopper left")).to_be_visible()
    expect(grace.get_by_role("heading", name="No room open")).to_be_visible()
