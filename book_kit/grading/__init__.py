"""``book-kit grade``: each submission runs in a sandbox, its answers are judged outside it.

One module a stage, in the order a submission meets them (nbgrader and otter-grader split theirs
the same way):

- ``config``: a course's settings (``grading.toml``, flags over it); ``secrets``: the class's
  secret and the inputs it draws for every exercise at grading time;
- ``notebook``: preparing the graded notebook (the submission read once, the chapter's check
  cells put back with their hidden and the course's private tests, a line drawing the hidden
  inputs, demonstrations left out) and the notebook handed back as feedback;
- ``sandbox``, ``sandbox_kernel``, ``cell_runner``, ``run``: running it (bubblewrap, the kernel's
  limits, the cells one by one, the answers each check cell sends while it runs);
- ``record``: the half that runs in the graded kernel (answers and trained models as messages);
- ``outcomes``: trained models evaluated by the grader, in a second sandbox, on data the
  submission never had;
- ``judge``: answers against the chapter's own, a :class:`~book_kit.grading.judge.Verdict` per
  exercise;
- ``course``: the class (students, shards, the chapter's reference answers, the results);
- ``gradebook``: the class files (CSV, the class page, feedback pages), a submission's markdown
  made safe HTML by ``markdown_html`` (maths as MathML); ``cache``: what is kept so nothing is
  done twice.

Nothing here is imported by ``import book_kit``; the graded kernel imports only ``record``.
"""
