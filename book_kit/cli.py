"""The ``book-kit`` command line: one subcommand per job, each in its own module."""

from __future__ import annotations

import argparse
import sys

DESCRIPTION = ("book_kit's command line: the companion notebooks to chapter 3 of Deep Learning "
               "with R / with Python (3rd edition). Run `book-kit COMMAND --help` for one "
               "command's options.")


def _info(args) -> int:
    from book_kit.sysinfo import info

    report = info(devices=not args.no_devices, ask_frameworks=args.ask_frameworks)
    print(report)
    return 0


def _data(args) -> int:
    from book_kit import datasets

    if args.action is None:
        print("usage: book-kit data {list,fetch,verify} [NAME ...]\n"
              "  book-kit data list          where each data set is, and whether it is there\n"
              "  book-kit data fetch mnist   download (or copy from BOOK_KIT_DATA_MIRROR), "
              "then verify\n"
              "  book-kit data verify        check the files already there\n"
              f"data sets: {', '.join(sorted(datasets.REGISTRY))}", file=sys.stderr)
        return 2

    names = args.names or sorted(datasets.REGISTRY)
    if args.action == "list":
        print(f"data directory: {datasets.data_dir()}")
        rows = [datasets.status(n) for n in names]
        width = max(len(r.name) for r in rows)
        for r in rows:
            size = f"{r.size / 1e6:.1f} MB" if r.size else "-"
            print(f"{r.name:<{width}}  {r.state:<10}  {size:>8}  {r.path or ''}")
        return 0
    if args.action == "fetch":
        failed = 0
        for name in names:
            try:
                path = datasets.fetch(name, timeout=args.timeout)
            except datasets.DataError as e:
                print(e, file=sys.stderr)
                failed += 1
            else:
                print(f"{name}: verified, {path}")
        return 1 if failed else 0
    # verify: report only; loading is what moves a bad file aside
    bad = 0
    for name in names:
        r = datasets.status(name)
        if r.path is None:
            continue
        print(f"{name}: {r.state} ({r.path})")
        bad += not r.ok
    return 1 if bad else 0


def _student(args) -> int:
    from pathlib import Path

    from book_kit import workbook

    chapters = [Path(c) for c in args.chapters] or sorted(Path("chapters").glob("*.ipynb"))
    if not chapters:
        raise ValueError("no chapter notebooks given, and none in ./chapters")
    missing = [str(c) for c in chapters if not c.is_file()]
    if missing:
        raise FileNotFoundError(f"no such chapter notebook: {', '.join(missing)}")
    if args.check:
        stale = [str(Path(args.out) / c.name) for c in chapters
                 if not (Path(args.out) / c.name).is_file()
                 or (Path(args.out) / c.name).read_text(encoding="utf-8") != workbook.workbook_text(c)]
        for path in stale:
            print(f"out of date: {path} (run: book-kit student --out {args.out})")
        if not stale:
            print(f"up to date: the {len(chapters)} workbooks in {args.out}/ match their chapters")
        return 1 if stale else 0
    for path, changed in workbook.write_workbooks(chapters, Path(args.out)):
        print(f"{'wrote' if changed else 'up to date'}: {path}")
    return 0


def _grade(args) -> int:
    from pathlib import Path

    import shutil
    import tempfile

    from book_kit.grading import config, course, gradebook, lms

    private = Path(tempfile.mkdtemp(prefix="book_kit-submissions-"))
    try:
        settings = config.settings(
            config.load(args.config), timeout=args.timeout, jobs=args.jobs,
            notebook_timeout=args.notebook_timeout,
            memory_mb=None if args.memory_mb is None else (args.memory_mb or None),
            max_processes=args.max_processes, max_file_mb=args.max_file_mb,
            max_disk_mb=args.max_disk_mb, max_notebook_mb=args.max_notebook_mb,
            reveal_hidden=args.reveal_hidden,
            sandbox=False if args.no_sandbox else None,
            keep_work=Path(args.keep_work) if args.keep_work else None)
        kind = args.lms or next((lms.detect(Path(s)) for s in args.submissions
                                 if Path(s).suffix == ".zip" or Path(s).is_dir()), None)
        if args.lms_file and not kind:
            raise course.UsageError("--lms-file needs --lms canvas or --lms moodle (the kind "
                                    "of gradebook file it is)")
        submissions = course.collect_submissions([Path(s) for s in args.submissions], private,
                                                 args.lms)
        rows = course.grade(Path(args.chapter), submissions, Path(args.out), settings,
                            progress=not args.quiet, shard=_shard(args.shard))
        out = Path(args.out)
        if args.lms_file:
            report = lms.fill(Path(args.lms_file), kind, gradebook.lms_grades(rows),
                              out / "lms-import.csv", column=args.lms_column,
                              match_column=args.lms_match_column, missing=args.lms_missing)
            print(f"book-kit grade: {out / 'lms-import.csv'}: {report.filled} grades in column "
                  f"{report.column!r}, ready to import into {kind.capitalize()}",
                  file=sys.stderr)
            for note in report.notes:
                print(f"book-kit grade: {note}", file=sys.stderr)
            if report.missing:
                print(f"book-kit grade: in the LMS's file without a submission "
                      f"({'0' if args.lms_missing == 'zero' else 'left empty'}): "
                      f"{', '.join(report.missing)}", file=sys.stderr)
            if report.absent:
                print(f"book-kit grade: warning: graded but not in {args.lms_file} (not in "
                      f"lms-import.csv): {', '.join(report.absent)}", file=sys.stderr)
    except (course.UsageError, config.ConfigError, lms.LMSError) as e:
        print(f"book-kit grade: {e}", file=sys.stderr)
        return 2
    finally:
        shutil.rmtree(private, ignore_errors=True)
    print(gradebook.summary_table(rows))
    print(f"\n{out / 'gradebook.csv'}, {out / 'scores.csv'}, {out / 'gradebook.html'}, and a "
          f"page per student in {out / 'feedback'}")
    return 0


