"""Run a notebook's code cells one by one in a sandboxed kernel; collect what its checks send.

``python -m book_kit.grading.cell_runner JOB.json``, started by ``book_kit.grading.run`` in a
process of its own, outside the sandbox (so whatever a kernel sends can cost at most this
process, never the grader). The job names the notebook, its check cells (cell id -> exercise),
the kernel's command line and environment, the per-cell timeout, the working copy and where to
write the report. nbclient executes the cells; the kernel talks to it over Unix sockets in the
working copy (the sandbox has no network).

**The answers channel.** Every execute request this process sends asks for the answers the
kernel kept (``book_kit.grading.record.COLLECT``, a user expression): they come back in the
request's reply, on the shell channel, which no flood of output can cut. An answer is kept only
when it is stamped with the request of a *check* cell (a random id the kernel learns when that
cell starts), and filed under *that cell's* exercise, whatever it says: an answer made while any
other cell ran, before or after, is drained with that cell's reply and counts for nothing, and
nothing the kernel writes to disk is ever read. After a check cell that ended in an error, a
silent request drains what it had kept. A trained model's file is written here, outside the
sandbox.

The report (JSON, in the grader's private folder, rewritten after every cell, so a run stopped
from outside still tells what it got to) lists each code cell: ``ok``, ``error`` (with its error's
name and first line), ``timeout``, or ``not run`` with the reason, and the answers. Other outputs
are counted, never kept: 50 MB of prints cost nothing here.

This process is a child subreaper: whatever the kernel starts and abandons becomes its child,
and it kills them all before it ends, with or without the sandbox.
"""

from __future__ import annotations

import ast
import asyncio
import base64
import ctypes
import json
import os
import resource
import signal
import sys
import time
from pathlib import Path

from book_kit.grading.record import COLLECT

MESSAGE_CHARS = 300
QUEUED_MESSAGES = 64
MESSAGE_BYTES = 24 * 2**20
MAX_ANSWERS = 2000             # entries one check cell may send
MAX_ENTRY_CHARS = 4 * 2**20    # one entry's JSON, a value's numbers included
MAX_MODELS = 8                 # trained models a whole notebook may hand in
PR_SET_CHILD_SUBREAPER = 36


def _short(text: str) -> str:
    first = (str(text).strip().splitlines() or [""])[0]
    return first if len(first) <= MESSAGE_CHARS else first[: MESSAGE_CHARS - 3] + "..."


def _client_class():
    from nbclient import NotebookClient

    class CountingClient(NotebookClient):
        """Keeps no output (it counts its characters) but the answers of check cells; notes
        errors and timeouts."""

        output_bytes = 0
        timed_out = False
        error: str | None = None
        checking: str | None = None   # the exercise whose check cell is running, if one is
        answers: dict = {}            # exercise -> entries its check cell sent
        models_dir: Path | None = None
        models = 0

        reply: dict | None = None    # the last execute reply
        request: str | None = None   # the id of the last execute request for a cell

        def output(self, outs, msg, display_id, cell_index):
            content = msg.get("content", {})
            self.output_bytes += len(content.get("text", "")) + sum(
                len(str(value)) for value in (content.get("data") or {}).values())
            return None

        def take_answers(self, reply: dict | None, request: str | None) -> None:
            """File the answers a reply brought that were made during ``request`` (a check
            cell's); drop the rest."""
            try:
                result = reply["content"]["user_expressions"]["book_kit"]
                text = result["data"]["text/plain"]
                if result.get("status") != "ok" or len(text) > MESSAGE_BYTES:
                    return
                entries = json.loads(ast.literal_eval(text))
            except (KeyError, TypeError, ValueError, SyntaxError, MemoryError, RecursionError):
                return
            if self.checking is None or not isinstance(entries, list):
                return
            for entry in entries:
                if isinstance(entry, dict) and entry.get("request") == request:
                    self._keep(entry)

        def _keep(self, entry) -> None:
            entries = self.answers.setdefault(self.checking, [])
            if not isinstance(entry, dict) or len(entries) >= MAX_ANSWERS:
                return
            try:
                case, part = str(entry["case"])[:300], str(entry["part"])[:100]
                rule = entry.get("rule") if isinstance(entry.get("rule"), dict) else {}
                kept = {"case": case, "part": part, "rule": rule,
                        "title": str(entry.get("title", ""))[:300]}
                if "error" in entry:
                    kept["error"] = str(entry["error"])[:1000]
                elif isinstance(entry.get("value"), dict) and "keras" in entry["value"]:
                    kept["model"] = self._model_file(entry["value"]["keras"])
                else:
                    kept["value"] = entry["value"]
                if len(json.dumps(kept)) > MAX_ENTRY_CHARS:
                    kept = {**kept, "error": "the answer is too large to judge"}
                    kept.pop("value", None)
            except (KeyError, TypeError, ValueError):
                return
            entries.append(kept)

        def _model_file(self, encoded: str) -> str:
            if self.models >= MAX_MODELS:
                raise ValueError("too many models")
            self.models += 1
            name = f"model-{self.models}.keras"
            (self.models_dir / name).write_bytes(base64.b64decode(encoded, validate=True))
            return name

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


