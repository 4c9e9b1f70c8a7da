"""Exercise checks: one fixed line when an answer is right, a friendly hint when it is wrong.

A check cell makes its exercise once, then checks the student's answers::

    exercise = ex.Exercise("Exercise 1 (double)")
    exercise.check(double, expected=8, args=(4,))                       # the shown example
    ### BEGIN HIDDEN TESTS
    exercise.check(double, expected=-3.0, args=(-1.5,), hidden="x = -1.5")
    for case, x in exercise.draw(2, lambda rng: float(rng.uniform(-5, 5))):
        exercise.check(double, expected=2 * x, args=(x,), hidden=case)  # drawn when graded
    ### END HIDDEN TESTS
    exercise.done(2)

A wrong answer *raises* ``ExerciseFailed`` (an AssertionError) at once, so nbval sees it in strict
and lax mode alike; :meth:`Exercise.done`, the cell's last line, prints the one fixed line of a
right answer: ``correct!`` where the hidden tests ran too (a chapter), ``right on the shown
example`` where they did not (a workbook: they run when the work is graded). In Jupyter a failure
shows as its message alone, no traceback through book_kit or a framework.

Answers may be NumPy arrays, numbers, or tensors of TensorFlow, PyTorch or JAX. Solutions live in
functions (the workbook replaces their bodies with ``raise NotImplementedError()``) and checks
call them, so an unanswered exercise fails at its check cell with "not attempted yet".

When grading (``BOOK_KIT_GRADING``), checks judge nothing: they send what the student's code
returned to the grader (``book_kit.grading.record``), which judges it in its own process against
the chapter's own answers on the same inputs.
"""

from __future__ import annotations

import os
import sys
import sysconfig
import traceback
import zlib
from pathlib import Path

import numpy as np

# judging a value: shared with the grader
from book_kit.exercises.verdicts import (
    DEFAULT_ATOL,
    DEFAULT_RTOL,
    ExerciseFailed,
    NotAttempted,
    compare_values,
    format_value,
)
from book_kit.frameworks.arrays import to_numpy as _to_numpy
from book_kit.notebook.shell import ipython_shell
from book_kit.tables import NOT_YET, RIGHT, WRONG, print_table

MATCHES = "matches"  # a right answer's "got" in a side-by-side table

# Every exercise made in this kernel, by title, in order (for summary()); the latest is current.
_exercises: dict[str, "Exercise"] = {}
# The seed the grader put at the top of the check cell now running (see seed_draws)
_injected_seed: list[int] = []


def _grading() -> bool:
    from book_kit.grading import record

    return record.grading()


def _autograding() -> bool:
    """Under nbgrader's autograder a check prints a wrong answer instead of raising, and the
    cell's last line (:meth:`Exercise.done`) returns the points earned: nbgrader gives a cell
    that raises 0 points and reads a number it ends with as partial credit."""
    return os.environ.get("NBGRADER_EXECUTION") == "autograde"


def seed_draws(seed: int) -> None:
    """Set the seed the next :class:`Exercise` draws its hidden inputs from.

    The grader puts this call at the top of every graded check cell
    (``book_kit.grading.secrets``); outside grading, an exercise's draws come from its title.

    Parameters
    ----------
    seed : int
        A non-negative integer.
    """
    _injected_seed[:] = [int(seed)]


# --- calling the student's code --------------------------------------------------------------

_LIBRARY_DIRS = (str(Path(__file__).resolve().parents[1]), "site-packages", "<frozen",
                 str(Path(sysconfig.get_paths()["stdlib"]).resolve()))


def _student_frame(tb) -> str:
    """'(in f, line 3: y = x @ W)' — the last frame in the student's code, not in a library."""
    frames = [f for f in traceback.extract_tb(tb)
              if not any(d in str(Path(f.filename).resolve()) or f.filename.startswith(d)
                         for d in _LIBRARY_DIRS)]
    if not frames:
        return ""
    frame = frames[-1]
    return f" (in {frame.name}, line {frame.lineno}: {frame.line.strip()})" if frame.line else ""


def _short(message: str, limit: int = 300) -> str:
    first = (str(message).strip().splitlines() or [""])[0]
    return first if len(first) <= limit else first[: limit - 3] + "..."


def _name(function) -> str:
    name = getattr(function, "__name__", "")
    return f"{name}()" if name and not name.startswith(("<", "_")) else "your answer"


