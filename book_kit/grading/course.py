"""The class: who handed in what, the chapter's own answers, each submission run and judged.

:func:`grade` is ``book-kit grade``. For a class it:

1. reads the chapter and the course's settings, private tests and secret (the seeds of the
   inputs every exercise draws at grading time);
2. runs the chapter's own solutions once, in the sandbox, on those inputs: the reference answers
   (cached; a chapter whose own solutions fail stops here, before any submission runs);
3. runs each submission in a sandbox of its own (``book_kit.grading.run``), its trained models in
   a second one (``book_kit.grading.outcomes``), and judges what its check cells sent
   (``book_kit.grading.judge``); a submission already graded with the same code, chapter and
   settings is taken from the cache, and each result is cached as soon as it is known, so a
   grading that is stopped resumes where it was;
4. writes the class files (``book_kit.grading.gradebook``).

``shard=(k, n)`` grades the k-th of n slices of the class, ``gradebook.merge`` combines them.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import os
import queue
import shutil
import sys
import tempfile
from pathlib import Path

from book_kit.grading import cache, config, gradebook, notebook, private_tests, record, run, secrets
from book_kit.grading.config import Settings
from book_kit.grading.gradebook import Row
from book_kit.grading.judge import Verdict, judge, keyed
from book_kit.notebook import convention


class UsageError(ValueError):
    """Grading could not start (bad chapter, no submissions, no sandbox ...): exit non-zero."""


# --- the class's inputs ----------------------------------------------------------------------

@dataclasses.dataclass
class Chapter:
    """The chapter as grading needs it: its notebook, file, exercises and what they depend on."""
    path: Path
    data: bytes
    nb: object
    checks: dict          # check cell id -> exercise id
    draws: dict           # exercise id -> the line that seeds its drawn inputs
    seeds: dict           # exercise id -> that seed
    private: dict         # exercise id -> the course's private tests
    secret: str

    @property
    def name(self) -> str:
        """The chapter's file name, e.g. ``ch03_1_tensors_and_gradients.ipynb``."""
        return self.path.name

    def context(self) -> bytes:
        """What, besides book_kit's code, decides the chapter's answers: its file, the inputs
        it draws, the private tests."""
        return self.data + repr((sorted(self.seeds.items()), sorted(self.private.items()))).encode()


def load_chapter(path: Path, settings: Settings, out_dir: Path) -> Chapter:
    """Read the chapter, the course's private tests and its secret; UsageError if unusable."""
    import nbformat

    path = Path(path)
    if not path.is_file():
        raise UsageError(f"no chapter notebook at {path}")
    try:
        data = path.read_bytes()
        nb = nbformat.reads(data.decode("utf-8"), as_version=4)
    except Exception as e:
        raise UsageError(f"{path} is not a readable notebook: {e}") from None
    checks = convention.exercises(nb)
    if not checks:
        raise UsageError(f"{path} has no check cells (cell ids ending in '-check').")
    try:
        private = private_tests.load(settings.tests, list(checks.values()))
    except private_tests.PrivateTestsError as e:
        raise UsageError(str(e)) from None
    secret = secrets.class_secret(settings.secret, out_dir)
    seeds = {e: secrets.seed_for(secret, e) for e in checks.values()}
    return Chapter(path, data, nb, checks, {e: secrets.draw_line(s) for e, s in seeds.items()},
                   seeds, private, secret)


# The arrays a submission's sandbox must not have: what the grader judges models on
WITHHELD = {"mnist": ("y_test",)}


def sandbox_data(chapter: Chapter, folder: Path) -> tuple[Path, str]:
    """The data sets a submission's kernel reads, and ``BOOK_KIT_WITHHELD`` for it.

    MNIST's test labels are replaced by random digits (the grader judges trained models on the
    real ones): the chapter's cells still run, their test accuracies are meaningless there.
    """
    import numpy as np

    from book_kit import datasets

    uses = [name for name in datasets.REGISTRY if name.lower() in _code(chapter.nb).lower()]
    withheld = [name for name in uses if name in WITHHELD]
    if not withheld:
        return datasets.data_dir(), ""
    folder.mkdir(parents=True, exist_ok=True)
    for name in withheld:
        arrays = datasets.load(name)
        for key in WITHHELD[name]:
            spec = datasets.REGISTRY[name].arrays[key]
            arrays[key] = np.random.default_rng(0).integers(0, 10, spec.shape).astype(spec.dtype)
        target = folder / datasets.REGISTRY[name].filename
        np.savez(target, **arrays)
        os.chmod(target, 0o644)
    os.chmod(folder, 0o755)
    return folder, ",".join(f"{n}:{k}" for n in withheld for k in WITHHELD[n])


