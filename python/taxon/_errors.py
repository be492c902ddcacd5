"""taxon's exceptions. Everything taxon raises on bad input is a TaxonError."""


class TaxonError(Exception):
    """Base class of taxon's errors."""


class RulesError(TaxonError):
    """The rules do not read: syntax or meaning errors.

    `findings` lists every finding (dicts with code, level, message, hint, file, line, column and
    rendered, the clang-style text with the caret); str() is the rendered errors."""

    def __init__(self, findings):
        self.findings = list(findings)
        errors = [f for f in self.findings if f["level"] == "error"]
        super().__init__("".join(f["rendered"] for f in errors).rstrip() or "the rules do not read")


class CheckpointError(TaxonError):
    """A checkpoint (or another file) cannot be read, or a plan cannot load it.

    `code` is the diagnostic code (T06xx for unreadable files, docs/diagnostics.md); `report` is
    the plan's report (a dict, as `taxon apply --format json` gives it) when a plan ran."""

    def __init__(self, message, code="", report=None):
        super().__init__(message)
        self.code = code
        self.report = report