def call(function, *args, what: str | None = None, **kwargs):
    """Call the student's function; turn any failure into a message for the student."""
    name = what or _name(function)
    if not callable(function):
        raise ExerciseFailed(f"{name} should be a function, but it is {type(function).__name__}.")
    try:
        return function(*args, **kwargs)
    except NotImplementedError:
        # name the function that still raises it, however deep the check called it
        frames = traceback.extract_tb(sys.exc_info()[2])
        raiser = frames[-1].name if frames else ""
        raise NotAttempted(f"{raiser}()" if raiser.isidentifier() and not raiser.startswith("_")
                           else name) from None
    except ExerciseFailed:
        raise
    except Exception as e:
        from book_kit.exercises.diagnoses import diagnose_exception

        where = _student_frame(sys.exc_info()[2])
        advice = diagnose_exception(e)  # the usual mistake behind it, and what to change
        raise ExerciseFailed(f"{name} raised {type(e).__name__}: {_short(e)}{where}"
                             + (f" {advice}" if advice else "")) from None


# --- an exercise and its checks --------------------------------------------------------------

class Exercise:
    """One exercise's checks: made once at the top of its check cell, with its title.

    Parameters
    ----------
    title : str
        What the student sees, e.g. ``"Exercise 1 (double)"``: written once, here.

    Example
    -------
    >>> exercise = Exercise("Exercise 1 (double)")
    >>> exercise.check(lambda x: 2 * x, expected=8, args=(4,))
    >>> exercise.done(2)
    ✔ Exercise 1 (double): right on the shown example (hidden tests run when your work is graded)
    """

    def __init__(self, title: str):
        self.title = str(title)
        self._seed = _injected_seed.pop() if _injected_seed else zlib.crc32(self.title.encode())
        self._draws = 0
        self.hidden_ran = False
        self.right: bool | None = None      # the verdict so far, for summary()
        self.not_attempted = False          # a check found its function still unwritten
        self._parts: dict[str, bool] = {}   # each part (framework) right in every case so far
        _exercises[self.title] = self  # run again, an exercise keeps its place in the summary

    def __repr__(self) -> str:
        return f"Exercise({self.title!r})"

    # -- the inputs drawn at grading time ------------------------------------------------------

    def draw(self, count: int, make) -> list[tuple[str, object]]:
        """``count`` hidden inputs made by ``make(rng)``, each with its label for ``hidden=``.

        ``rng`` is a ``numpy.random.Generator`` seeded by the grader from the class's secret
        when grading (so nobody knows the inputs in advance), and from the title otherwise (so
        a chapter's stored outputs never change).

        Parameters
        ----------
        count : int
            How many inputs.
        make : callable
            ``make(rng)`` returns one input (a number, an array, a tuple of arguments ...).

        Returns
        -------
        list of (str, object)
            ``("an input drawn at grading time (1 of 2)", value)`` pairs.

        Example
        -------
        >>> exercise = Exercise("Exercise 1 (double)")
        >>> def double(x):
        ...     return 2 * x
        >>> for case, x in exercise.draw(2, lambda rng: float(rng.uniform(-3, 3))):
        ...     exercise.check(double, expected=2 * x, args=(x,), hidden=case)
        >>> case
        'an input drawn at grading time (2 of 2)'
        """
        rng = np.random.default_rng([self._seed, self._draws])
        self._draws += 1
        from book_kit.grading.record import DRAWN

        return [(f"{DRAWN} ({i} of {count})", make(rng))
                for i in range(1, count + 1)]

    # -- bookkeeping ---------------------------------------------------------------------------

    def _score(self, part: str, right: bool) -> None:
        self._parts[part] = self._parts.get(part, True) and right

    def _fail(self, error: ExerciseFailed, parts: tuple[str, ...] = ("",)) -> None:
        """Raise ``error`` for a wrong answer; under nbgrader's autograder, print it instead."""
        # not attempted yet is not wrong: the summary and the notebook show it calmly
        if isinstance(error, NotAttempted) and self.right is None:
            self.not_attempted = True
        else:
            self.right = False
        for part in parts:
            self._score(part, False)
        if not _autograding():
            raise error
        print(f"{WRONG} {error}")

    def _passed(self, hidden: str | None, parts: tuple[str, ...] = ("",)) -> None:
        for part in parts:
            self._score(part, True)
        if hidden:
            self.hidden_ran = True

    def _send(self, hidden: str | None, part: str, produce, rule: str, *args,
              what: str = "your answer", model: bool = False) -> None:
        """When grading: send what ``produce()`` gives, with ``record``'s rule named ``rule``
        (``"close"``, ``"at_least"``, ``"model"``) made from ``args``; judge nothing."""
        from book_kit.grading import record

        make_rule = {"close": record.close_rule, "at_least": record.at_least_rule,
                     "model": record.model_rule}[rule]
        record.record(self.title, hidden, part, produce, make_rule(*args),
                      encoder=record.encode_model if model else record.encode, what=what)

    def _hidden_failure(self, hidden: str, error: ExerciseFailed) -> ExerciseFailed:
        return ExerciseFailed(f"{self.title}: right on the shown example, wrong on a hidden test "
                              f"({hidden}): {error}")

    def _labelled(self, error: ExerciseFailed, hidden: str | None) -> ExerciseFailed:
        """The same failure, its message starting with the exercise (and the hidden test)."""
        labelled = self._hidden_failure(hidden, error) if hidden else error
        if not hidden:
            error.args = (f"{self.title}: {error}",)
        labelled.__cause__, labelled.__suppress_context__ = None, True
        return labelled

    # -- the checks ----------------------------------------------------------------------------

    def check(self, answer, *, expected, args: tuple = (), kwargs: dict | None = None,
              what: str | None = None, hint: str = "", rtol: float = DEFAULT_RTOL,
              atol: float = DEFAULT_ATOL, check_dtype: bool = False,
              hidden: str | None = None) -> None:
        """Check one answer: a value, or a function called with ``args`` whose result is compared.

        Parameters
        ----------
        answer : callable or value
            The student's function (called as ``answer(*args, **kwargs)``) or a value.
        expected : value
            The right result; compared with ``|got - expected| <= atol + rtol * |expected|``.
            Keyword only: when grading, the grader replaces it by ``None`` in the check cell, so
            a kernel being graded never computes the right answers (it judges nothing anyway).
        hidden : str, optional
            The label of a hidden test (e.g. ``"x = -0.7"``): prints nothing when right.

        Example
        -------
        >>> exercise = Exercise("Exercise 1 (double)")
        >>> def double(x):
        ...     return x + 2   # wrong
        >>> exercise.check(double, expected=8, args=(4,))
        Traceback (most recent call last):
        ExerciseFailed: Exercise 1 (double): double() is 6, expected 8 (tolerance atol=1e-06, ...
        >>> def double(x):
        ...     return 2 * x
        >>> exercise.check(double, expected=8, args=(4,))   # right: prints nothing
        """
        if callable(answer):
            what = what or _name(answer)
        what = what or "your answer"

        def produce():
            return call(answer, *args, what=what, **(kwargs or {})) if callable(answer) else answer

        if _grading():
            return self._send(hidden, "", produce, "close", rtol, atol, what, hint, what=what)
        try:
            compare_values(produce(), expected, what=what, rtol=rtol, atol=atol,
                           check_dtype=check_dtype, hint=hint)
        except ExerciseFailed as e:
            return self._fail(self._labelled(e, hidden))
        self._passed(hidden)

    def check_at_least(self, answer, bound: float, *, what: str, args: tuple = (),
                       name: str | None = None, hint: str = "", hidden: str | None = None) -> None:
        """Check that a number (an accuracy, say) reaches ``bound``.

        ``answer`` is the number, or a function called with ``args`` that returns it; ``name``
        names the student's code in a failure ("choose_optimizer() is not attempted yet").

        Example
        -------
        >>> # needs the chapter's accuracy_with and choose_optimizer (they train a Keras model)
        >>> exercise.check_at_least(accuracy_with, 0.99, args=(choose_optimizer,),  # doctest: +SKIP
        ...                         name="choose_optimizer()", what="validation accuracy")
        >>> exercise = Exercise("Exercise 4 (optimizer)")
        >>> exercise.check_at_least(0.95, 0.99, what="validation accuracy")
        Traceback (most recent call last):
        ExerciseFailed: Exercise 4 (optimizer): validation accuracy is 0.9500; it should be at ...
        """
        def produce():
            return call(answer, *args, what=name or _name(answer)) if callable(answer) else answer

        if _grading():
            return self._send(hidden, "", produce, "at_least", bound, what, hint)
        try:
            number = float(_to_numpy(produce()))
            if not number >= bound:
                raise ExerciseFailed(f"{what} is {number:.4f}; it should be at least {bound:g}."
                                     + (f" Hint: {hint}" if hint else ""))
        except ExerciseFailed as e:
            return self._fail(self._labelled(e, hidden))
        self._passed(hidden)

    def check_model(self, model, *, at_least: float, on: str, what: str, hint: str = "",
                    hidden: str | None = None) -> None:
        """Check a trained Keras model by its accuracy on a data set it was not trained on.

        When grading, the model itself goes to the grader, which loads it in a sandbox of its
        own (Keras's safe mode, no custom code) and measures the accuracy there, on data the
        submission never had (``book_kit.grading.outcomes``); nothing the model's own methods
        say counts. Elsewhere the accuracy is measured here, the same way.

        Parameters
        ----------
        model : keras.Model or callable
            The trained model, or a function that returns it.
        at_least : float
            The accuracy it must reach.
        on : str
            The data: ``"mnist-test"`` (the 10,000 test digits) or ``"blobs"`` (new points of
            the chapter's two classes).
        what, hint : str
            How messages name the accuracy, and a hint.

        Example
        -------
        >>> # needs a trained Keras model and MNIST
        >>> exercise.check_model(model, at_least=0.97, on="mnist-test",  # doctest: +SKIP
        ...                      what="the accuracy on the 10,000 test digits")
        """
        from book_kit.grading import outcomes

        def produce():
            return call(model, what=_name(model)) if callable(model) and not \
                hasattr(model, "predict") else model

        if _grading():
            return self._send(hidden, "", produce, "model", at_least, on, what, hint, model=True)
        try:
            accuracy = outcomes.accuracy(produce(), on, seed=self._seed)
            if not accuracy >= at_least:
                raise ExerciseFailed(f"{what} is {accuracy:.4f}; it should be at least "
                                     f"{at_least:g}." + (f" Hint: {hint}" if hint else ""))
        except outcomes.EvaluationError as e:
            return self._fail(self._labelled(ExerciseFailed(str(e)), hidden))
        except ExerciseFailed as e:
            return self._fail(self._labelled(e, hidden))
        self._passed(hidden)

    def check_frameworks(self, answers: dict, *, expected, args: tuple = (),
                         kwargs: dict | None = None, hint: str = "", rtol: float = DEFAULT_RTOL,
                         atol: float = DEFAULT_ATOL, hidden: str | None = None) -> None:
        """Side by side: the same exercise answered in several frameworks, one table of results.

        ``answers`` maps a framework's name to the student's function (or value); every one is
        compared with the same ``expected``. The shown example prints its table; then
        ExerciseFailed names the wrong ones. A hidden test prints nothing when all are right.

        Example
        -------
        >>> # needs TensorFlow and JAX (the chapter's grad_tf and grad_jax)
        >>> exercise.check_frameworks({"TensorFlow": grad_tf, "JAX": grad_jax},  # doctest: +SKIP
        ...                           expected=4.75, args=(1.5,))

        The same with two plain-Python answers:

        >>> exercise = Exercise("Exercise 5 (slope)")
        >>> exercise.check_frameworks({"NumPy": lambda x: np.float64(2 * x + 1.75),
        ...                            "Python": lambda x: 2 * x + 1.75}, expected=4.75,
        ...                           args=(1.5,))
        framework  got      expected  verdict
        ---------  -------  --------  -------
        NumPy      matches  4.75      ✔
        Python     matches  4.75      ✔
        """
        def producer(answer):
            return lambda: call(answer, *args, what=_name(answer), **(kwargs or {})) \
                if callable(answer) else answer

        if _grading():
            for framework, answer in answers.items():
                self._send(hidden, framework, producer(answer), "close", rtol, atol, "the answer",
                           hint, what=f"{framework}'s answer")
            return
        rows, problems, wrong, right, not_yet = [], [], [], [], []
        for framework, answer in answers.items():
            got_text = "-"
            try:
                value = producer(answer)()
                if value is not None:
                    with np.errstate(all="ignore"):
                        try:
                            got_text = format_value(value)
                        except Exception:
                            got_text = type(value).__name__
                compare_values(value, expected, what=f"{framework}'s answer", rtol=rtol, atol=atol)
                # Right within tolerance: its last digits depend on the CPU, so the stored table
                # (compared by nbval on every machine) says so instead of printing them.
                got_text, verdict = MATCHES, RIGHT
                right.append(framework)
            except NotAttempted as e:  # not started is not wrong: shown calmly
                verdict = NOT_YET
                not_yet.append((framework, e.name))
            except ExerciseFailed as e:
                verdict = WRONG
                problems.append(f"  {framework}: {e}")
                wrong.append(framework)
            rows.append((framework, got_text, format_value(expected), verdict))
        if not hidden:
            print_table(["framework", "got", "expected", "verdict"], rows)
        self._passed(hidden if not (problems or not_yet) else None, tuple(right))
        if not_yet and not problems:
            names = [name for _, name in not_yet]
            listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
            return self._fail(NotAttempted(listed, title=self.title, several=len(names) > 1),
                              parts=tuple(framework for framework, _ in not_yet))
        if problems:
            problems += [f"  {framework}: {name} is not attempted yet"
                         for framework, name in not_yet]
            wrong += [framework for framework, _ in not_yet]
            where = f"wrong on a hidden test ({hidden})" if hidden else "not right yet"
            return self._fail(ExerciseFailed(
                f"{self.title}: {len(problems)} of {len(rows)} {where}.\n" + "\n".join(problems)
                + (f"\nHint: {hint}" if hint else "")), parts=tuple(wrong))

    def status(self) -> str:
        """This exercise's line in :func:`summary`: right, not right yet, not attempted yet, or
        not checked yet (its check cell has not run)."""
        if self.right:
            return f"{RIGHT} right"
        if self.right is False:
            return f"{WRONG} not right yet"
        return f"{NOT_YET} not attempted yet" if self.not_attempted else "- not checked yet"

    def done(self, points: float) -> float | None:
        """The check cell's last line: print the verdict; under nbgrader's autograder, return
        the points earned.

        It prints ``✔ <title>: correct!`` when the hidden tests ran too, and says the shown
        example was right when they did not (a workbook: they run when the work is graded).
        Under nbgrader's autograder (``NBGRADER_EXECUTION=autograde``) it returns ``points``
        times the share of the exercise's parts right in every case (nbgrader reads that number
        as the cell's score), the same share ``book-kit grade`` gives; otherwise None.

        Parameters
        ----------
        points : float
            The cell's nbgrader ``points`` (a test checks the two agree).

        Returns
        -------
        float or None
        """
        if _grading():  # the grader judges, from the answers it was sent
            return None
        parts = self._parts
        if parts and all(parts.values()) and self.right is not False:
            self.right = True
            if self.hidden_ran:
                print(f"{RIGHT} {self.title}: correct!")
            else:
                print(f"{RIGHT} {self.title}: right on the shown example (hidden tests run when "
                      "your work is graded)")
        if not _autograding():
            return None
        return round(points * sum(parts.values()) / len(parts), 4) if parts else 0.0