def _shard(text: str | None) -> tuple[int, int] | None:
    if text is None:
        return None
    try:
        k, n = (int(part) for part in text.split("/"))
    except ValueError:
        k = n = 0
    if not 1 <= k <= n:
        raise ValueError(f"--shard {text}: give K/N with 1 <= K <= N, e.g. --shard 2/8")
    return k, n


def _grade_merge(argv: list[str]) -> int:
    from pathlib import Path

    from book_kit.grading import gradebook

    parser = argparse.ArgumentParser(
        prog="book-kit grade merge",
        description="combine the output folders of `book-kit grade --shard K/N` runs")
    parser.add_argument("folders", nargs="+", metavar="DIR")
    parser.add_argument("--out", required=True, help="folder for the class's files")
    args = parser.parse_args(argv)
    try:
        rows = gradebook.merge([Path(f) for f in args.folders], Path(args.out))
    except ValueError as e:
        print(f"book-kit grade merge: {e}", file=sys.stderr)
        return 2
    print(gradebook.summary_table(rows))
    return 0


def _workspace(args) -> int:
    from book_kit import workspace

    if args.fresh:
        for name in args.fresh:
            copy, kept, note = workspace.fresh(name, work=args.dir)
            print(f"fresh copy: {copy}" + (f" (yours is kept as {kept})" if kept else ""))
            if note:
                print(note)
        return 0
    made = workspace.prepare(work=args.dir)
    for copy in made:
        print(f"copied: {copy}")
    if not made:
        print(f"{args.dir}: every working copy is there (a fresh one: "
              f"book-kit workspace --fresh ch03_1)")
    return 0


def _bench(args) -> int:
    import subprocess
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "benchmarks" / "run.py"
    if not script.is_file():
        raise FileNotFoundError("book-kit bench runs benchmarks/run.py from a checkout of the "
                                "book_kit repository; none was found beside this installation.")
    extra = ["--quick"] if args.quick else []
    return subprocess.call([sys.executable, str(script), *extra, *(["--out", args.out] if args.out else [])])


