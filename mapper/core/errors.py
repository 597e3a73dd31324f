"""User-facing errors: one line naming the file, the field and the fix."""


class SpecError(ValueError):
    """Bad input. ``str(err)`` is a single line: ``file: field: problem; fix``."""

    def __init__(self, source: str, field: str, problem: str, fix: str = ""):
        self.source = source
        self.field = field
        self.problem = problem
        self.fix = fix
        message = f"{source}: {field}: {problem}"
        if fix:
            message += f"; {fix}"
        super().__init__(message)