async def _drain(client, request: str, seconds: float = 10) -> None:
    """Ask for the answers a failed check cell had kept (a silent request, no new cell)."""
    from queue import Empty

    msg_id = client.kc.execute("", silent=True, store_history=False)
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        try:
            reply = await client.kc.get_shell_msg(timeout=left)
        except Empty:
            return
        if reply["parent_header"].get("msg_id") == msg_id:
            client.take_answers(reply, request)
            return


def _no_reconnect(client) -> None:
    """Once connected, never reconnect: the socket files live where the submission can write, and
    a socket it put in their place must not receive the grader's messages."""
    import zmq

    for channel in (client.kc.shell_channel, client.kc.iopub_channel, client.kc.stdin_channel,
                    client.kc.control_channel):
        socket = getattr(channel, "socket", None)
        if socket is not None:
            socket.setsockopt(zmq.RECONNECT_IVL, -1)


PR_SET_PDEATHSIG = 1


def _become_subreaper(grader: int | None = None) -> None:
    """Collect what the kernel abandons, and die with the grader (killed, out of memory): the
    sandbox dies with this process, so nothing of a submission outlives its grader."""
    parent = grader or os.getppid()
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: the sandbox's namespace still ends them
        pass
    if os.getppid() != parent:  # the grader died before the signal was asked for
        os._exit(1)


def _children() -> list[int]:
    me = str(os.getpid())
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if fields[1] == me:
                found.append(int(entry))
    return found


