"""Notebooks as files and as running kernels.

- ``convention``: how a chapter marks solutions, hidden tests, check cells and tags;
- ``runner``: execute a notebook in a fresh kernel (nbclient) or validate it (nbval), with the
  threads and environment every kernel we start gets;
- ``quiet``: keep framework log lines out of cells, in our kernels and in a reader's;
- ``shell``: the IPython shell this code runs in, if any.
"""