def _code(nb) -> str:
    return "\n".join(c.source for c in nb.cells if c.cell_type == "code")


def _prefetch_data(chapter_nb) -> None:
    """Data sets the chapter loads, fetched now: a sandboxed kernel can read them, not fetch."""
    from book_kit import datasets

    text = _code(chapter_nb).lower()
    for name in datasets.REGISTRY:
        if name.lower() in text:
            try:
                datasets.fetch(name)
            except Exception as e:
                raise UsageError(f"the chapter needs the {name} data set: {e}") from None


# --- running and judging one notebook --------------------------------------------------------

def _evaluate(run_result: run.Run, reference: dict, chapter: Chapter, settings: Settings,
              slot: int) -> None:
    """Replace each handed-in model by the accuracy the grader measures (or why it has none)."""
    jobs, entries = [], []
    for exercise, sent in run_result.answers.items():
        wanted, _ = keyed(reference.get(exercise, []))
        for entry in sent:
            if "model" not in entry:
                continue
            rule = wanted.get((entry["case"], entry["part"]), {}).get("rule", {})
            file = run_result.models / os.path.basename(str(entry.pop("model")))
            if rule.get("kind") != "model" or not file.is_file():
                entry["error"] = "a model was handed in where the exercise asks for a value"
                continue
            jobs.append({"file": file, "on": rule["on"], "seed": chapter.seeds[exercise]})
            entries.append(entry)
    for entry, result in zip(entries, run.evaluate_models(jobs, settings, slot)):
        if "accuracy" in result:
            entry["value"] = record.encode(float(result["accuracy"]))
        else:
            entry["error"] = str(result.get("error", "the model could not be evaluated"))[:1000]


def _run_and_evaluate(graded_nb, chapter: Chapter, settings: Settings, slot: int, data: tuple,
                      reference: dict | None, keep_as: str | None = None) -> run.Run:
    models = Path(tempfile.mkdtemp(prefix="book_kit-models-"))
    try:
        result = run.run_sandboxed(graded_nb, chapter.checks, settings, slot, keep_as=keep_as,
                                   data_dir=data[0], withheld=data[1], models_to=models)
        entries = result.answers if reference is None else \
            {e: answer["entries"] for e, answer in reference.items()}
        _evaluate(result, entries, chapter, settings, slot)
        return result
    finally:
        shutil.rmtree(models, ignore_errors=True)


def reference_answers(chapter: Chapter, settings: Settings, data: tuple, slot: int = 0,
                      progress: bool = False) -> dict:
    """The answers the chapter's own solutions give on this class's inputs: exercise ->
    ``{"title", "entries"}``, sent and evaluated exactly as a submission's are.

    Cached by the chapter, its drawn inputs and private tests, book_kit's code, the limits and
    the framework versions (``cache.context_key``): a class is graded against one run of the
    chapter, not one per submission.
    """
    key = cache.context_key(chapter.context(), settings)
    stored = cache.stored_reference(key)
    if stored is not None:
        return stored
    if progress:
        print(f"book-kit grade: running the chapter's own solutions once, for the reference "
              f"answers ({chapter.name}; cached for the next grading)", file=sys.stderr)
    graded = notebook.graded_notebook(chapter.nb, chapter.nb, chapter.draws, chapter.private)
    result = _run_and_evaluate(graded, chapter, settings, slot, data, None)
    answers = {}
    for cell_id, exercise in chapter.checks.items():
        sent = result.answers.get(exercise) or []
        _, twice = keyed(sent)
        problem = next((e["error"] for e in sent if "error" in e), None)
        if not sent or problem or twice:
            cell = result.cells.get(cell_id, {})
            problem = problem or (f"it sent {twice[0]} twice" if twice else None) or \
                cell.get("error") or result.stopped or "its checks sent no answer"
            raise UsageError(f"the chapter's own solution to {exercise} (cell {cell_id}) did not "
                             f"give an answer: {problem}. Fix the chapter, then grade again.")
        for entry in sent:
            rule = entry.get("rule", {})
            if rule.get("kind") == "model" and _number(entry) < rule.get("bound", 0):
                raise UsageError(f"the chapter's own model for {exercise} reaches "
                                 f"{_number(entry):.4f}, under its bound {rule['bound']}: fix "
                                 "the chapter, then grade again.")
        answers[exercise] = {"title": sent[0].get("title") or exercise, "entries": sent}
    cache.store_reference(key, answers)
    return answers