def build_parser() -> argparse.ArgumentParser:
    """The ``book-kit`` command line: every subcommand and option.

    Returns
    -------
    argparse.ArgumentParser

    Example
    -------
    >>> build_parser().parse_args(["student", "--check"]).check
    True
    """
    from book_kit import __version__

    parser = argparse.ArgumentParser(prog="book-kit", description=DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"book-kit {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    p = sub.add_parser("info", help="versions, Keras backend, devices, warnings")
    p.add_argument("--no-devices", action="store_true", help="skip asking each framework for devices")
    p.add_argument("--ask-frameworks", action="store_true",
                   help="import each framework to list its devices, even a CPU-only build")
    p.set_defaults(func=_info)

    p = sub.add_parser("data", help="list, fetch or verify the data sets",
                       description="list: where each data set is and whether it is there; fetch: "
                                   "download (or copy from BOOK_KIT_DATA_MIRROR) and verify; "
                                   "verify: check the files already there. "
                                   "Example: book-kit data fetch mnist")
    p.add_argument("action", nargs="?", choices=["list", "fetch", "verify"], default=None,
                   help="list, fetch or verify")
    p.add_argument("names", nargs="*", metavar="NAME", help="data sets (default: all)")
    p.add_argument("--timeout", type=float, default=60, help="seconds without data before giving up")
    p.set_defaults(func=_data)

    p = sub.add_parser("student", help="make student workbooks from chapter notebooks")
    p.add_argument("chapters", nargs="*", metavar="CHAPTER", help="default: chapters/*.ipynb")
    p.add_argument("--out", default="notebooks", help="folder for the workbooks (notebooks/)")
    p.add_argument("--check", action="store_true",
                   help="write nothing; exit 1 if a workbook is out of date")
    p.set_defaults(func=_student)

    p = sub.add_parser("grade", help="grade submitted workbooks, each in a sandbox")
    p.add_argument("--chapter", required=True, help="the chapter notebook (with solutions)")
    p.add_argument("submissions", nargs="+", metavar="SUBMISSION",
                   help="workbooks: plain files (the student is the file name), nbgrader's "
                        "submitted/<student>/<assignment>/<notebook>.ipynb, or a Canvas or "
                        "Moodle submissions download (its zip or unzipped folder: the student "
                        "is the LMS's id)")
    p.add_argument("--out", required=True,
                   help="folder for gradebook.csv, scores.csv, gradebook.html and feedback/")
    p.add_argument("--shard", metavar="K/N", default=None,
                   help="grade only the K-th of N slices of the class (combine the slices' "
                        "folders with: book-kit grade merge DIR... --out DIR)")
    p.add_argument("--config", metavar="TOML", default=None,
                   help="a grading.toml: limits, points, roster, deadline (flags override it)")
    p.add_argument("-j", "--jobs", type=int, default=None, help="submissions graded at once (1)")
    p.add_argument("--timeout", type=int, default=None, help="seconds per cell (60)")
    p.add_argument("--notebook-timeout", type=int, default=None,
                   help="seconds per submission (default: 120 + 70 per code cell)")
    p.add_argument("--memory-mb", type=int, default=None,
                   help="memory limit of each kernel in MB (RLIMIT_DATA; 4096; 0: none)")
    p.add_argument("--max-processes", type=int, default=None,
                   help="processes and threads one submission may run (512)")
    p.add_argument("--max-file-mb", type=int, default=None,
                   help="largest file a submission may write, in MB (256)")
    p.add_argument("--max-disk-mb", type=int, default=None,
                   help="all a submission may write, in MB (1024): past it writes fail")
    p.add_argument("--max-notebook-mb", type=float, default=None,
                   help="a larger submitted notebook is refused unread, in MB (50)")
    p.add_argument("--reveal-hidden", choices=("label", "nothing"), default=None,
                   help="what feedback says of a failed hidden test: its label (default) or "
                        "only that one failed")
    p.add_argument("--keep-work", metavar="DIR", default=None,
                   help="copy each submission's working folder into DIR/<student> afterwards")
    p.add_argument("--no-sandbox", action="store_true",
                   help="run submissions with your own permissions where no sandbox can be made "
                        "(they can read and change your files)")
    p.add_argument("--lms", choices=("canvas", "moodle"), default=None,
                   help="the LMS a download or --lms-file comes from (told by its names "
                        "otherwise)")
    p.add_argument("--lms-file", metavar="CSV", default=None,
                   help="the gradebook file the LMS exported (Canvas's gradebook CSV, Moodle's "
                        "grading worksheet): written filled in as DIR/lms-import.csv")
    p.add_argument("--lms-column", metavar="NAME", default=None,
                   help="Canvas: the assignment's column when the file has several; Moodle: "
                        "the grade column (Grade)")
    p.add_argument("--lms-match-column", metavar="NAME", default=None,
                   help="the column holding the students' ids (Canvas: ID; Moodle: Identifier)")
    p.add_argument("--lms-missing", choices=("empty", "zero"), default="empty",
                   help="a student in --lms-file with no submission: left empty or given 0")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_grade)

    p = sub.add_parser("workspace", help="your own copies of the chapters and workbooks, "
                                         "which make lab opens")
    p.add_argument("--dir", default="my-work", help="the folder of working copies (my-work)")
    p.add_argument("--fresh", nargs="+", metavar="NAME", default=None,
                   help="replace these copies with fresh ones: ch03_1 is the chapter, "
                        "workbooks/ch03_1 its workbook; yours are kept in a kept/ folder beside "
                        "them, the date first in the name (chapters/kept/2026-12-01 153012 "
                        "ch03_1_....ipynb)")
    p.set_defaults(func=_workspace)

    p = sub.add_parser("bench", help="measure the chapter's performance claims (benchmarks/RESULTS.md)")
    p.add_argument("--quick", action="store_true", help="small sizes, no notebooks: a smoke run")
    p.add_argument("--out", default=None, help="folder for RESULTS.md (default benchmarks/)")
    p.set_defaults(func=_bench)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run ``book-kit`` with ``argv`` (default: the command line); returns the exit status.

    Example
    -------
    >>> main(["info"])   # doctest: +SKIP
    0
    """
    argv = sys.argv[1:] if argv is None else argv
    if argv[:2] == ["grade", "merge"]:
        return _grade_merge(argv[2:])
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, FileNotFoundError) as e:  # bad input: a message, not a traceback
        print(f"book-kit {args.command}: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
