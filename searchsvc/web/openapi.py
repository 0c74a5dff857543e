"""The OpenAPI 3.1 description of the JSON endpoints. Tests validate real
responses against these schemas, so the description cannot drift from the code."""

from __future__ import annotations

from typing import Any

from .. import __version__
from ..query import MAX_QUERY_CHARS
from ..search import MAX_DEPTH, MAX_PER_PAGE, SORTS
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
    },
}

SEARCH_RESULT = {
    "type": "object",
    "required": ["query", "total", "page", "per_page", "took_ms", "hits", "suggestion"],
    "properties": {
        "query": {"type": "string", "description": "The query as searched (normalised)."},
        "total": {"type": "integer", "minimum": 0},
        "page": {"type": "integer", "minimum": 1},
        "per_page": {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE},
        "took_ms": {"type": "number", "minimum": 0},
        "hits": {"type": "array", "items": HIT, "maxItems": MAX_PER_PAGE},
        "suggestion": {"type": ["string", "null"], "description": "Did you mean…"},
    },
}

HEALTH = {
    "type": "object",
    "required": ["status", "documents", "generation"],
    "properties": {
        "status": {"type": "string", "enum": ["ok", "degraded", "unavailable"]},
        "documents": {"type": "integer", "minimum": 0},
        "generation": {"type": "integer", "minimum": 1},
        "analysis": {"type": ["string", "null"]},
        "problem": {"type": "string"},
    },
}


def _param(name: str, schema: dict, description: str, required: bool = False) -> dict:
    param = {"name": name, "in": "query", "required": required, "schema": schema, "description": description}
    if not required:
        # `page=&source=` (a form's blank fields) is the same as leaving them out.
        param["allowEmptyValue"] = True
    return param


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
                               "Words, \"phrases\", -excluded, OR, prefix*, title:word, word~.", True),
                        _param("page", {"type": "integer", "minimum": 1, "maximum": MAX_DEPTH, "default": 1},
                               f"Page number; at most {MAX_DEPTH} results can be paged through."),
                        _param("per_page", {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE,
                                            "default": 10}, "Hits per page."),
                        _param("sort", {"type": "string", "enum": list(SORTS), "default": "relevance"},
                               "Order: relevance, or date (newest first)."),
                        _param("source", {"type": "string", "maxLength": MAX_PARAM_CHARS}, "Only articles from this source."),
                        _param("from", {"type": "string", "format": "date"}, "Only articles on or after (ISO)."),
                        _param("to", {"type": "string", "format": "date"}, "Only articles on or before (ISO)."),
                    ],  # fmt: skip
                    "responses": {
                        "200": {"description": "A page of hits", "content": {"application/json": {
                            "schema": {"$ref": "#/components/schemas/SearchResult"}}}},
                        "400": _error("A bad parameter; the message names it."),
                        "503": _error("No usable index."),
                    },  # fmt: skip
                }
            },
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
            "schemas": {"SearchResult": SEARCH_RESULT, "Hit": HIT, "Health": HEALTH, "Error": ERROR}
        },
    }
