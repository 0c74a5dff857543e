"""The ``searchsvc`` command line: parse options, call one function, print.

* :mod:`.commands`: every command, registered on the app (so ``flask --app
  searchsvc reindex`` works too) and on the ``searchsvc`` group;
* :mod:`.indexing` (``reindex``, ``switch``, ``serve``), :mod:`.evaluate`
  (``eval``), :mod:`.stats` (``stats``), :mod:`.wordlists` (``synonyms``,
  ``protected-words``): one module per family of commands;
* :mod:`.errors`: the service's typed errors as ``Error: …`` and their exit
  codes, in one place; :mod:`.output`: progress and summaries;
* :mod:`.main`: the ``searchsvc`` program itself (and ``python -m searchsvc``).

Exit codes (also in ``docs/operations.md``): 0 success (a generation was
switched in, even if some files were skipped); 1 unexpected error; 2 bad
usage; 3 another reindex is under way; 4 nothing could be indexed; 5 the new
generation could not be written (disk full…).

May import every layer below (``text``, ``index``, ``search``, ``ops``);
only :mod:`.main` imports the app factory.
"""