def summary() -> None:
    """Every exercise checked in this kernel, in one table (the last cell of a chapter and its
    workbook).

    A check cell is tagged ``raises-exception``, so *Run All* goes on past a wrong answer to
    the next exercise; this cell then lists them all and, if any is not right yet, fails itself
    (so ``pytest --nbval-lax`` still fails a wrong notebook).

    Example
    -------
    >>> from book_kit.exercises import checks
    >>> checks._exercises.clear()   # as in a fresh kernel: no exercise made yet
    >>> exercise = Exercise("Exercise 1 (double)")
    >>> exercise.check(lambda x: 2 * x, expected=8, args=(4,))
    >>> exercise.done(2)
    ✔ Exercise 1 (double): right on the shown example (hidden tests run when your work is graded)
    >>> summary()
    exercise             status
    -------------------  -------
    Exercise 1 (double)  ✔ right
    """
    if _grading():  # the grader judges, from the answers it was sent
        return
    exercises = list(_exercises.values())
    print_table(["exercise", "status"], [(e.title, e.status()) for e in exercises])
    missing = [e for e in exercises if not e.right]
    if missing:
        # calm (not red) while nothing is wrong yet, only not attempted (a new workbook)
        error = NotAttempted if all(e.right is None for e in missing) else ExerciseFailed
        raise error(f"{len(missing)} of {len(exercises)} exercises not right yet: "
                    + "; ".join(e.title for e in missing) + ". Their check cells above say why.")


# --- how a failure looks in Jupyter ----------------------------------------------------------

def _show_failure(shell, etype, value, tb, tb_offset=None):
    # The message is the whole story for a student; the traceback through this module is noise.
    text = str(value)
    if isinstance(value, NotAttempted):  # a student who has not started yet is not wrong
        print(f"{NOT_YET} {text}")
        shell._last_traceback = None
        return
    stb = [f"\x1b[31m{WRONG} {line}\x1b[0m" if i == 0 else line
           for i, line in enumerate(text.splitlines() or [etype.__name__])]
    shell._showtraceback(etype, value, stb)
    shell._last_traceback = stb


def install_friendly_failures() -> None:
    """In IPython, show a wrong answer as its message alone (no traceback through book_kit).

    A chapter's first cell calls it through ``book_kit.setup_notebook()``; importing this module
    changes nothing. Outside IPython it does nothing.

    Example
    -------
    >>> install_friendly_failures()   # in a notebook
    """
    shell = ipython_shell()
    if shell is not None and hasattr(shell, "set_custom_exc"):
        shell.set_custom_exc((ExerciseFailed,), _show_failure)
