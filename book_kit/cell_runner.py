"""Run a notebook's code cells one by one in a sandboxed kernel and report how each ended.

``python -m book_kit.cell_runner JOB.json``, started by ``book_kit.grading`` in a process of its
own (so whatever a kernel sends can cost at most this process, never the grader). The job names
the notebook, the kernel's command line and environment, the per-cell timeout, the working copy
and where to write the report. nbclient executes the cells; the kernel talks to it over Unix
sockets in the working copy (the sandbox has no network).

The report (JSON, rewritten after every cell, so a run stopped from outside still tells what it
got to) lists each code cell: ``ok``, ``error`` (with its error's name and first line),
``timeout``, or ``not run`` with the reason. Outputs are counted, never kept: 50 MB of prints
cost nothing here, and the gradebook is built from the answers file, not from what a cell shows.
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import sys
import time
from pathlib import Path

MESSAGE_CHARS = 300
QUEUED_MESSAGES = 64
MESSAGE_BYTES = 16 * 2**20


def _short(text: str) -> str:
    first = (str(text).strip().splitlines() or [""])[0]
    return first if len(first) <= MESSAGE_CHARS else first[: MESSAGE_CHARS - 3] + "..."


def _client_class():
    from nbclient import NotebookClient

    class CountingClient(NotebookClient):
        """Keeps no output (it counts its characters); notes errors and timeouts."""

        output_bytes = 0
        timed_out = False
        error: str | None = None

        def output(self, outs, msg, display_id, cell_index):
            content = msg.get("content", {})
            self.output_bytes += len(content.get("text", "")) + sum(
                len(str(value)) for value in (content.get("data") or {}).values())
            return None

        def clear_output(self, outs, msg, cell_index):
            pass

        async def _async_handle_timeout(self, timeout, cell=None):
            self.timed_out = True
            return await super()._async_handle_timeout(timeout, cell)

    return CountingClient


def _kernel_manager(job: dict):
    import zmq.asyncio
    from jupyter_client import AsyncKernelManager

    # Paths relative to the working copy: the runner's current folder outside, the kernel's inside
    os.makedirs(".kernel", exist_ok=True)
    context = zmq.asyncio.Context()
    # a kernel that prints faster than this process reads must not pile its output up here:
    # beyond this many queued messages, output is dropped (it is never kept anyway)
    context.setsockopt(zmq.RCVHWM, QUEUED_MESSAGES)
    # ipykernel sends what a cell printed in 0.2 s as one message: a bigger one disconnects the
    # sender instead of passing through this process's memory (3 copies while it is decoded)
    context.setsockopt(zmq.MAXMSGSIZE, MESSAGE_BYTES)
    km = AsyncKernelManager(transport="ipc", ip=".kernel/ipc",
                            connection_file=os.path.abspath(".kernel/connection.json"),
                            context=context)
    make_client = km.client  # nbclient's client would make a context of its own
    km.client = lambda **kwargs: make_client(context=context, **kwargs)
    # signals sent from outside stop at the sandbox; an interrupt request reaches the kernel
    km.kernel_spec.interrupt_mode = "message"
    argv = job["argv"]
    km.format_kernel_cmd = lambda extra_arguments=None: [
        a.replace("{connection_file}", ".kernel/connection.json") for a in argv]
    return km


async def _responsive(client, seconds: float = 10) -> bool:
    """Whether the kernel answers a kernel_info request: after an interrupted cell, a kernel
    still busy (its code ignored the interrupt) does not."""
    from queue import Empty

    msg_id = client.kc.kernel_info()
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        try:
            reply = await client.kc.get_shell_msg(timeout=left)
        except Empty:
            return False
        if reply["parent_header"].get("msg_id") == msg_id:
            return True
    return False


def _no_reconnect(client) -> None:
    """Once connected, never reconnect: the socket files live where the submission can write, and
    a socket it put in their place must not receive the grader's messages."""
    import zmq

    for channel in (client.kc.shell_channel, client.kc.iopub_channel, client.kc.stdin_channel,
                    client.kc.control_channel):
        socket = getattr(channel, "socket", None)
        if socket is not None:
            socket.setsockopt(zmq.RECONNECT_IVL, -1)


