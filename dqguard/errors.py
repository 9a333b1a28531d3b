"""The one user-facing exception type and the exit-code table.

| code | meaning                                                    |
|------|------------------------------------------------------------|
| 0    | every selected case was checked and is clean               |
| 1    | at least one finding or failed case                        |
| 2    | usage or manifest error: nothing ran                       |
| 3    | internal error: a bug in dqguard; the traceback is on disk |
| 130  | interrupted                                                |
"""

EXIT_CLEAN = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 3
EXIT_INTERRUPTED = 130


class DqguardError(Exception):
    """A failure the user can fix. Its text is the whole message; it exits 2."""
