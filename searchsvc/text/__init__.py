"""What a French text becomes: the lowest layer of searchsvc.

* :mod:`.normalize`: text normalisation written once (NFC, control
  characters, folding of case, accents and ligatures);
* :mod:`.analysis`: the analysis chain, the same at index and at query time;
* :mod:`.meaning`: what a text is about, as a vector of word vectors (the
  same for an article at index time and a query);
* :mod:`.schema`: the index's fields and the analysers pickled into it;
* :mod:`.wordfiles`, :mod:`.protected`, :mod:`.synonyms`: the word lists a
  site owner edits (protected words change the chain; synonyms apply at
  query time);
* :mod:`.whoosh_patches`: two fixes to Whoosh itself, exactly equivalent.

May import: Whoosh and the modules at the package's top (``errors``,
``config``). Never ``index``, ``search``, the web or the command line.
"""