def _number(entry: dict) -> float:
    from book_kit.grading.judge import decode

    return float(decode(entry["value"]).reshape(()))


def _missing_reason(cell_id: str, result: run.Run) -> str:
    """Why a check sent no answer, from how its cell (or the run) ended."""
    cell = result.cells.get(cell_id)
    if cell is None:
        return f"not run: {result.stopped or 'grading stopped before this cell'}"
    status, error = cell["status"], cell.get("error", "")
    if status == "not run":
        return f"not run: {error}"
    if status == "timeout":
        return f"timed out: {error} (an endless loop?)"
    if status == "error":
        name, _, text = error.partition(": ")
        return text if name in ("ExerciseFailed", "NotAttempted") else error
    return "no answer was sent (did an earlier cell change book_kit.exercises?)"


def judge_run(chapter: Chapter, result: run.Run, reference: dict,
              reveal: str = "label") -> list[Verdict]:
    """A :class:`Verdict` per exercise: what the submission's checks sent, against the chapter's."""
    return [judge(exercise, reference[exercise]["entries"], result.answers.get(exercise, []),
                  missing=_missing_reason(cell_id, result), reveal=reveal)
            for cell_id, exercise in chapter.checks.items()]


def exercise_points(chapter_nb, overrides: dict | None = None) -> dict[str, float]:
    """Each exercise's points: its check cell's nbgrader ``points`` (1 if none), or the override."""
    points = {}
    for cell in convention.check_cells(chapter_nb):
        name = convention.exercise_id(cell)
        points[name] = float((overrides or {}).get(
            name, cell.metadata.get("nbgrader", {}).get("points", 1)))
    return points


# --- the students ----------------------------------------------------------------------------

def student_names(submissions: list[Path]) -> list[str]:
    """A name per submission: nbgrader's ``submitted/<student>/<assignment>/<file>``, else the
    file's name without ``.ipynb``; files with the same name in different folders are told
    apart by their folders (``a/hw``, ``b/hw``)."""
    paths = [Path(os.path.abspath(s)) for s in submissions]
    names = []
    for path in paths:
        parts = path.parts
        if len(parts) >= 4 and parts[-4] == "submitted":
            names.append(parts[-3])
        else:
            names.append(path.stem)
    for name in {n for n in names if names.count(n) > 1}:
        group = [i for i, n in enumerate(names) if n == name]
        for depth in range(1, max(len(paths[i].parts) for i in group)):
            labels = {i: "/".join((*paths[i].parts[-depth - 1:-1], paths[i].stem)) for i in group}
            if len(set(labels.values())) == len(group):
                for i, label in labels.items():
                    names[i] = label
                break
    return names


def in_shard(names: list[str], shard: tuple[int, int] | None) -> set[str]:
    """The names the K-th of N shards grades (1-based): every N-th name in sorted order, so the
    slices are the same on every machine, whatever order the files were given in."""
    if shard is None:
        return set(names)
    k, n = shard
    return {name for i, name in enumerate(sorted(set(names))) if i % n == k - 1}


@dataclasses.dataclass(frozen=True)
class Handed:
    """One student's submission: who, which file, and whether it came late."""
    student: str
    path: Path
    late: bool | None = None  # None: decided by the deadline


