"""The AlgoREA directory document (`parley directory import`): what it accepts and how it refuses."""

from __future__ import annotations

import pytest

from adapters.directory_document import InvalidDirectoryDocument, parse_directory_document
from application.forum.directory import DirectoryItem, DirectoryUser


def test_a_document_gives_its_entries_with_unknowns_as_none():
    items, users = parse_directory_document({
        "items": [{"id": "100", "type": "Task", "title": "Loops", "language_tag": "fr-CA"}, {"id": 101}],
        "users": [{"id": "2", "login": "alice", "show_personal_info": True}],
    })
    assert items == [DirectoryItem(100, "Task", "Loops", "fr-CA"), DirectoryItem(101)]
    assert users == [DirectoryUser(2, "alice", None, None, True)]
    assert parse_directory_document({}) == ([], [])


@pytest.mark.parametrize("doc, named", [
    ([], "document: the document must be a JSON object"),
    ({"groups": []}, "groups: Unknown field."),
    ({"items": [{"title": "no id"}]}, "items[0].id: Missing data for required field."),
    ({"items": [{"id": "0"}]}, "items[0].id: must be a positive integer"),
    ({"items": [{"id": 1, "type": "Movie"}]}, "items[0].type: Must be one of: Chapter, Task, Skill."),
    ({"items": [{"id": 1, "title": "t" * 201}]}, "items[0].title: Longer than maximum length 200."),
    ({"items": [{"id": 1, "language_tag": "en us"}]}, "items[0].language_tag: a BCP 47 tag"),
    ({"users": [{"id": 1, "login": "a\x00b"}]}, "users[0].login: must not contain control characters"),
    ({"users": [{"id": 1, "show_personal_info": "yes"}]}, "users[0].show_personal_info: Not a valid boolean."),
    ({"users": [{"id": 1}, {"id": "1"}]}, "users: id 1 is given twice"),
])
def test_a_bad_document_is_refused_naming_the_field(doc, named):
    with pytest.raises(InvalidDirectoryDocument) as refused:
        parse_directory_document(doc)
    assert named in str(refused.value)
