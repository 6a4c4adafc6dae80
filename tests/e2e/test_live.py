"""Live questions in two windows: Ada teaches (adds a question, picks it, watches the attempt and
the per-option counts arrive, closes it), Grace answers as a student and sees her result once the
feedback is released. One more window, 390 px wide, is a student on a phone."""

from __future__ import annotations

from tests.e2e.conftest import screenshot, sync_api

expect = sync_api.expect
ROOM = "e2e-class"


def live(page):
    return page.get_by_role("region", name="Live questions")


def enter(page) -> None:
    live(page).get_by_label("Room", exact=True).fill(ROOM)
    live(page).get_by_role("button", name="Enter room").click()


def test_teacher_and_student_windows(window, parley):
    ada = window(1, "live")
    live(ada).get_by_label("Room", exact=True).fill(ROOM)
    live(ada).get_by_role("button", name="Create room").click()
    expect(live(ada).get_by_text("you teach this room")).to_be_visible()
    live(ada).get_by_label("Question", exact=True).fill("Which falls faster in a vacuum?")
    live(ada).get_by_label("Options, one a line").fill("The hammer\nThe feather\n*Neither")
    live(ada).get_by_role("button", name="Add question").click()
    expect(live(ada).get_by_label("Question to ask").locator("option")).to_have_count(1)

    grace, phone = window(2, "live"), window(3, "live", width=390, height=844)
    enter(grace)
    enter(phone)
    expect(live(grace).get_by_text("Waiting for the teacher to ask a question.")).to_be_visible()

    live(ada).get_by_role("button", name="Pick").click()
    expect(live(grace).get_by_text("Which falls faster in a vacuum?")).to_be_visible()
    live(grace).get_by_label("The feather").check()
    live(grace).get_by_role("button", name="Answer").click()
    expect(live(grace).get_by_text("Your answer is in.")).to_be_visible()

    # The teacher's window: the attempt and the counts arrive live.
    attempts = live(ada).get_by_role("list", name="Attempts")
    expect(attempts).to_contain_text("Grace Hopper: The feather")
    counts = live(ada).get_by_role("list", name="Answers per option")
    expect(counts.locator("li").nth(1)).to_contain_text("1")
    expect(counts.locator("li").nth(0)).to_contain_text("0")
    live(phone).get_by_label("Neither").check()
    live(phone).get_by_role("button", name="Answer").click()
    expect(attempts.locator("li")).to_have_count(2)
    expect(counts.locator("li").nth(2)).to_contain_text("1")
    screenshot(ada, "live-teacher")

    live(ada).get_by_role("button", name="Close question").click()
    result = live(grace).get_by_role("region", name="Your result")
    expect(result).to_contain_text("Not quite.")
    expect(result).to_contain_text("Neither")
    expect(live(phone).get_by_role("region", name="Your result")).to_contain_text("Correct!")
    screenshot(grace, "live-student")
    screenshot(phone, "live-student-390px")
