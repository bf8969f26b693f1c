"""``python -m docsync.command`` is the ``docsync`` command."""

from docsync.command import main

if __name__ == "__main__":
    main()
