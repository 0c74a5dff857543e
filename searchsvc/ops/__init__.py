"""Running the service and knowing how it does.

* :mod:`.querylog`: what readers look for: a bounded log of the searches,
  written in the background, and its statistics (``searchsvc stats``,
  ``/admin/stats``);
* :mod:`.evaluation`: relevance you can measure: judged queries through the
  search path, scored with ir-measures (``searchsvc eval``);
* :mod:`.index_compare`: whether two indexes hold the same documents the
  same way, as any Whoosh reader sees them (the bulk writer's check).

May import: :mod:`searchsvc.search`, :mod:`searchsvc.text` and the
package's top. Never the web or the command line.
"""
