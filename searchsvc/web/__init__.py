"""The web edge: HTTP in, one domain call, HTML or JSON out.

* :mod:`.views`: the search page, ``/api/search``, ``/api/suggest``,
  ``/api/health`` and ``/api/openapi.json``; :mod:`.admin`: ``/admin/stats``;
  :mod:`.documents`: ``/api/documents``, where a CMS pushes and retracts;
* :mod:`.params`: request parameters to typed requests, or a
  :class:`~searchsvc.errors.QueryError` naming the parameter;
* :mod:`.errors`: the one place errors become responses (one JSON shape
  under ``/api/``, HTML pages elsewhere);
* :mod:`.openapi`: the API's description, built from the same limits the
  code enforces;
* ``templates/`` and ``static/``: the page, its CSS and its one script.

May import every layer below (``text``, ``index``, ``search``, ``ops``) and
Flask; nothing below imports from here.
"""
