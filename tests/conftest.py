from collections.abc import Iterator

import pytest

from testing.inprocess import InProcess


@pytest.fixture
def in_process() -> Iterator[InProcess]:
    runner = InProcess()
    yield runner
    runner.forget()
