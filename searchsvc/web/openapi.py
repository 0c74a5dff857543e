"""The OpenAPI 3.1 description of the JSON endpoints. Tests validate real
responses against these schemas, so the description cannot drift from the code."""

from __future__ import annotations

from typing import Any

from ..index.push import MAX_BODY_BYTES, MAX_ID_CHARS
from ..search.completion import DEFAULT_SUGGESTIONS, MAX_SUGGESTIONS, MAX_TITLES
from ..search.limits import (
    MAX_DEPTH,
    MAX_FACET_SOURCES,
    MAX_FILTER_VALUES,
    MAX_PER_PAGE,
    MAX_QUERY_CHARS,
    MAX_QUERY_EXPANSIONS,
    MAX_WORDS,
    SORTS,
    TRACK_TOTAL_HITS,
)
from ..text.synonyms import MAX_ALTERNATIVES
from ..text.wordfiles import MAX_LOGGED
from ..version import __version__
from .params import MAX_PARAM_CHARS

ERROR = {
    "type": "object",
    "required": ["error"],
    "additionalProperties": False,
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "additionalProperties": False,
            "properties": {
                "code": {"type": "string", "description": "Stable machine-readable code."},
                "message": {"type": "string", "description": "What went wrong, naming the parameter."},
            },
        }
    },
}

HIT = {
    "type": "object",
    "required": ["id", "title", "date", "source", "url", "score", "snippet"],
    "properties": {
        "id": {"type": "string"},
        "title": {"type": "string", "description": "Plain text, not escaped."},
        "title_html": {"type": "string", "description": "Escaped HTML title, <mark> around matches."},
        "date": {"type": ["string", "null"], "format": "date"},
        "source": {"type": ["string", "null"]},
        "url": {"type": ["string", "null"]},
        "score": {"type": "number"},
        "snippet": {"type": "string", "description": "Escaped HTML extract, <mark> around matches."},
        "other_versions": {
            "type": "array",
            "description": "The other articles of this hit's group of wire copies (the same story republished "
                           "under other titles, sources or dates), left out of the hits; empty when it has none "
                           "or with collapse=false.",
            "items": {
                "type": "object",
                "required": ["id", "title", "date", "source", "url"],
                "properties": {
                    "id": {"type": "string"},
                    "title": {"type": "string"},
                    "date": {"type": ["string", "null"], "format": "date"},
                    "source": {"type": ["string", "null"]},
                    "url": {"type": ["string", "null"]},
                },
            },
        },
    },
}  # fmt: skip

FACET_VALUE = {
    "type": "object",
    "required": ["value", "count", "selected"],
    "properties": {
        "value": {"type": "string", "description": "A source, or a year (YYYY)."},
        "count": {"type": "integer", "minimum": 0,
                  "description": "Matches with this value, under every filter but this facet's own."},
        "selected": {"type": "boolean", "description": "Whether the request filters on this value."},
    },
}  # fmt: skip

FACETS = {
    "type": "object",
    "required": ["source", "year"],
    "description": (
        "Counts over every match, not only this page. Each facet applies every filter but its own "
        "(the source counts ignore `source`, the year counts ignore `year`), so they show what "
        "adding a value would bring. Articles without a source or a date are in no bucket. "
        "The counts are exact when facets_relation is eq, lower bounds when it is gte."
    ),
    "properties": {
        "source": {"type": "array", "items": FACET_VALUE, "maxItems": MAX_FACET_SOURCES + MAX_FILTER_VALUES,
                   "description": f"The {MAX_FACET_SOURCES} most frequent sources (then by name), "
                                  "and any filtered on."},
        "year": {"type": "array", "items": FACET_VALUE,
                 "description": "Every year holding a match, and any filtered on; newest first."},
    },
}  # fmt: skip

EXPANSION = {
    "type": "object",
    "required": ["from", "to"],
    "additionalProperties": False,
    "properties": {
        "from": {"type": "string", "minLength": 1,
                 "description": "A word, or consecutive words, of the query as typed."},
        "to": {"type": "array", "items": {"type": "string", "minLength": 1}, "minItems": 1,
               "maxItems": MAX_ALTERNATIVES,
               "description": "Its synonyms also searched, as the synonyms file writes them."},
    },
}  # fmt: skip

