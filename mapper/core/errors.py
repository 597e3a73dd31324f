"""User-facing errors: one line naming the file, the field and the fix."""

MAX_PART = 500  # characters of one part of a message (a file path, a field, a problem, a fix)


def one_line(text: object) -> str:
    """``text`` on one line: line breaks, tabs and other control characters
    escaped (so a key or value read from a file cannot break the line or
    drive the terminal), cut to MAX_PART characters."""
    text = str(text)
    if not text.isprintable():
        text = "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)
    return text if len(text) <= MAX_PART else text[: MAX_PART - 3] + "..."


class SpecError(ValueError):
    """Bad input. ``str(err)`` is a single line: ``file: field: problem; fix``."""

    def __init__(self, source: str, field: str, problem: str, fix: str = ""):
        self.source = source
        self.field = field
        self.problem = problem
        self.fix = fix
        message = f"{one_line(source)}: {one_line(field)}: {one_line(problem)}"
        if fix:
            message += f"; {one_line(fix)}"
        super().__init__(message)
