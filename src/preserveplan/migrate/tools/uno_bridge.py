"""A persistent LibreOffice, driven over UNO, one JSON request per line on stdin.

Run by Debian's ``/usr/bin/python3`` (the interpreter that has ``python3-uno``), not by the
project's venv: it must import nothing from preserveplan. It starts ``soffice`` with its own
profile (argument: the profile's ``file:`` URL) and a pipe connection, then answers requests

    {"src": "/in.docx", "dst": "/out.pdf", "filter": "writer_pdf_Export",
     "data": {"SelectPdfVersion": 2, ...}}

with ``{"ok": true}`` or ``{"ok": false, "error": "..."}``, one line each. Documents are loaded
with ``Hidden=True, ReadOnly=True`` (unoserver 3.7's ``ReadOnly`` alone makes Calc return
nothing on LibreOffice 7.4; TOOLS.md §1.6). The caller restarts the bridge after a crash or hang.

Each conversion runs on LibreOffice's main thread: the request is handed to the
``com.sun.star.awt.AsyncCallback`` service, whose callback (this script, over the bridge) makes
the load and store calls, and UNO's thread identity runs those on the thread that called back.
Called directly, they run on one of soffice's UNO threads while its main thread keeps working
beside them; on the benchmark's Writer documents that cost about 20 % more CPU per document than
``soffice --convert-to`` (measured with LibreOffice 7.4: 30 documents 5.4-6.2 s against
4.2-4.9 s), with identical output.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import uno  # type: ignore[import-not-found]
import unohelper  # type: ignore[import-not-found]
from com.sun.star.awt import XCallback  # type: ignore[import-not-found]
from com.sun.star.beans import PropertyValue  # type: ignore[import-not-found]


def _props(**values: object) -> tuple[object, ...]:
    return tuple(PropertyValue(Name=k, Value=v) for k, v in values.items())


def _filter_data(data: dict[str, object]) -> object:
    items = tuple(PropertyValue(Name=k, Value=v) for k, v in data.items())
    return uno.Any("[]com.sun.star.beans.PropertyValue", items)


class _OnMainThread(unohelper.Base, XCallback):  # type: ignore[misc]
    """Runs one function when LibreOffice's main thread calls back, and keeps its outcome."""

    def __init__(self, work: Callable[[], None]) -> None:
        self.work = work
        self.done = threading.Event()
        self.error: BaseException | None = None

    def notify(self, data: object) -> None:
        try:
            self.work()
        except BaseException as exc:  # handed to the waiting request
            self.error = exc
        finally:
            self.done.set()


def _on_main_thread(async_callback: object, work: Callable[[], None]) -> None:
    """Run ``work`` on LibreOffice's main thread (directly where that service is missing)."""
    if async_callback is None:
        work()
        return
    callback = _OnMainThread(work)
    async_callback.addCallback(callback, None)  # type: ignore[attr-defined]
    callback.done.wait()  # a hang is the caller's to end: it kills the bridge at its timeout
    if callback.error is not None:
        raise callback.error


def main() -> None:
    soffice, profile_url, pipe = sys.argv[1], sys.argv[2], f"preserveplan{os.getpid()}"
    proc = subprocess.Popen(
        [
            soffice,
            "--headless",
            "--invisible",
            "--norestore",
            "--nologo",
            "--nodefault",
            f"-env:UserInstallation={profile_url}",
            f"--accept=pipe,name={pipe};urp;StarOffice.ComponentContext",
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    local = uno.getComponentContext()
    resolver = local.ServiceManager.createInstanceWithContext(
        "com.sun.star.bridge.UnoUrlResolver", local
    )
    context = None
    for _ in range(3000):  # up to 60 s for a first start with a fresh profile
        try:
            context = resolver.resolve(f"uno:pipe,name={pipe};urp;StarOffice.ComponentContext")
            break
        except Exception:
            if proc.poll() is not None:
                break
            time.sleep(0.02)  # LibreOffice is ready in about 1 s: look often
    if context is None:
        print(json.dumps({"ready": False, "error": "LibreOffice did not start"}), flush=True)
        proc.kill()
        return
    desktop = context.ServiceManager.createInstanceWithContext(
        "com.sun.star.frame.Desktop", context
    )
    try:
        async_callback = context.ServiceManager.createInstanceWithContext(
            "com.sun.star.awt.AsyncCallback", context
        )
    except Exception:
        async_callback = None
    print(json.dumps({"ready": True}), flush=True)
    try:
        for line in sys.stdin:
            request = json.loads(line)

            def convert(request: dict[str, Any] = request) -> None:
                doc = desktop.loadComponentFromURL(
                    uno.systemPathToFileUrl(request["src"]),
                    "_blank",
                    0,
                    _props(Hidden=True, ReadOnly=True),
                )
                if doc is None:
                    raise RuntimeError("LibreOffice could not load the document")
                try:
                    store: dict[str, object] = {"FilterName": request["filter"]}
                    if request.get("data"):
                        store["FilterData"] = _filter_data(request["data"])
                    doc.storeToURL(uno.systemPathToFileUrl(request["dst"]), _props(**store))
                finally:
                    with contextlib.suppress(Exception):
                        doc.close(True)

            try:
                _on_main_thread(async_callback, convert)
                reply: dict[str, object] = {"ok": True}
            except Exception as exc:
                reply = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
            print(json.dumps(reply), flush=True)
    finally:
        with contextlib.suppress(Exception):
            desktop.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


if __name__ == "__main__":
    main()
