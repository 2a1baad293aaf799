"""The topic list (events/rules.py) is the one in README.md's "Events" table, and its names keep Kibo's style."""

from __future__ import annotations

import re
from pathlib import Path

from ticketbooth.events.rules import TOPICS

README = Path(__file__).resolve().parents[2] / "README.md"


def test_every_topic_is_documented_and_nothing_else() -> None:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## Events"):]
    section = section[:section.index("\n## ", 1)]
    listed = re.findall(r"^\| `([a-z0-9.]+)` \| (Kibo|ours) \|", section, re.M)
    assert [name for name, _ in listed] == list(TOPICS)
    assert all((kind == "Kibo") == TOPICS[name].kibo for name, kind in listed)


def test_names_are_resource_dot_action() -> None:
    for name in TOPICS:
        assert re.fullmatch(r"[a-z]+\.[a-z]+", name), name