SEARCH_RESULT = {
    "type": "object",
    "required": ["query", "total", "total_relation", "page", "per_page", "took_ms", "hits", "suggestion",
                 "facets", "facets_relation", "expanded", "notes"],
    "properties": {
        "query": {"type": "string", "description": "The query as searched (normalised)."},
        "total": {"type": "integer", "minimum": 0, "description": (
            "How many articles match, under the filters: exact when total_relation is eq; when it "
            f"is gte, a lower bound of at least {TRACK_TOTAL_HITS} (the articles holding the query's "
            "most frequent word).")},
        "total_relation": {"type": "string", "enum": ["eq", "gte"], "description": (
            "Whether total is exact (eq) or a lower bound (gte), as Elasticsearch says it. Every "
            f"match is counted unless a word of the query is in at least {TRACK_TOTAL_HITS} articles: "
            "such a query is ranked without reading every posting (the same hits) and its total "
            "is gte.")},
        "facets_relation": {"type": "string", "enum": ["eq", "gte"], "description": (
            "Whether every facet count is exact (eq) or a lower bound (gte: the counts of the "
            "query's most frequent word, when total_relation is gte).")},
        "page": {"type": "integer", "minimum": 1},
        "per_page": {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE},
        "took_ms": {"type": "number", "minimum": 0},
        "hits": {"type": "array", "items": HIT, "maxItems": MAX_PER_PAGE},
        "suggestion": {"type": ["string", "null"], "description": "Did you mean…"},
        "facets": FACETS,
        "expanded": {"type": "array", "items": EXPANSION, "description": (
            "The site's synonyms searched besides the words typed, in query order, e.g. "
            "[{\"from\": \"otan\", \"to\": [\"nato\"]}]; empty when none applied. Excluded words, "
            "quoted phrases, prefix*, word~ and field:word are never expanded.")},
        "notes": {"type": "array", "items": {"type": "string"}, "description": (
            "What the query's bounds left out of the search, in plain words (a query past "
            f"{MAX_WORDS} words, of which its phrases and rarest words are searched, or whose "
            "prefixes, wildcards, fuzzy words and ranges stand for more "
            f"than {MAX_QUERY_EXPANSIONS} index words, or need too many scans or postings, in all); "
            "empty for nearly every query.")},
    },
}

SUGGESTION = {
    "type": "object",
    "required": ["text", "kind"],
    "properties": {
        "text": {"type": "string", "description": (
            "word: what was typed with its last word completed, spelt as the articles spell it; "
            "title: an article's title (plain text, not escaped).")},
        "kind": {"type": "string", "enum": ["word", "title"]},
        "id": {"type": "string", "description": "The article's id (titles only)."},
    },
    "if": {"properties": {"kind": {"const": "title"}}},
    "then": {"required": ["id"]},
    "else": {"not": {"required": ["id"]}},
}  # fmt: skip

SUGGESTIONS = {
    "type": "object",
    "required": ["query", "suggestions"],
    "properties": {
        "query": {"type": "string", "description": "q as sent."},
        "suggestions": {"type": "array", "items": SUGGESTION, "maxItems": MAX_SUGGESTIONS,
                        "description": "Words (most frequent first), then a few titles; empty when "
                                       "nothing is typed."},
    },
}  # fmt: skip

