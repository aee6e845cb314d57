"""The browser fixture for the review-page tests (see :mod:`cdp_browser`).

Chromium is Debian's ``chromium`` package: ``.ci/run`` installs it when missing. Under CI
(``CI=true``) a missing browser fails these tests; elsewhere they are skipped.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from cdp_browser import Browser, chromium_path


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    """A headless Chromium for this module's tests (skipped locally, failed in CI, if absent)."""
    executable = chromium_path()
    if executable is None:
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is not installed; .ci/run installs it (apt-get install "
                        "chromium)")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    b = Browser(executable, tmp_path_factory.mktemp("chromium-profile"))
    try:
        yield b
    finally:
        b.close()