async def run(job: dict) -> dict:
    import nbformat

    nb = nbformat.read(job["notebook"], as_version=4)
    timeout = job["cell_timeout"]
    client = _client_class()(
        nb, km=_kernel_manager(job), timeout=timeout, allow_errors=True, interrupt_on_timeout=True,
        error_on_timeout={"ename": "Timeout", "evalue": f"ran longer than {timeout} s"},
        startup_timeout=job.get("startup_timeout", 120), record_timing=False,
        # outputs are not kept, so waiting long for the last of them is pointless, and after a
        # flood cut the output channel (MESSAGE_BYTES) every cell would wait this long
        shutdown_kernel="immediate", iopub_timeout=2)

    def note_error(cell, cell_index, execute_reply):
        # from the execute reply (the shell channel), so a flood that cost the output channel
        # still leaves the reason
        content = execute_reply["content"]
        client.error = f"{_short(content.get('ename', ''))}: {_short(content.get('evalue', ''))}"

    client.on_cell_error = note_error
    report = {"cells": [], "stopped": None}
    path = Path(job["report"])

    def save():
        staging = path.with_suffix(".tmp")
        staging.write_text(json.dumps(report))
        os.replace(staging, path)

    log = open(job["kernel_log"], "wb")
    try:
        async with client.async_setup_kernel(env=job["env"], stdout=log, stderr=log,
                                             cwd=job["workdir"]):
            _no_reconnect(client)
            for index, cell in enumerate(nb.cells):
                if cell.cell_type != "code":
                    continue
                entry = {"index": index, "id": cell.get("id"), "status": "ok"}
                report["cells"].append(entry)
                if report["stopped"]:
                    entry.update(status="not run", error=report["stopped"])
                    continue
                client.output_bytes, client.timed_out, client.error = 0, False, None
                try:
                    # nbclient interrupts a cell at its timeout; one that ignores the interrupt
                    # (a C loop, a replaced SIGINT handler) is stopped with the whole kernel
                    await asyncio.wait_for(client.async_execute_cell(cell, index),
                                           timeout + 20)
                except asyncio.TimeoutError:
                    entry.update(status="timeout", error=f"ran longer than {timeout} s and "
                                 "ignored the interrupt")
                    report["stopped"] = ("an earlier cell ran over its time and ignored the "
                                         "interrupt, so its kernel was stopped")
                    await client.km.shutdown_kernel(now=True)
                except Exception as e:  # DeadKernelError, a kernel that stopped answering ...
                    entry.update(status="error", error=f"the kernel stopped ({type(e).__name__})")
                    report["stopped"] = ("an earlier cell stopped the kernel (it crashed, exited "
                                         "or ran out of memory)")
                else:
                    if client.timed_out:
                        entry.update(status="timeout", error=f"ran longer than {timeout} s")
                        if not await _responsive(client):
                            report["stopped"] = ("an earlier cell ran over its time and ignored "
                                                 "the interrupt, so its kernel was stopped")
                            await client.km.shutdown_kernel(now=True)
                    elif client.error:
                        entry.update(status="error", error=client.error)
                entry["output_bytes"] = client.output_bytes
                save()
    except Exception as e:  # the kernel never started
        report["stopped"] = report["stopped"] or f"the kernel did not start ({type(e).__name__}: {_short(e)})"
    finally:
        log.close()
    report["runner_max_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    save()
    return report


def main(argv=None) -> None:
    """Run one graded notebook: ``python -m book_kit.cell_runner JOB.json`` (the grader starts it).

    Parameters
    ----------
    argv : list of str, optional
        ``[path of the job file]``; default ``sys.argv[1:]``.
    """
    argv = sys.argv[1:] if argv is None else argv
    job = json.loads(Path(argv[0]).read_text())
    os.chdir(job["workdir"])
    asyncio.run(run(job))


if __name__ == "__main__":
    main()