def collect_submissions(arguments: list[Path], into: Path, lms_kind: str | None = None,
                        warn=None) -> list:
    """The submissions named on the command line: notebooks as they are, and each Canvas or
    Moodle download (a zip, or the folder it was unzipped to) as one :class:`Handed` per
    student, named by the LMS's id (``book_kit.grading.lms``).

    Parameters
    ----------
    arguments : list of Path
        Notebook files, LMS zips and LMS folders.
    into : Path
        A private folder for what is extracted from zips (the caller removes it).
    lms_kind : str, optional
        ``"canvas"`` or ``"moodle"`` when the names do not tell.
    warn : callable, optional
        Called with each line worth telling the instructor (files not used, resubmissions).

    Returns
    -------
    list of Path or Handed
    """
    from book_kit.grading import lms

    warn = warn or (lambda line: print(f"book-kit grade: {line}", file=sys.stderr))
    collected: list = []
    for number, argument in enumerate(map(Path, arguments)):
        is_download = argument.is_dir() or (argument.is_file() and argument.suffix == ".zip")
        if not is_download:
            collected.append(argument)
            continue
        try:
            found = lms.collect(argument, Path(into) / str(number), lms_kind)
        except lms.LMSError as e:
            raise UsageError(f"{argument}: {e}") from None
        for line in found.unmatched:
            warn(f"{argument.name}: not graded: {line}")
        for line in found.replaced:
            warn(f"{argument.name}: a resubmission replaces an earlier one: {line}")
        extracted = not argument.is_dir()
        for sub in found.submissions:
            # a file extracted now has no time of its own: Canvas says in its name what was
            # late, Moodle's download does not (its grading table does)
            late = sub.late if found.kind == "canvas" or extracted else None
            collected.append(Handed(sub.student, sub.path, late))
    return collected


def _check_sandbox(settings: Settings) -> None:
    from book_kit.grading import sandbox

    if settings.sandbox:
        problem = sandbox.why_unavailable()
        if problem:
            raise UsageError(f"cannot sandbox the submissions: {problem}. Grade on a machine "
                             "where bubblewrap works, or pass --no-sandbox to run them with "
                             "your own permissions (they can then read and change your files).")
    else:
        print("book-kit grade: warning: --no-sandbox: submissions run with your own permissions; "
              "they can read and change your files.", file=sys.stderr)


# --- the whole class -------------------------------------------------------------------------

