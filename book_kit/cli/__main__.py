"""``python -m book_kit.cli``: the same as ``book-kit``."""

import sys

from book_kit.cli import main

if __name__ == "__main__":
    sys.exit(main())
