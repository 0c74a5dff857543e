"""Documents in, index generations out: the write side of searchsvc.

* :mod:`.documents`: the :class:`~.documents.Document` record and the
  problems a load meets; :mod:`.sources` finds the files and loads them,
  through :mod:`.plaintext`, :mod:`.jsonlines` and :mod:`.decoding`, or
  the rows of a SQL query through :mod:`.database`;
* :mod:`.fields`: a document as the schema's fields, and back;
* :mod:`.reindex`: :func:`~.reindex.reindex`, the whole write side in one
  call, with :mod:`.writers` (the writer processes) and
  :mod:`.catalog` (each document's id, fingerprint and origin, in SQLite);
* :mod:`.segment_builder`: a whole Whoosh segment built in bulk from a batch
  of documents (full rebuilds), its posting lists encoded with numpy by
  :mod:`.w3blocks`;
* :mod:`.generations`: the index folder on disk (numbered generations, the
  ``CURRENT`` pointer, seal, publish, switch) and :mod:`.lock`, the one
  writer's lock;
* :mod:`.packed`: each segment's posting lists packed into arrays that
  searching processes memory-map, written with a generation;
* :mod:`.copies`: wire copies (one story republished by several outlets),
  MinHash signatures per segment and groups per generation;
* :mod:`.prefix_table`: the most frequent words of each short prefix,
  written with a generation for the completions;
* documents pushed over the API: :mod:`.push` checks a request's body and
  records it in :mod:`.journal` (durable before the answer, shared by the
  workers); :mod:`.applier` turns what is pending there into a small
  generation, in a background thread of the service, and :mod:`.merging`
  merges the small segments those leave, in another.

May import: :mod:`searchsvc.text` and the package's top (``errors``,
``config``, ``version``). Never ``search``, the web or the command line.
"""
