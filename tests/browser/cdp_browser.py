"""Headless Chromium driven over the DevTools protocol on a pipe (no port, no network).

``--remote-debugging-pipe`` makes Chromium read commands on fd 3 and write replies and events
on fd 4, as NUL-terminated JSON: a client of a few lines, no websocket library, no listening
socket. Pages are opened from ``file://`` URLs; every request the page makes is recorded
(``Network.requestWillBeSent``), as are console errors and uncaught exceptions.

Chromium is Debian's ``chromium`` package: ``.ci/run`` installs it when missing. Under CI
(``CI=true``) a missing browser fails these tests; elsewhere they are skipped.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import select
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any


def chromium_path() -> str | None:
    """The browser to drive, if installed."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


class Browser:
    """One headless Chromium process and one page (tab) in it."""

    def __init__(self, executable: str, profile: Path) -> None:
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()

        def fds() -> None:  # runs in the child before exec: the protocol's fds 3 and 4
            os.dup2(to_browser_r, 100)  # by way of free numbers: the pipes may be 3 or 4
            os.dup2(from_browser_w, 101)
            os.dup2(100, 3)
            os.dup2(101, 4)

        self._proc = subprocess.Popen(
            [executable, "--headless", "--no-sandbox", "--disable-gpu",
             "--remote-debugging-pipe", "--no-first-run", "--no-default-browser-check",
             "--disable-background-networking", "--disable-component-update",
             "--disable-sync", "--disable-extensions", f"--user-data-dir={profile}",
             "--window-size=1280,900", "about:blank"],
            preexec_fn=fds, pass_fds=(3, 4),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict[str, Any]] = []
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = self.send("Target.attachToTarget",
                                 {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Network", "Log"):
            self.send(f"{domain}.enable", session=True)

    def _read(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._from_browser], [], [], left)[0]:
                raise TimeoutError("no reply from the browser")
            chunk = os.read(self._from_browser, 1 << 20)
            if not chunk:
                raise RuntimeError("the browser closed its pipe")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        parsed: dict[str, Any] = json.loads(message)
        return parsed

    def send(self, method: str, params: dict[str, Any] | None = None, *,
             session: bool = False, timeout: float = 60.0) -> dict[str, Any]:
        """Send one command and wait for its reply (events seen meanwhile are kept)."""
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method,
                                   "params": params or {}}
        if session:
            message["sessionId"] = self.session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            reply = self._read(deadline)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                result: dict[str, Any] = reply.get("result", {})
                return result
            self.events.append(reply)

    def wait_for(self, method: str, timeout: float = 60.0) -> dict[str, Any]:
        """Wait for an event (one seen already counts); return it."""
        deadline = time.monotonic() + timeout
        while True:
            for event in self.events:
                if event.get("method") == method:
                    self.events.remove(event)
                    return event
            event = self._read(deadline)
            if event.get("method") == "Page.javascriptDialogOpening":
                raise RuntimeError("the page opened a dialog: " + str(event["params"]["type"]))
            self.events.append(event)

    def open(self, path: Path) -> float:
        """Load a file and wait for its load event; returns the seconds it took."""
        self.events.clear()
        t0 = time.perf_counter()
        self.send("Page.navigate", {"url": path.resolve().as_uri()}, session=True)
        self.wait_for("Page.loadEventFired")
        return time.perf_counter() - t0

    def js(self, expression: str) -> Any:
        """Evaluate in the page; the value (awaited if a promise)."""
        reply = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True,
                                               "awaitPromise": True}, session=True)
        if "exceptionDetails" in reply:
            raise RuntimeError(f"page script failed: {reply['exceptionDetails'].get('text')}")
        return reply["result"].get("value")

    def key(self, key: str, code: str, key_code: int) -> None:
        """Press and release one key, as a keyboard user would."""
        for kind in ("keyDown", "keyUp"):
            self.send("Input.dispatchKeyEvent",
                      {"type": kind, "key": key, "code": code, "windowsVirtualKeyCode": key_code,
                       "text": "\r" if key == "Enter" and kind == "keyDown" else ""},
                      session=True)

    def screenshot(self, out: Path) -> None:
        """A PNG of the viewport."""
        data = self.send("Page.captureScreenshot", {"format": "png"}, session=True)["data"]
        out.write_bytes(base64.b64decode(data))

    def problems(self) -> list[str]:
        """Console errors, uncaught exceptions and requests to anything but the page itself."""
        found = []
        for event in self.events:
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.exceptionThrown":
                found.append("exception: " + str(params["exceptionDetails"].get("text")))
            elif method == "Runtime.consoleAPICalled" and params.get("type") == "error":
                found.append("console error")
            elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
                found.append("log error: " + str(params["entry"].get("text")))
            elif method == "Network.requestWillBeSent":
                url = str(params["request"]["url"])
                if not url.startswith(("file://", "blob:", "data:")):
                    found.append("network request: " + url.split("?")[0])
        return found

    def close(self) -> None:
        """End the browser process (ours only)."""
        with contextlib.suppress(RuntimeError, TimeoutError, OSError):
            self.send("Browser.close", timeout=10)
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        os.close(self._to_browser)
        os.close(self._from_browser)
