"""The server goes away mid-conversation and comes back: Grace's windows (a forum thread, a chat
room, a conversation) reconnect by themselves, subscribe again from their cursors and show what
was written while they were cut off, each message once, then live messages again."""

from __future__ import annotations

from tests.e2e.conftest import call, screenshot, sync_api

expect = sync_api.expect
THREAD = "/forum/items/100/participant/1/thread"
ROOM = "e2e-reconnect"


def shown(page, region: str, listname: str):
    return page.get_by_role("region", name=region).get_by_role("list", name=listname).locator("li.message")


def test_a_restart_loses_nothing_and_repeats_nothing(window, parley):
    ada, grace = parley.token(1), parley.token(2)
    call(parley.url, "PUT", THREAD, ada, {"status": "waiting_for_trainer", "helper_group_id": "5"})
    call(parley.url, "PUT", f"/chat/rooms/{ROOM}", ada, {"display_name": "Reconnect"})
    call(parley.url, "PUT", f"/chat/rooms/{ROOM}/membership", grace)
    call(parley.url, "PUT", "/dm/me", ada, {"handle": "ada", "display_name": "Ada Lovelace"})
    call(parley.url, "PUT", "/dm/me", grace, {"handle": "grace", "display_name": "Grace Hopper"})
    group = call(parley.url, "POST", "/dm/messages", ada, {"handle": "grace", "message": "dm hello"})["data"]
    group_uuid = group["message_group_uuid"]

    def write(url: str, label: str) -> None:
        uuid = "e2e-reconnect-" + label.replace(" ", "-")
        call(url, "POST", THREAD + "/messages", ada, {"text": f"forum {label}", "uuid": uuid})
        call(url, "POST", f"/chat/rooms/{ROOM}/comments", ada, {"text": f"chat {label}"})
        call(url, "POST", f"/dm/groups/{group_uuid}/messages", ada, {"message": f"dm {label}"})

    forum_page = window(2, "forum")
    forum_page.get_by_label("Participant").fill("1")
    forum_page.get_by_role("button", name="Show thread").click()
    chat_page = window(2, "chat")
    chat_page.get_by_role("region", name="Chat").get_by_role("button", name=ROOM).click()
    dm_page = window(2, "dm")
    dm_page.get_by_role("list", name="Conversations").get_by_role("button", name="Ada Lovelace").click()
    views = [
        (forum_page, "Forum", "Thread messages", "forum"),
        (chat_page, "Chat", "Room comments", "chat"),
        (dm_page, "Direct messages", "Conversation messages", "dm"),
    ]

    write(parley.url, "before")
    for page, region, listname, prefix in views:
        expect(shown(page, region, listname).filter(has_text=f"{prefix} before")).to_have_count(1)
    counts = [shown(page, region, listname).count() for page, region, listname, _ in views]

    def while_down(url: str) -> None:
        # Every window's socket is gone and its browser offline: these reach it only through its cursor.
        for page, *_ in views:
            expect(page.locator("#connection")).to_have_attribute("data-state", "offline")
        write(url, "missed 1")
        write(url, "missed 2")

    parley.restart(held_back=[page.context for page, *_ in views], between=while_down)
    write(parley.url, "after")
    for (page, region, listname, prefix), count in zip(views, counts, strict=True):
        expect(page.locator("#connection")).to_have_attribute("data-state", "live", timeout=15000)
        messages = shown(page, region, listname)
        expect(messages.filter(has_text=f"{prefix} after")).to_have_count(1)
        expect(messages).to_have_count(count + 3)
        texts = messages.locator("p").all_inner_texts()
        assert texts[-3:] == [f"{prefix} missed 1", f"{prefix} missed 2", f"{prefix} after"]
        assert texts.count(f"{prefix} before") == 1
    screenshot(forum_page, "reconnect-forum")
    screenshot(chat_page, "reconnect-chat")