HEALTH = {
    "type": "object",
    "required": ["status", "documents", "generation"],
    "properties": {
        "status": {"type": "string", "enum": ["ok", "degraded", "unavailable"]},
        "documents": {"type": "integer", "minimum": 0},
        "generation": {"type": "integer", "minimum": 1},
        "analysis": {"type": ["string", "null"]},
        "problem": {"type": "string"},
        "pushes": {
            "type": "object",
            "required": ["pending", "oldest_seconds"],
            "description": ("Articles pushed or retracted over /api/documents and not applied yet (only once "
                            "something was pushed); waiting over two minutes makes the status degraded."),
            "properties": {"pending": {"type": "integer", "minimum": 0},
                           "oldest_seconds": {"type": "number", "minimum": 0}},
        },
        "synonyms": {
            "type": "object",
            "required": ["entries", "problems"],
            "description": "The synonyms file as this worker applies it (reloaded within a second of an edit).",
            "properties": {
                "entries": {"type": "integer", "minimum": 0, "description": "Groups (lines) in use."},
                "problems": {"type": "array", "maxItems": MAX_LOGGED,
                             "description": f"Lines ignored, with their numbers (the first {MAX_LOGGED}; "
                                            "`searchsvc synonyms --check` lists them all).", "items": {
                    "type": "object", "required": ["line", "message"],
                    "properties": {"line": {"type": ["integer", "null"], "minimum": 1,
                                            "description": "null: the whole file."},
                                   "message": {"type": "string"}}}},
            },
        },
    },
}


DOCUMENT = {
    "type": "object",
    "description": (
        "An article, as the reindex reads it from a JSON line: id and title required (strings, or "
        "numbers taken as text), body, date (YYYY-MM-DD), source and url optional. Each document "
        "is checked on its own: one that breaks these rules is refused with the reason, in the "
        "202's refused list, and the others are still accepted."),
    "properties": {
        "id": {"description": f"Unique, at most {MAX_ID_CHARS} characters; a document with the id of one "
                              "indexed replaces it."},
        "title": {"description": "Required, not blank."},
        "body": {"description": "The text."},
        "date": {"description": "YYYY-MM-DD; anything else is left out, with a warning."},
        "source": {"description": "The facet it counts in."},
        "url": {"description": "http(s) or a path; anything else is left out, with a warning."},
    },
}  # fmt: skip

REFUSAL = {
    "type": "object",
    "required": ["position", "id", "reason"],
    "additionalProperties": False,
    "properties": {
        "position": {"type": "integer", "minimum": 1, "description": "1-based: the element of the array, or the line."},
        "id": {"type": ["string", "null"], "description": "The document's id, when it had one."},
        "reason": {"type": "string", "description": "Why, as a reindex would say it of a JSON line."},
    },
}  # fmt: skip

PUSH_RESULT = {
    "type": "object",
    "required": ["accepted", "refused", "warnings", "sequence"],
    "additionalProperties": False,
    "properties": {
        "accepted": {"type": "array", "items": {"type": "string"},
                     "description": "Ids recorded durably, in the body's order; searchable within about a second."},
        "refused": {"type": "array", "items": REFUSAL, "description": "Documents not recorded, and why."},
        "warnings": {"type": "array", "items": REFUSAL,
                     "description": "Accepted documents with a caveat (a date or url left out)."},
        "sequence": {"type": "integer", "minimum": 0, "description": "Journal position of the last change recorded."},
    },
}  # fmt: skip

INDEXED = {
    "type": "object",
    "required": ["document", "generation", "pending"],
    "additionalProperties": False,
    "properties": {
        "document": {"type": "object", "required": ["id", "title", "body", "date", "source", "url"],
                     "properties": {"id": {"type": "string"}, "title": {"type": "string"},
                                    "body": {"type": "string"}, "date": {"type": ["string", "null"]},
                                    "source": {"type": ["string", "null"]}, "url": {"type": ["string", "null"]}}},
        "generation": {"type": "integer", "minimum": 1},
        "pending": {"type": ["string", "null"], "enum": ["push", "retract", None],
                    "description": "A change to this id recorded but not applied yet."},
    },
}  # fmt: skip

RETRACTED = {
    "type": "object",
    "required": ["retracted", "sequence"],
    "additionalProperties": False,
    "properties": {"retracted": {"type": "string"}, "sequence": {"type": "integer", "minimum": 1}},
}

