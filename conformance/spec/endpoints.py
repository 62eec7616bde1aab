"""The v1.14 endpoint table, as routed and answered by Docker 1.2.0 (see notes §1-§3, §5).

Each entry: method, path template, parameters, request body, success responses, the error statuses
1.2.0 can produce (`errors`) and those the doc lists (`doc_errors`), and errata where the doc is wrong.
"""

from __future__ import annotations

from .model import (
    BodyField,
    BodyKind,
    Endpoint,
    Erratum,
    FieldType,
    LaterRoute,
    Param,
    ParamKind,
    RequestBody,
    Response,
)

JSON = ("application/json",)
TEXT = ("text/plain; charset=utf-8",)
SNIFFED_BINARY = ("application/octet-stream",)  # Go's content sniffing of binary output
RAW_STREAM = ("application/vnd.docker.raw-stream",)

ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint(
        id="system.ping",
        method="GET",
        path="/_ping",
        summary="Ping the docker server",
        section="Ping the docker server",
        responses=(Response(200, BodyKind.TEXT, TEXT),),
        errors=(500,),
        doc_errors=(500,),
    ),
    Endpoint(
        id="containers.start",
        method="POST",
        path="/containers/{id}/start",
        summary="Start a container, optionally with a HostConfig body",
        section="Start a container",
        responses=(Response(204, BodyKind.NONE), Response(304, BodyKind.NONE)),
        errors=(404, 406, 500),
        doc_errors=(404, 500),
        body=RequestBody(
            kind=BodyKind.JSON_OBJECT,
            content_type="application/json",
            content_type_rule="content-length>0",
            schema="HostConfig",
            fields=(
                BodyField("Binds", FieldType.STRING_LIST),
                BodyField("LxcConf", FieldType.LIST, "list of {Key, Value}; a map is silently dropped"),
                # ... the other HostConfig fields
            ),
        ),
        errata=(
            Erratum(
                doc="Start example shows `HTTP/1.1 204 No Content` with `Content-Type: text/plain`",
                implementation="204 carries no Content-Type",
                source="notes §5.10",
            ),
        ),
    ),
)

LATER_ROUTES: tuple[LaterRoute, ...] = (
    LaterRoute("HEAD", "/_ping", "Ping with HEAD", "1.25"),
    LaterRoute("POST", "/containers/{id}/exec", "Create an exec instance", "1.15"),
)
