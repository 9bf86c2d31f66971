"""The OpenAPI 3.1 document of the HTTP API, written by hand (served at
``/api/v1/openapi.json``; a test checks that every route is in it)."""

from __future__ import annotations

from typing import Any


def _problem(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {
            "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
        },
    }


_AUTH_ERRORS = {
    "401": _problem("No token, an unknown one or a revoked one (see WWW-Authenticate)."),
    "403": _problem("The token lacks the scope this call needs."),
}


def openapi_document() -> dict[str, Any]:
    id_param = {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "smsbot HTTP API",
            "version": "1",
            "description": (
                "Send SMS through the team's gateways and read their states. Every call "
                "but this document needs `Authorization: Bearer TOKEN` (python -m bot "
                "tokens create NAME). A token reads only the jobs and messages it sent. "
                "Errors are application/problem+json (RFC 9457); nothing is sent on any "
                "error. A body that is not a JSON object, has an unknown field, lacks "
                "`to` or `text`, or has a field of the wrong type is refused with 400; "
                "values that cannot be sent (a number, a name, the text, the gateway, "
                "too many recipients) with 422."
            ),
        },
        "security": [{"bearer": []}],
        "paths": {
            "/api/v1/messages": {
                "post": {
                    "summary": "Send one text to one or more recipients (a job).",
                    "parameters": [
                        {
                            "name": "Idempotency-Key",
                            "in": "header",
                            "required": False,
                            "description": (
                                "1-200 printable characters, per token. A repeat of the "
                                "same request returns the first job (200) and sends "
                                "nothing; another request with the key gets 409."
                            ),
                            "schema": {"type": "string", "maxLength": 200},
                        }
                    ],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/SendRequest"}
                            }
                        },
                    },
                    "responses": {
                        "202": {
                            "description": "Recorded; being sent in the background.",
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/SendResult"}
                                }
                            },
                        },
                        "200": {
                            "description": "A repeat of an Idempotency-Key: the first job.",
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/SendResult"}
                                }
                            },
                        },
                        "400": _problem("The body is not a JSON object of the fields below."),
                        **_AUTH_ERRORS,
                        "409": _problem("The Idempotency-Key was used with another request."),
                        "413": _problem("The body is too large."),
                        "422": _problem(
                            "A recipient, the text or the gateway cannot be used "
                            "(`refused` lists each recipient and why)."
                        ),
                        "429": _problem("The token's limit is used up (see Retry-After)."),
                    },
                }
            },
            "/api/v1/messages/{id}": {
                "get": {
                    "summary": "One message (one recipient of a job) and its state.",
                    "parameters": [id_param],
                    "responses": {
                        "200": {
                            "description": "The message.",
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/Message"}
                                }
                            },
                        },
                        **_AUTH_ERRORS,
                        "404": _problem("No such message sent with this token."),
                    },
                }
            },
            "/api/v1/jobs/{id}": {
                "get": {
                    "summary": "A job and each of its messages' states.",
                    "parameters": [id_param],
                    "responses": {
                        "200": {
                            "description": "The job.",
                            "content": {
                                "application/json": {"schema": {"$ref": "#/components/schemas/Job"}}
                            },
                        },
                        **_AUTH_ERRORS,
                        "404": _problem("No such job sent with this token."),
                    },
                }
            },
            "/api/v1/balance": {
                "get": {
                    "summary": "Every gateway's balance; an unreachable one has `error`.",
                    "responses": {
                        "200": {
                            "description": "The balances.",
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/Balances"}
                                }
                            },
                        },
                        **_AUTH_ERRORS,
                    },
                }
            },
            "/api/v1/alertmanager": {
                "post": {
                    "summary": (
                        "Prometheus Alertmanager's webhook (payload version 4; Grafana's "
                        "webhook contact point too): one SMS per notification to every "
                        "recipient, from ALERT_TEMPLATE, cut to ALERT_MAX_PARTS. A retried "
                        "notification (same group key, status and alerts) sends nothing "
                        "again and is answered 200 with the first job."
                    ),
                    "parameters": [
                        {
                            "name": "to",
                            "in": "query",
                            "required": True,
                            "description": "Numbers, contacts' names and groups, comma-separated.",
                            "schema": {"type": "string"},
                        },
                        {
                            "name": "gateway",
                            "in": "query",
                            "required": False,
                            "schema": {"type": "string"},
                        },
                    ],
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": {"type": "object"}}},
                    },
                    "responses": {
                        "202": {"description": "Recorded and being sent (job_id, messages)."},
                        "200": {"description": "A retried notification: the first job."},
                        "400": _problem("The body is not an Alertmanager notification."),
                        **_AUTH_ERRORS,
                        "422": _problem("No or refused recipients, or an unknown gateway."),
                        "429": _problem("The token's limit is reached; see Retry-After."),
                    },
                }
            },
            "/api/v1/openapi.json": {
                "get": {
                    "summary": "This document.",
                    "security": [],
                    "responses": {"200": {"description": "The OpenAPI document."}},
                }
            },
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "SendRequest": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["to", "text"],
                    "properties": {
                        "to": {
                            "description": (
                                "A number, a contact's name or a group; a comma list of "
                                "them; or a list of such strings."
                            ),
                            "oneOf": [
                                {"type": "string"},
                                {"type": "array", "items": {"type": "string"}},
                            ],
                        },
                        "text": {"type": "string"},
                        "gateway": {
                            "type": "string",
                            "description": "smsrent, smska or sandbox; the default if absent.",
                        },
                    },
                },
                "Message": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "integer"},
                        "job_id": {"type": "integer"},
                        "to": {"type": "string"},
                        "name": {"type": ["string", "null"]},
                        "state": {
                            "type": "string",
                            "enum": [
                                "queued",
                                "sending",
                                "sent",
                                "delivered",
                                "rejected",
                                "expired",
                                "deleted",
                                "failed",
                                "unknown",
                            ],
                        },
                        "gateway": {"type": "string"},
                        "gateway_id": {"type": ["string", "null"]},
                        "error": {"type": ["string", "null"]},
                        "created_at": {"type": "string", "format": "date-time"},
                        "updated_at": {"type": "string", "format": "date-time"},
                    },
                },
                "Job": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "integer"},
                        "created_at": {"type": "string", "format": "date-time"},
                        "gateway": {"type": "string"},
                        "total": {"type": "integer"},
                        "states": {"type": "object", "additionalProperties": {"type": "integer"}},
                        "messages": {
                            "type": "array",
                            "items": {"$ref": "#/components/schemas/Message"},
                        },
                    },
                },
                "SendResult": {
                    "allOf": [
                        {"$ref": "#/components/schemas/Job"},
                        {
                            "type": "object",
                            "properties": {
                                "repeated": {"type": "boolean"},
                                "duplicates": {
                                    "type": "array",
                                    "items": {
                                        "type": "object",
                                        "properties": {
                                            "entry": {"type": "string"},
                                            "same_as": {"type": "string"},
                                        },
                                    },
                                },
                            },
                        },
                    ]
                },
                "Balances": {
                    "type": "object",
                    "properties": {
                        "balances": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "properties": {
                                    "gateway": {"type": "string"},
                                    "amount": {"type": ["string", "null"]},
                                    "unit": {"type": ["string", "null"]},
                                    "at": {"type": "string", "format": "date-time"},
                                    "source": {"type": "string", "enum": ["live", "last_send"]},
                                    "error": {"type": "string"},
                                },
                            },
                        }
                    },
                },
                "Problem": {
                    "type": "object",
                    "required": ["type", "title", "status", "detail"],
                    "properties": {
                        "type": {"type": "string"},
                        "title": {"type": "string"},
                        "status": {"type": "integer"},
                        "detail": {"type": "string"},
                        "refused": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "properties": {
                                    "entry": {"type": "string"},
                                    "name": {"type": ["string", "null"]},
                                    "reason": {"type": "string"},
                                },
                            },
                        },
                        "retry_after": {"type": "integer"},
                        "job_id": {"type": "integer"},
                    },
                },
            },
        },
    }