_TOKEN_ERRORS = {
    "401": {"description": "No token, or another one than SEARCHSVC_ADMIN_TOKEN (WWW-Authenticate: Bearer)",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
    "404": {"description": "SEARCHSVC_ADMIN_TOKEN is not set: the endpoint does not exist",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
    "429": {"description": "Too many wrong tokens from this address in the last minute (Retry-After says when)",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
}  # fmt: skip

_ID = {"name": "id", "in": "path", "required": True, "schema": {"type": "string", "minLength": 1,
       "maxLength": MAX_ID_CHARS}, "description": "The document's id (URL-encoded; it may hold /)."}  # fmt: skip


def _param(name: str, schema: dict, description: str, required: bool = False) -> dict:
    param = {"name": name, "in": "query", "required": required, "schema": schema, "description": description}
    if not required:
        # `page=&source=` (a form's blank fields) is the same as leaving them out.
        param["allowEmptyValue"] = True
    return param


def _repeatable(name: str, items: dict, description: str) -> dict:
    """A parameter that may be given several times (``source=A&source=B``)."""
    schema = {"type": "array", "items": items, "maxItems": MAX_FILTER_VALUES}
    return {**_param(name, schema, description), "style": "form", "explode": True}


def _error(description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


def openapi_document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "searchsvc",
            "version": __version__,
            "description": "French site search: accent-insensitive, stemmed, relevance-ranked.",
        },
        "paths": {
            "/api/search": {
                "get": {
                    "summary": "Search the articles",
                    "operationId": "search",
                    "parameters": [
                        _param("q", {"type": "string", "minLength": 1, "maxLength": MAX_QUERY_CHARS},
                               "Words, \"phrases\", -excluded, OR, prefix*, title:word, word~; a date (« 29 août », "
                               "« août 2019 ») also finds the articles published then.", True),
                        _param("page", {"type": "integer", "minimum": 1, "maximum": MAX_DEPTH, "default": 1},
                               f"Page number; at most {MAX_DEPTH} results can be paged through."),
                        _param("per_page", {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE,
                                            "default": 10}, "Hits per page."),
                        _param("sort", {"type": "string", "enum": list(SORTS), "default": "relevance"},
                               "Order: relevance, or date (newest first)."),
                        _repeatable("source", {"type": "string", "maxLength": MAX_PARAM_CHARS},
                                    "Only articles from these sources (any of them); repeatable."),
                        _repeatable("year", {"type": "integer", "minimum": 1, "maximum": 9999},
                                    "Only articles from these years (any of them); repeatable."),
                        _param("from", {"type": "string", "format": "date"}, "Only articles on or after (ISO)."),
                        _param("to", {"type": "string", "format": "date"}, "Only articles on or before (ISO)."),
                        _param("collapse", {"type": "string", "enum": ["true", "false", "1", "0"], "default": "true"},
                               "Wire copies shown once, the others as the hit's other_versions (true), "
                               "or every article (false)."),
                    ],  # fmt: skip
                    "responses": {
                        "200": {"description": "A page of hits", "content": {"application/json": {
                            "schema": {"$ref": "#/components/schemas/SearchResult"}}}},
                        "400": _error("A bad parameter; the message names it."),
                        "503": _error("No usable index."),
                    },  # fmt: skip
                }
            },
            "/api/suggest": {
                "get": {
                    "summary": "Complete what is being typed",
                    "operationId": "suggest",
                    "description": (
                        "The last word, unless a space follows it, completed from the articles' own "
                        "words (most frequent first, accents as the articles write them), the words "
                        f"before it kept as typed; then up to {MAX_TITLES} titles holding every word "
                        "typed, the last as a prefix. No q, or only spaces: no suggestions."),
                    "parameters": [
                        _param("q", {"type": "string", "maxLength": MAX_QUERY_CHARS}, "What has been typed so far."),
                        _param("limit", {"type": "integer", "minimum": 1, "maximum": MAX_SUGGESTIONS,
                                         "default": DEFAULT_SUGGESTIONS}, "Suggestions at most."),
                    ],
                    "responses": {
                        "200": {"description": "Suggestions", "content": {"application/json": {
                            "schema": {"$ref": "#/components/schemas/Suggestions"}}}},
                        "400": _error("A bad parameter; the message names it."),
                        "503": _error("No usable index."),
                    },
                }
            },  # fmt: skip
            "/api/health": {
                "get": {
                    "summary": "What is being served",
                    "operationId": "health",
                    "responses": {
                        "200": {"description": "The index in use", "content": {"application/json": {
                            "schema": {"$ref": "#/components/schemas/Health"}}}},
                        "503": {"description": "No index, or one no search can use (status unavailable)",
                                "content": {"application/json": {"schema": {"oneOf": [
                                    {"$ref": "#/components/schemas/Error"},
                                    {"$ref": "#/components/schemas/Health"}]}}}},
                    },  # fmt: skip
                }
            },
            "/api/documents": {
                "put": {
                    "summary": "Push articles (a CMS publishing or correcting)",
                    "operationId": "pushDocuments",
                    "security": [{"adminToken": []}],
                    "description": (
                        "A JSON array of documents, or one document a line (application/x-ndjson), "
                        f"{MAX_BODY_BYTES // (1024 * 1024)} MB at most. Each is accepted or refused on its own; "
                        "the answer comes once those accepted are on disk (a kill -9 right after loses "
                        "nothing), and they are searchable within about a second."),
                    "requestBody": {"required": True, "content": {
                        "application/json": {"schema": {"oneOf": [
                            {"type": "array", "items": DOCUMENT}, DOCUMENT]}},
                        "application/x-ndjson": {"schema": {"type": "string",
                                                            "description": "One JSON document a line."}}}},
                    "responses": {
                        "202": {"description": "Recorded durably", "content": {"application/json": {
                            "schema": {"$ref": "#/components/schemas/PushResult"}}}},
                        "400": _error("A body that cannot be read (not UTF-8, not JSON, not an array, empty)."),
                        **_TOKEN_ERRORS,
                        "413": _error(f"A body over {MAX_BODY_BYTES // (1024 * 1024)} MB."),
                        "415": _error("Another Content-Type than application/json or application/x-ndjson."),
                        "422": {"description": "No document accepted", "content": {"application/json": {
                            "schema": {"$ref": "#/components/schemas/PushResult"}}}},
                    },
                }
            },
            "/api/documents/{id}": {
                "get": {
                    "summary": "What is indexed for an id",
                    "operationId": "getDocument",
                    "security": [{"adminToken": []}],
                    "parameters": [_ID],
                    "responses": {
                        "200": {"description": "The document as the generation in use holds it",
                                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Indexed"}}}},
                        **_TOKEN_ERRORS,
                        "503": _error("No usable index."),
                    },
                },
                "delete": {
                    "summary": "Retract an article",
                    "operationId": "retractDocument",
                    "security": [{"adminToken": []}],
                    "description": (
                        "Gone from results, facets, snippets, suggestions and did-you-mean within about a "
                        "second, and left out of reindexes until it is pushed again."),
                    "parameters": [_ID],
                    "responses": {
                        "202": {"description": "Recorded durably", "content": {"application/json": {
                            "schema": {"$ref": "#/components/schemas/Retracted"}}}},
                        "400": _error(f"An id of spaces only, or longer than {MAX_ID_CHARS} characters."),
                        **_TOKEN_ERRORS,
                    },
                },
            },  # fmt: skip
            "/api/openapi.json": {
                "get": {
                    "summary": "This description",
                    "operationId": "openapi",
                    "responses": {"200": {"description": "OpenAPI 3.1 document",
                                          "content": {"application/json": {"schema": {"type": "object"}}}}},
                }  # fmt: skip
            },
        },
        "components": {
            "schemas": {"SearchResult": SEARCH_RESULT, "Hit": HIT, "Facets": FACETS, "Expansion": EXPANSION,
                        "Suggestions": SUGGESTIONS,
                        "Health": HEALTH, "Error": ERROR, "PushResult": PUSH_RESULT, "Indexed": INDEXED,
                        "Retracted": RETRACTED},
            "securitySchemes": {"adminToken": {"type": "http", "scheme": "bearer",
                                               "description": "The value of SEARCHSVC_ADMIN_TOKEN."}},
        },
    }