def grade(chapter_path: Path, submissions: list, out_dir: Path, settings: Settings,
          progress: bool = True, shard: tuple[int, int] | None = None) -> list[Row]:
    """Grade ``submissions`` and write every output into ``out_dir``
    (``book_kit.grading.gradebook``).

    Parameters
    ----------
    chapter_path : Path
        The chapter notebook (solutions and hidden tests).
    submissions : list of Path or Handed
        The notebooks; a path's student is named by :func:`student_names`.
    out_dir : Path
        Where the class files go (and the cache, and the class's secret when none is set).
    settings : Settings
        Limits, points, roster, deadline, secret, private tests, what feedback reveals.
    progress : bool
        A progress bar and a line per stage on standard error.
    shard : (int, int), optional
        Grade only the k-th of n deterministic slices (students on the roster included).

    Returns
    -------
    list of Row
    """
    if not submissions:
        raise UsageError("no submissions given")
    handed = [s if isinstance(s, Handed) else None for s in submissions]
    paths = [Path(s.path if isinstance(s, Handed) else s) for s in submissions]
    resolved = [os.path.realpath(p) for p in paths]
    twice = sorted({str(p) for p, r in zip(paths, resolved) if resolved.count(r) > 1})
    if twice:
        raise UsageError(f"a submission is given twice: {', '.join(twice)}")
    names = [h.student if h else n for h, n in zip(handed, student_names(paths))]
    if len(set(names)) != len(names):
        doubled = sorted({n for n in names if names.count(n) > 1})
        raise UsageError(f"two submissions for one student: {', '.join(doubled)}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    chapter = load_chapter(chapter_path, settings, out_dir)
    _check_sandbox(settings)
    _prefetch_data(chapter.nb)
    mine = in_shard([*names, *(settings.roster or [])], shard)
    chosen = [i for i, name in enumerate(names) if name in mine]

    from tqdm.auto import tqdm

    slots: queue.Queue = queue.Queue()
    for slot in range(max(1, settings.jobs)):
        slots.put(slot)

    def in_a_slot(function, *args):
        slot = slots.get()
        try:
            return function(*args, slot=slot)
        finally:
            slots.put(slot)

    private = Path(tempfile.mkdtemp(prefix="book_kit-class-"))
    try:
        data = sandbox_data(chapter, private / "data")
        reference = reference_answers(chapter, settings, data, progress=progress)
        results_cache = cache.ResultCache(out_dir / ".cache", chapter.context(), settings)
        counts = {"run": 0, "cached": 0}
        read: dict[str, notebook.Submission] = {}  # each submission is parsed once

        def grade_one(index: int, slot: int) -> list[Verdict]:
            path, name = paths[index], names[index]
            cached = results_cache.get(path)
            if cached is not None:
                counts["cached"] += 1
                return cached
            submission = read[name] = notebook.read_submission(chapter.nb, chapter.name, path,
                                                               settings.max_notebook_mb)
            if submission.problem:
                verdicts = [Verdict(e, False, 0.0, submission.problem)
                            for e in chapter.checks.values()]
            else:
                graded = notebook.graded_notebook(chapter.nb, submission.nb, chapter.draws,
                                                  chapter.private)
                result = _run_and_evaluate(graded, chapter, settings, slot, data, reference,
                                           keep_as=name)
                verdicts = judge_run(chapter, result, reference, settings.reveal_hidden)
                counts["run"] += 1
            results_cache.put(path, verdicts)  # at once: a stopped grading resumes here
            return verdicts

        results: dict[str, list[Verdict]] = {}
        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, settings.jobs)) as pool:
            futures = {pool.submit(in_a_slot, grade_one, i): names[i] for i in chosen}
            with tqdm(total=len(futures), desc="grading", unit="notebook",
                      disable=not progress, file=sys.stderr) as bar:
                for future in concurrent.futures.as_completed(futures):
                    results[futures[future]] = future.result()
                    bar.update()
    finally:
        shutil.rmtree(private, ignore_errors=True)
    if progress:
        print(f"book-kit grade: {counts['run']} submissions run, {counts['cached']} unchanged "
              f"since the last grading (from {out_dir / '.cache'})", file=sys.stderr)
    points = exercise_points(chapter.nb, settings.points)
    rows = []
    for i in chosen:
        h, path, name = handed[i], paths[i], names[i]
        late = h.late if h is not None and h.late is not None else \
            config.is_late(path, settings.deadline)
        rows += [Row(name, v.exercise, v.passed, v.message, str(path),
                     round(points[v.exercise] * v.fraction, 2), points[v.exercise], late)
                 for v in results[name]]
    absent = [n for n in settings.roster or [] if n not in names and n in mine]
    for name in absent:  # who should have handed in and did not
        rows += [Row(name, e, False, "no submission", "", 0.0, p) for e, p in points.items()]
    strangers = sorted(set(names) - set(settings.roster)) if settings.roster else []
    if strangers:
        print(f"book-kit grade: warning: not on the roster: {', '.join(strangers)}",
              file=sys.stderr)
    titles = {e: reference[e]["title"] for e in chapter.checks.values()}
    rows = gradebook.write_all(rows, titles, chapter.name, out_dir)
    by_student = gradebook.by_student(rows)
    for index, name in [*((i, names[i]) for i in chosen), *((None, n) for n in absent)]:
        graded = None
        if index is not None:  # a cached result's submission is read here, once
            submission = read.get(name) or notebook.read_submission(
                chapter.nb, chapter.name, paths[index], settings.max_notebook_mb)
            if not submission.problem:
                graded = notebook.feedback_notebook(chapter.nb, submission.nb)
        gradebook.write_feedback(graded, list(by_student[name].values()), titles, chapter.name,
                                 gradebook.feedback_file(out_dir, name))
    return rows
