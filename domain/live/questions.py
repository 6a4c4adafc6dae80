"""Questions, their type (which follows from the options), answers and results.

A question's type is never stored apart from its options: none is `discursive` (free text), one
correct option `single_answer`, more than one `multiple_answer`. Options without any correct one
are refused: nobody could answer them right.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from domain.shared import InvalidRequest, InvalidValue

MAX_QUESTION_CHARS = 2000
MAX_OPTION_CHARS = 500
MAX_FEEDBACK_CHARS = 2000
MAX_OPTIONS = 20
MAX_ANSWER_CHARS = 2000
# NUL and lone surrogates cannot be stored by SQL databases (PostgreSQL refuses them); no text needs them.
UNSTORABLE_CHARS = re.compile("[\x00\ud800-\udfff]")
QUESTION_ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,64}")


def parse_question_id(raw: object, field_name: str = "question_id") -> str:
    """Question ids are issued by the service (32 hex digits); anything unlike one names none."""
    if not isinstance(raw, str) or not QUESTION_ID_PATTERN.fullmatch(raw):
        raise InvalidRequest("invalid question id", {field_name: ["1..64 characters among A-Z a-z 0-9 _ -"]})
    return raw


class QuestionType(StrEnum):
    DISCURSIVE = "discursive"
    SINGLE_ANSWER = "single_answer"
    MULTIPLE_ANSWER = "multiple_answer"


@dataclass(frozen=True)
class Option:
    text: str
    is_correct: bool = False
    post_text: str = ""  # the feedback shown with this option once the question is closed


@dataclass(frozen=True)
class Question:
    id: str
    owner_id: int
    text: str
    options: tuple[Option, ...] = ()
    created_at: datetime | None = None

    @property
    def type(self) -> QuestionType:
        correct = sum(1 for o in self.options if o.is_correct)
        if not self.options:
            return QuestionType.DISCURSIVE
        return QuestionType.SINGLE_ANSWER if correct == 1 else QuestionType.MULTIPLE_ANSWER

    @property
    def correct_indices(self) -> frozenset[int]:
        return frozenset(i for i, o in enumerate(self.options) if o.is_correct)


def _text(value: object, name: str, limit: int, required: bool) -> str:
    if not isinstance(value, str):
        raise InvalidValue("invalid question", {name: ["must be text"]})
    if required and not value.strip():
        raise InvalidValue("invalid question", {name: ["must not be blank"]})
    if len(value) > limit:
        raise InvalidValue("invalid question", {name: [f"at most {limit} characters"]})
    if UNSTORABLE_CHARS.search(value):
        raise InvalidValue("invalid question", {name: ["must not contain NUL or lone surrogates"]})
    return value


def new_question(
    question_id: str, owner_id: int, text: str, options: Sequence[Option], created_at: datetime
) -> Question:
    """A question checked whole: text, each option, and that options have at least one correct one."""
    text = _text(text, "text", MAX_QUESTION_CHARS, required=True)
    if len(options) > MAX_OPTIONS:
        raise InvalidValue("invalid question", {"options": [f"at most {MAX_OPTIONS} options"]})
    for i, option in enumerate(options):
        _text(option.text, f"options.{i}.text", MAX_OPTION_CHARS, required=True)
        _text(option.post_text, f"options.{i}.post_text", MAX_FEEDBACK_CHARS, required=False)
    if options and not any(o.is_correct for o in options):
        raise InvalidValue(
            "a question with options needs a correct one",
            {"options": ["mark at least one option correct, or give none for a free-text question"]},
        )
    return Question(question_id, owner_id, text, tuple(options), created_at)


# -- answers ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    """What a participant answered: option indices (choice questions) or text (discursive)."""

    choices: frozenset[int] = frozenset()
    text: str | None = None

    def to_plain(self) -> int | list[int] | str:
        """The JSON shape clients send: an index, a list of indices, or text."""
        if self.text is not None:
            return self.text
        return sorted(self.choices)


def _refuse(why: str) -> InvalidValue:
    return InvalidValue("invalid answer", {"answer": [why]})


def parse_answer(question: Question, raw: object) -> Answer:
    """An answer checked against the question's type; an empty one is refused (and nothing is stored)."""
    kind = question.type
    if kind is QuestionType.DISCURSIVE:
        if not isinstance(raw, str):
            raise _refuse("this question takes a text answer")
        if not raw.strip():
            raise _refuse("must not be blank")
        if len(raw) > MAX_ANSWER_CHARS:
            raise _refuse(f"at most {MAX_ANSWER_CHARS} characters")
        if UNSTORABLE_CHARS.search(raw):
            raise _refuse("must not contain NUL or lone surrogates")
        return Answer(text=raw)
    if kind is QuestionType.SINGLE_ANSWER:
        if isinstance(raw, list) and len(raw) == 1:
            raw = raw[0]
        if not _is_index(raw):
            raise _refuse("this question takes one option index")
        indices = [raw]
    else:
        if not isinstance(raw, list) or not all(_is_index(i) for i in raw):
            raise _refuse("this question takes a list of option indices")
        if not raw:
            raise _refuse("mark at least one option")
        if len(set(raw)) != len(raw):
            raise _refuse("each option at most once")
        indices = list(raw)
    out_of_range = [i for i in indices if i >= len(question.options)]
    if out_of_range:
        raise _refuse(f"option indices go from 0 to {len(question.options) - 1}")
    return Answer(choices=frozenset(indices))


def _is_index(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


@dataclass(frozen=True)
class Attempt:
    """One per (question, room, user): answering again replaces it."""

    room_id: str
    question_id: str
    user_id: int
    answer: Answer
    answered_at: datetime


# -- results ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OptionFeedback:
    index: int
    text: str
    post_text: str


@dataclass(frozen=True)
class Result:
    """A participant's result once the feedback is released."""

    question_id: str
    answer: Answer
    correct: bool | None  # None: a free-text answer, which nobody marks here
    marked_correctly: tuple[OptionFeedback, ...] = field(default_factory=tuple)
    missed: tuple[OptionFeedback, ...] = field(default_factory=tuple)
    marked_wrongly: tuple[OptionFeedback, ...] = field(default_factory=tuple)


def result_of(question: Question, attempt: Attempt) -> Result:
    if question.type is QuestionType.DISCURSIVE:
        return Result(question.id, attempt.answer, None)
    marked, correct = attempt.answer.choices, question.correct_indices

    def feedback(indices: frozenset[int]) -> tuple[OptionFeedback, ...]:
        return tuple(
            OptionFeedback(i, question.options[i].text, question.options[i].post_text)
            for i in sorted(indices)
            if i < len(question.options)
        )

    return Result(
        question.id,
        attempt.answer,
        marked == correct,
        marked_correctly=feedback(marked & correct),
        missed=feedback(correct - marked),
        marked_wrongly=feedback(marked - correct),
    )


def option_counts(question: Question, attempts: Sequence[Attempt]) -> list[int]:
    """How many attempts marked each option (empty for a free-text question)."""
    counts = [0] * len(question.options)
    for attempt in attempts:
        for i in attempt.answer.choices:
            if i < len(counts):
                counts[i] += 1
    return counts
