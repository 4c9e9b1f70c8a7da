"""Turning the chapters into what readers and students open.

- ``workbook``: student workbooks from chapters (solutions and hidden tests out; ``book-kit
  student``);
- ``colab``: the "Open in Colab" badge and the set-up cell that installs book_kit there;
- ``site``: the companion website (Jupyter Book's engine: Sphinx and MyST-NB; ``book-kit site``);
- ``workspace``: a reader's own working copies, which ``make lab`` opens (``book-kit
  workspace``).
"""
