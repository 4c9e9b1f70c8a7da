"""``book-kit grade``: grade submitted workbooks, each in a sandbox (:mod:`book_kit.grading`)."""

from __future__ import annotations

import sys

PARSER = dict(help="grade submitted workbooks, each in a sandbox")


def add_arguments(parser) -> None:
    """This command's options."""
    parser.add_argument("--chapter", required=True, help="the chapter notebook (with solutions)")
    parser.add_argument("submissions", nargs="+", metavar="SUBMISSION",
                        help="workbooks: plain files (the student is the file name), nbgrader's "
                             "submitted/<student>/<assignment>/<notebook>.ipynb, or a Canvas or "
                             "Moodle submissions download (its zip or unzipped folder: the student "
                             "is the LMS's id)")
    parser.add_argument("--out", required=True,
                        help="folder for gradebook.csv, scores.csv, gradebook.html and feedback/")
    parser.add_argument("--shard", metavar="K/N", default=None,
                        help="grade only the K-th of N slices of the class (combine the slices' "
                             "folders with: book-kit grade merge DIR... --out DIR)")
    parser.add_argument("--config", metavar="TOML", default=None,
                        help="a grading.toml: limits, points, roster, deadline (flags override it)")
    parser.add_argument("-j", "--jobs", type=int, default=None,
                        help="submissions graded at once (1)")
    parser.add_argument("--timeout", type=int, default=None, help="seconds per cell (60)")
    parser.add_argument("--notebook-timeout", type=int, default=None,
                        help="seconds per submission (default: 120 + 70 per code cell)")
    parser.add_argument("--memory-mb", type=int, default=None,
                        help="memory limit of each kernel in MB (RLIMIT_DATA; 4096; 0: none)")
    parser.add_argument("--max-processes", type=int, default=None,
                        help="processes and threads one submission may run (512)")
    parser.add_argument("--max-file-mb", type=int, default=None,
                        help="largest file a submission may write, in MB (256)")
    parser.add_argument("--max-disk-mb", type=int, default=None,
                        help="all a submission may write, in MB (1024): past it writes fail")
    parser.add_argument("--max-notebook-mb", type=float, default=None,
                        help="a larger submitted notebook is refused unread, in MB (50)")
    parser.add_argument("--reveal-hidden", choices=("label", "nothing"), default=None,
                        help="what feedback says of a failed hidden test: its label (default) or "
                             "only that one failed")
    parser.add_argument("--keep-work", metavar="DIR", default=None,
                        help="copy each submission's working folder into DIR/<student> afterwards")
    parser.add_argument("--no-sandbox", action="store_true",
                        help="run submissions with your own permissions where no sandbox can be "
                             "made (they can read and change your files)")
    parser.add_argument("--lms", choices=("canvas", "moodle"), default=None,
                        help="the LMS a download or --lms-file comes from (told by its names "
                             "otherwise)")
    parser.add_argument("--lms-file", metavar="CSV", default=None,
                        help="the gradebook file the LMS exported (Canvas's gradebook CSV, "
                             "Moodle's grading worksheet): written filled in as "
                             "DIR/lms-import.csv")
    parser.add_argument("--lms-column", metavar="NAME", default=None,
                        help="Canvas: the assignment's column when the file has several; Moodle: "
                             "the grade column (Grade)")
    parser.add_argument("--lms-match-column", metavar="NAME", default=None,
                        help="the column holding the students' ids (Canvas: ID; Moodle: "
                             "Identifier)")
    parser.add_argument("--lms-missing", choices=("empty", "zero"), default="empty",
                        help="a student in --lms-file with no submission: left empty or given 0")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args) -> int:
    """``book-kit grade`` with the parsed ``args``; returns the exit status (2: bad input)."""
    import shutil
    import tempfile
    from pathlib import Path

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
