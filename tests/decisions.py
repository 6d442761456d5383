"""Reading an event's decision for one label: whether it passed, and which stream decided it."""

from __future__ import annotations


def decided(event, label: str) -> bool:
    return event.decided[event.labels.index(label)]


def decider(event, label: str) -> str | None:
    return event.deciding_modality[event.labels.index(label)]