def _descendants() -> list[int]:
    parents: dict[str, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    parents.setdefault(f.read().rsplit(")", 1)[1].split()[1], []).append(int(entry))
            except (OSError, IndexError):
                continue
    found, todo = [], [os.getpid()]
    while todo:
        for child in parents.get(str(todo.pop()), []):
            found.append(child)
            todo.append(child)
    return found


def _copy_safely(source: Path, target: Path, budget: int = 200 * 2**20) -> None:
    """Copy a folder: regular files and folders only, never following a link."""
    import shutil
    import stat

    target.mkdir(parents=True, exist_ok=True)
    for entry in os.scandir(source):
        info = entry.stat(follow_symlinks=False)
        if stat.S_ISDIR(info.st_mode):
            _copy_safely(Path(entry.path), target / entry.name, budget)
        elif stat.S_ISREG(info.st_mode) and info.st_size <= budget:
            fd = os.open(entry.path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
            with os.fdopen(fd, "rb") as src, open(target / entry.name, "wb") as dst:
                shutil.copyfileobj(src, dst)


def keep_home(job: dict) -> None:
    """Copy the kernel's home to ``job["keep"]`` (``--keep-work``), its processes stopped first.

    Sandboxed, the home is a tmpfs that lives as long as the sandbox: it is read through
    ``/proc/PID/root`` of a process inside, while every process there is stopped, so nothing
    can change it mid-copy.
    """
    if not job.get("keep"):
        return
    target = Path(job["keep"])
    if job.get("home_inside") is None:
        _copy_safely(Path(job["workdir"]), target)
        return
    inside = _descendants()
    for pid in inside:
        try:
            os.kill(pid, signal.SIGSTOP)
        except OSError:
            pass
    try:
        own_root = os.stat("/")
        for pid in inside:
            root = f"/proc/{pid}/root"
            try:
                info = os.stat(root)
            except OSError:
                continue
            if (info.st_dev, info.st_ino) != (own_root.st_dev, own_root.st_ino):
                _copy_safely(Path(root + job["home_inside"]), target)
                return
    except OSError:
        pass
    finally:
        for pid in inside:
            try:
                os.kill(pid, signal.SIGCONT)
            except OSError:
                pass


def kill_leftovers() -> None:
    """Kill every process the kernel left behind (they are this subreaper's children now)."""
    if not os.path.isdir("/proc"):
        return
    for _ in range(50):
        children = _children()
        if not children:
            return
        for pid in children:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        for pid in children:
            try:
                os.waitpid(pid, 0)
            except OSError:
                pass


async def run(job: dict) -> dict:
    import nbformat

    nb = nbformat.read(job["notebook"], as_version=4)
    timeout = job["cell_timeout"]
    checks = job.get("checks", {})
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

    def note_reply(cell, cell_index, execute_reply):
        client.reply = execute_reply

    client.on_cell_executed = note_reply
    client.answers = {}
    client.models_dir = Path(job["models"])
    client.models_dir.mkdir(exist_ok=True)
    report = {"cells": [], "stopped": None, "answers": client.answers}
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
            send = client.kc.execute

            def execute(code, **kwargs):  # every request asks for the answers kept so far
                request = send(code, **{**kwargs, "user_expressions": {"book_kit": COLLECT}})
                client.request = request
                return request

            client.kc.execute = execute
            for index, cell in enumerate(nb.cells):
                if cell.cell_type != "code":
                    continue
                entry = {"index": index, "id": cell.get("id"), "status": "ok"}
                report["cells"].append(entry)
                if report["stopped"]:
                    entry.update(status="not run", error=report["stopped"])
                    continue
                client.output_bytes, client.timed_out, client.error = 0, False, None
                client.reply = client.request = None
                # answers count only while a check cell runs, for its own exercise
                client.checking = checks.get(cell.get("id"))
                if client.checking is not None:
                    client.answers.setdefault(client.checking, [])
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
                    request = client.request
                    client.take_answers(client.reply, request)
                    if client.checking is not None and entry["status"] != "ok" and \
                            not report["stopped"]:
                        # a reply to a cell that failed carries no user expressions
                        await _drain(client, request)
                finally:
                    client.checking = None
                entry["output_bytes"] = client.output_bytes
                save()
            try:
                keep_home(job)
            except OSError:  # only a convenience for the instructor: never costs the grades
                pass
    except Exception as e:  # the kernel never started
        report["stopped"] = (report["stopped"]
                             or f"the kernel did not start ({type(e).__name__}: {_short(e)})")
    finally:
        log.close()
        kill_leftovers()
    report["runner_max_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    save()
    return report


def main(argv=None) -> None:
    """Run one graded notebook: ``python -m book_kit.grading.cell_runner JOB.json`` (the grader
    starts it).

    Parameters
    ----------
    argv : list of str, optional
        ``[path of the job file]``; default ``sys.argv[1:]``.
    """
    argv = sys.argv[1:] if argv is None else argv
    job = json.loads(Path(argv[0]).read_text())
    _become_subreaper(job.get("grader"))
    os.chdir(job["workdir"])
    try:
        asyncio.run(run(job))
    finally:
        kill_leftovers()


if __name__ == "__main__":
    main()
