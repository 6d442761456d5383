"""The payload of the safe-loading tests: unpickling it runs a shell command, as a malicious file would."""

import os


class RunsCommand:
    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


def touches(marker) -> RunsCommand:
    """A payload whose only effect, if it ever runs, is to create `marker`."""
    return RunsCommand(f"touch {marker}")
