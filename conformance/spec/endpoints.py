"""The v1.14 endpoint table, as routed and answered by Docker 1.2.0 (see notes §1-§3, §5).

Each entry: method, path template, parameters, request body, success responses, the error statuses
1.2.0 can produce (`errors`) and those the doc lists (`doc_errors`), and errata where the doc is wrong.

Conventions:
- `documented` (endpoints, params, body fields) follows the v1.14 page this project ships
  (shared spec folder), a later revision of the docs site. The doc shipped with 1.2.0
  (`docs/sources/reference/api/docker_remote_api_v1.14.md` @v1.2.0, the notes' [DOC]) lacked the
  websocket attach, list `filters`, tag `tag`, commit `comment`, build `remote`, and several Config
  fields, and showed `DisableNetwork` and commit `m`. Errata cover both texts and say which one is meant.
- `params` are the query parameters 1.2.0 reads, plus the ones a doc lists that 1.2.0 never reads
  (`read=False`: commit `m`, images/create `registry`). A boolean parameter that is absent reads as
  false, so booleans carry a default only when 1.2.0 assumes true.
- Empty bodies with a status that allows one (tag 201, resize/load/OPTIONS 200) carry Go 1.3's sniffed
  `text/plain; charset=utf-8`; later Go versions send no Content-Type for them.
- Every route also answers 404 `client and server don't have same version` when the version prefix is
  above 1.14 (notes §0.1); that is not listed per route.
"""

from __future__ import annotations

from dataclasses import replace

from .model import (
    BodyField,
    BodyKind,
    Endpoint,
    Erratum,
    FieldType,
    LaterRoute,
    Cause,
    Outcome,
    Param,
    ParamKind,
    RequestBody,
    Response,
)

JSON = ("application/json",)
TEXT = ("text/plain; charset=utf-8",)
SNIFFED_BINARY = ("application/octet-stream",)  # Go's content sniffing of binary output
SNIFFED = SNIFFED_BINARY + TEXT  # sniffed output that may be binary (frames, tar) or text (TTY, empty)
RAW_STREAM = ("application/vnd.docker.raw-stream",)
# the response headers 1.2.0 (Go net/http) writes; any other is a later daemon's (`v114.header.later`).
# The Access-Control-* ones come with 1.2.0's --api-enable-cors; Job-Name and Job-Args with the
# routes served by eng.ServeHTTP (/version, /info; notes §2 version); Sec-WebSocket-Accept with the
# websocket attach's 101.
SERVER_HEADERS = frozenset({
    "content-type", "content-length", "transfer-encoding", "date", "connection", "upgrade",
    "job-name", "job-args", "sec-websocket-accept",
    "access-control-allow-origin", "access-control-allow-headers", "access-control-allow-methods",
})
X_TAR = ("application/x-tar",)

BOOL, INT, STR = FieldType.BOOL, FieldType.INT, FieldType.STRING
STRS, OBJ, LIST = FieldType.STRING_LIST, FieldType.OBJECT, FieldType.LIST

_SRV = "[S12 api/server/server.go"

# Value patterns the strategies generate from (what 1.2.0 accepts and gives a meaning to).
NAME_PATTERN = r"/?[a-zA-Z0-9_.-]+"
REPO_PATTERN = r"[a-z0-9]{2,12}(/[a-z0-9]{2,12})?"  # [namespace/]name (1.2.0 also takes - _ . anywhere)
TAG_PATTERN = r"[A-Za-z0-9_.-]{1,30}"
PORT_KEY = r"[1-9][0-9]{0,3}/(tcp|udp)"
ABS_PATH = r"/[a-z][a-z0-9_]{0,10}(/[a-z0-9_]{1,8}){0,2}"
IPV4 = r"(127|10)\.[0-9]{1,2}\.[0-9]{1,2}\.[1-9]"
# The suite reaches no registry, and may send nothing off the machine: its registry names are on loopback
# ports where nothing listens, so a real daemon fails the way 1.2.0 did without a network.
LOOPBACK_REGISTRY = "127.0.0.1:9"
REGISTRY_REPO = r"127\.0\.0\.1:9/[a-z0-9]{2,10}"

# --- shared pieces -----------------------------------------------------------------------------------


def _bool(name: str, summary: str, *, documented: bool = True, default: str | None = None) -> Param:
    return Param(name, ParamKind.BOOL, summary, documented=documented, default=default)


def _reason(status: int, phrase: str, where: str) -> Erratum:
    """The doc's `201 OK` / `204 OK` status lines (notes §5.10)."""
    go = {201: "Created", 204: "No Content"}[status]
    return Erratum(
        doc=f"{where} shows the status line `HTTP/1.1 {status} {phrase}`",
        implementation=f"Go writes `{status} {go}`",
        source="notes §5.10",
    )


def _unreachable(status: int, why: str, source: str) -> Erratum:
    return Erratum(doc=f"lists status {status}", implementation=why, source=source)


_BAD_PARAMETER = "the only 400 producer in 1.2.0 is logs without stdout/stderr; this route never answers 400"
_E400 = f"notes §5.14, §0.2; {_SRV}#L71-L94]"

_ATTACH_PARAMS = (
    _bool("logs", "replay the container's log first"),
    _bool("stream", "attach to the live streams"),
    _bool("stdin", "pipe the client's input to the container's stdin (needs stream)"),
    _bool("stdout", "include stdout"),
    _bool("stderr", "include stderr"),
)

# Config keys read by 1.2.0 at create and commit (runconfig.ContainerConfigFromJob).
_CONFIG_FIELDS: tuple[BodyField, ...] = (
    BodyField("Hostname", STR, pattern=r"[a-z][a-z0-9-]{0,20}"),
    BodyField("Domainname", STR, pattern=r"([a-z][a-z0-9]{0,8}\.)?[a-z]{2,5}"),
    BodyField("User", STR, values=("", "root", "0", "0:0")),
    BodyField("Memory", INT, "bytes; 0 < Memory < 524288 is refused with 500", minimum=0, maximum=1 << 30,
              refused=((1, 524287),)),
    BodyField("MemorySwap", INT, minimum=-1, maximum=1 << 31),
    BodyField("CpuShares", INT, minimum=0, maximum=1024),
    BodyField("Cpuset", STR, "CPUs to use, e.g. 0,1", values=("", "0")),
    BodyField("AttachStdin", BOOL),
    BodyField("AttachStdout", BOOL),
    BodyField("AttachStderr", BOOL),
    BodyField("PortSpecs", STRS, "deprecated", pattern=r"[1-9][0-9]{0,3}"),
    BodyField("ExposedPorts", OBJ, 'map of "port/proto" to {}', key_pattern=PORT_KEY),
    BodyField("Tty", BOOL),
    BodyField("OpenStdin", BOOL),
    BodyField("StdinOnce", BOOL),
    BodyField("Env", STRS, pattern=r"[A-Z][A-Z0-9_]{0,8}=[ -~]{0,20}"),
    BodyField("Cmd", STRS, values=("true",), minimum=1),
    BodyField("Image", STR, refers="image"),
    BodyField("Volumes", OBJ, "map of container path to {}", key_pattern=ABS_PATH),
    BodyField("WorkingDir", STR, pattern=ABS_PATH),
    BodyField("Entrypoint", STRS, documented=False, values=("/bin/sh",)),
    BodyField("NetworkDisabled", BOOL, "the 1.2.0 doc showed it as DisableNetwork"),
    BodyField("DisableNetwork", BOOL, "the 1.2.0 doc's name for NetworkDisabled; 1.2.0 reads only "
              "NetworkDisabled", documented=False, honoured=False),
)

# HostConfig keys read by 1.2.0 at start (runconfig.ContainerHostConfigFromJob).
_HOSTCONFIG_FIELDS: tuple[BodyField, ...] = (
    BodyField("Binds", STRS, "host:container[:ro]; missing host paths are created (the suite binds only "
              "paths under /tmp)", pattern=r"/tmp/v114s-bind-[a-z0-9]{1,8}:" + ABS_PATH + r"(:ro|:rw)?"),
    BodyField("ContainerIDFile", STR, documented=False, values=("",)),
    BodyField("LxcConf", LIST, "list of {Key, Value}; a map is silently dropped",
              members=(BodyField("Key", STR, values=("lxc.utsname",)), BodyField("Value", STR, pattern=r"[a-z]{1,8}"))),
    BodyField("Privileged", BOOL),
    BodyField("PortBindings", OBJ, 'map of "port/proto" to [{HostIp, HostPort}]', key_pattern=PORT_KEY,
              value_list=True, members=(BodyField("HostIp", STR, values=("", "127.0.0.1")),
                                        BodyField("HostPort", STR, pattern=r"|[1-5][0-9]{4}"))),
    BodyField("Links", STRS, "name:alias", refers="container", pattern=r":[a-z][a-z0-9]{0,8}"),
    BodyField("PublishAllPorts", BOOL),
    BodyField("Dns", STRS, pattern=IPV4),
    BodyField("DnsSearch", STRS, documented=False, pattern=r"[a-z]{1,8}\.[a-z]{2,4}"),
    BodyField("VolumesFrom", STRS, "container[:ro|:rw]; a missing container is 406", refers="container",
              pattern=r"(:ro|:rw)?"),
    BodyField("Devices", LIST, "list of {PathOnHost, PathInContainer, CgroupPermissions}", documented=False,
              members=(BodyField("PathOnHost", STR, values=("/dev/null",)),
                       BodyField("PathInContainer", STR, pattern=r"/dev/v114s[a-z]{1,6}"),
                       BodyField("CgroupPermissions", STR, values=("rwm", "r", "rw")))),
    BodyField("NetworkMode", STR, "bridge, host, none or container:<id> (the suite sends none: CI daemons "
              "have no bridge)", documented=False, values=("none",)),
    BodyField("CapAdd", STRS, values=("NET_ADMIN", "SYS_TIME", "CHOWN")),
    BodyField("CapDrop", STRS, values=("MKNOD", "CHOWN", "NET_RAW")),
    BodyField("RestartPolicy", OBJ, "{Name: always|on-failure, MaximumRetryCount}", documented=False,
              members=(BodyField("Name", STR, values=("", "always", "on-failure")),
                       BodyField("MaximumRetryCount", INT, minimum=0, maximum=5))),
)

_AT_START = "a HostConfig field: 1.2.0 reads it at start, not at create (create takes HostConfig from v1.15)"
_CREATE_FIELDS = _CONFIG_FIELDS + (
    replace(_HOSTCONFIG_FIELDS[-1], summary=_AT_START, documented=True, honoured=False),
    BodyField("HostConfig", OBJ, "nested HostConfig: ignored by 1.2.0 (honoured from v1.15)", documented=False,
              honoured=False),
) + tuple(
    replace(f, summary=_AT_START, documented=False, honoured=False)
    for f in _HOSTCONFIG_FIELDS
    if f.name != "RestartPolicy"
)

_AUTH_FIELDS: tuple[BodyField, ...] = (
    BodyField("username", STR, pattern=r"[a-z][a-z0-9]{3,10}"),
    BodyField("password", STR, pattern=r"[ -~]{1,16}"),
    BodyField("email", STR, pattern=r"[a-z]{1,8}@[a-z]{1,8}\.org"),
    BodyField("serveraddress", STR, values=(f"http://{LOOPBACK_REGISTRY}/v1/",), refers="registry"),
    BodyField("auth", STR, "base64 user:password", documented=False, pattern=r"[A-Za-z0-9+/]{4,16}={0,2}"),
)

_LIST_PARAMS = (
    _bool("all", "list stopped containers too"),
    Param("limit", ParamKind.INT, "show the n last created containers, stopped ones included", minimum=-1,
          maximum=100),
    Param("since", ParamKind.STRING, "only containers created after this id or name", refers="container"),
    Param("before", ParamKind.STRING, "only containers created before this id or name", refers="container"),
    _bool("size", "add SizeRw and SizeRootFs"),
    Param("filters", ParamKind.FILTERS, 'JSON map of lists; 1.2.0 honours only {"exited": ["<int>"]}',
          values=("exited=-?[0-9]{1,3}",)),
)

_LIST_ERRATA = (
    Erratum(
        doc="example elements have no `Names`; `Status` reads `Exit 0`",
        implementation="every element has `Names`; statuses read `Up …`, `Up … (Paused)`, "
        "`Restarting (n) … ago`, `Exited (n) … ago`, or `` for a container never started",
        source="notes §5.11; [S12 daemon/list.go, daemon/state.go]",
    ),
    _unreachable(400, _BAD_PARAMETER, _E400),
    Erratum(
        doc="the shipped page lists `exited` and `status` filters (the 1.2.0 doc has no `filters` at all)",
        implementation="only `exited` with integer values is honoured (`status` is ignored); a "
        "non-integer exit code answers 500",
        source="notes §5.17, §2 list; [S12 daemon/list.go]",
    ),
)

_LIST_RESPONSE = (Response(200, BodyKind.JSON_LIST, JSON, "ContainerList"),)

# --- containers --------------------------------------------------------------------------------------

_CONTAINERS: tuple[Endpoint, ...] = (
    Endpoint(
        id="containers.list",
        method="GET",
        path="/containers/json",
        summary="List containers",
        section="List containers",
        responses=_LIST_RESPONSE,
        errors=(500,),
        doc_errors=(400, 500),
        params=_LIST_PARAMS,
        errata=_LIST_ERRATA,
    ),
    Endpoint(
        id="containers.list-ps",
        method="GET",
        path="/containers/ps",
        summary="List containers (undocumented alias of /containers/json)",
        section="List containers",
        documented=False,
        responses=_LIST_RESPONSE,
        errors=(500,),
        params=_LIST_PARAMS,
        errata=(
            Erratum(
                doc="not documented",
                implementation="1.2.0 routes GET /containers/ps to the list handler",
                source=f"notes §1, §5.17; {_SRV}#L1111]",
            ),
        ),
    ),
    Endpoint(
        id="containers.create",
        method="POST",
        path="/containers/create",
        summary="Create a container from a Config body",
        section="Create a container",
        # Not listed: a query 1.2.0 cannot parse (e.g. `%zz`) makes the handler return nil, an empty 200
        # (a bug, notes §0.3); the rule book keeps 200 unexpected so that it is reported.
        responses=(Response(201, BodyKind.JSON_OBJECT, JSON, "ContainerCreated"),),
        errors=(404, 409, 500),
        doc_errors=(404, 406, 500),
        params=(Param("name", ParamKind.NAME, "container name, ^/?[a-zA-Z0-9_.-]+$", pattern=NAME_PATTERN),),
        body=RequestBody(kind=BodyKind.JSON_OBJECT, fields=_CREATE_FIELDS, required=True,
                         schema="ContainerCreate"),
        errata=(
            Erratum(
                doc='response example `{"Id":"e90e34656806" "Warnings":[]}` (no comma, short id)',
                implementation='`{"Id":"<64 hex>","Warnings":null}`: Warnings is a list of strings, or '
                "null when there are none",
                source=f"notes §5.1; {_SRV}#L628-L657]",
            ),
            _reason(201, "OK", "the create example"),
            Erratum(
                doc="the 1.2.0 doc's request example uses `DisableNetwork` (the shipped page has "
                "`NetworkDisabled`)",
                implementation="the key is `NetworkDisabled`; `DisableNetwork` is ignored",
                source="notes §5.2; [S12 runconfig/config.go]",
            ),
            Erratum(
                doc="404 means `no such container`",
                implementation="404 means no such image (`No such image: foo (tag: latest)`)",
                source="notes §5.13; [S12 daemon/create.go]",
            ),
            Erratum(
                doc="406 `impossible to attach (container not running)`",
                implementation="create never answers 406 (only start does, for a missing VolumesFrom)",
                source="notes §5.13, §0.2",
            ),
            Erratum(
                doc="does not list 409",
                implementation="a name already in use answers 409 `Conflict, The name … is already "
                "assigned …`",
                source="notes §5.13, §0.2; [S12 daemon/daemon.go#L461]",
            ),
            Erratum(
                doc="name must match `/?[a-zA-Z0-9_-]+`",
                implementation="1.2.0 also allows `.`: `^/?[a-zA-Z0-9_.-]+$`; other names answer 500",
                source="notes §5.19, §2 create",
            ),
            Erratum(
                doc="the shipped page shows `RestartPolicy` in the create body",
                implementation="1.2.0 reads no HostConfig field at create, nested or top-level; "
                "RestartPolicy, Binds, PortBindings … must be sent to start",
                source="notes §2 create; [S12 runconfig/config.go, daemon/create.go]",
            ),
        ),
    ),
    Endpoint(
        id="containers.inspect",
        method="GET",
        path="/containers/{id}/json",
        summary="Inspect a container",
        section="Inspect a container",
        responses=(Response(200, BodyKind.JSON_OBJECT, JSON, "ContainerInspect"),),
        errors=(404, 500),
        doc_errors=(404, 500),
        errata=(
            Erratum(
                doc="example has invalid JSON (`\"CapAdd: [`, `\"CapDrop: [` in the 1.2.0 doc), a malformed "
                "StartedAt, `State.Ghost`, `NetworkSettings.IpAddress/IpPrefixLen`, `SysInitPath`, and "
                "`Dns`/`VolumesFrom` inside Config",
                implementation="State is {ExitCode, FinishedAt, Paused, Pid, Restarting, Running, "
                "StartedAt}; NetworkSettings has IPAddress, IPPrefixLen and Ports; no SysInitPath; Dns and "
                "VolumesFrom are HostConfig fields; Name, Driver, ExecDriver, MountLabel, ProcessLabel, "
                "HostnamePath, HostsPath and VolumesRW are also sent",
                source="notes §5.3; [S12 daemon/inspect.go, daemon/state.go, daemon/network_settings.go]",
            ),
        ),
    ),
    Endpoint(
        id="containers.top",
        method="GET",
        path="/containers/{id}/top",
        summary="List the processes running inside a container",
        section="List processes running inside a container",
        responses=(Response(200, BodyKind.JSON_OBJECT, JSON, "ContainerTop"),),
        errors=(404, 500),
        doc_errors=(404, 500),
        params=(Param("ps_args", ParamKind.STRING, "arguments for ps", default="-ef", values=("-ef", "aux", "-e", "")),),
    ),
    Endpoint(
        id="containers.logs",
        method="GET",
        path="/containers/{id}/logs",
        summary="Get a container's stdout and stderr logs",
        section="Get container logs",
        responses=(Response(200, BodyKind.STDIO, SNIFFED),),
        errors=(400, 404, 500),
        doc_errors=(404, 500),
        params=(
            _bool("follow", "keep streaming after the history"),
            _bool("stdout", "include stdout (stdout or stderr is required)"),
            _bool("stderr", "include stderr (stdout or stderr is required)"),
            _bool("timestamps", "prefix each line with an RFC 3339 timestamp"),
            Param("tail", ParamKind.TAIL, "`all` or the number of last lines", default="all", minimum=0, maximum=50),
        ),
        at_least_one=("stdout", "stderr"),
        errata=(
            Erratum(
                doc="example response has `Content-Type: application/vnd.docker.raw-stream`",
                implementation="no Content-Type is set; Go sniffs one from the first write "
                "(application/octet-stream for frames, text/plain for TTY text)",
                source=f"notes §5.18, §0.6; {_SRV}#L366-L412]",
            ),
            Erratum(
                doc="does not list 400",
                implementation="neither stdout nor stderr answers 400 `Bad parameters: you must choose at "
                "least one stream`, before the container lookup",
                source=f"notes §0.2, §2 logs; {_SRV}#L388-L391]",
            ),
        ),
    ),
    Endpoint(
        id="containers.changes",
        method="GET",
        path="/containers/{id}/changes",
        summary="Inspect changes on a container's filesystem",
        section="Inspect changes on a container's filesystem",
        responses=(Response(200, BodyKind.JSON_LIST, JSON, "ContainerChanges"),),
        errors=(404, 500),
        doc_errors=(404, 500),
    ),
    Endpoint(
        id="containers.export",
        method="GET",
        path="/containers/{id}/export",
        summary="Export a container's filesystem as a tar stream",
        section="Export a container",
        responses=(Response(200, BodyKind.TAR, SNIFFED_BINARY),),
        errors=(404, 500),
        doc_errors=(404, 500),
        errata=(
            Erratum(
                doc="`Content-Type: application/octet-stream`",
                implementation="no Content-Type is set; application/octet-stream comes from Go's sniffing "
                "of the tar",
                source=f"notes §5.18, §3.7; {_SRV}#L199-L209]",
            ),
        ),
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
            fields=_HOSTCONFIG_FIELDS,
        ),
        errata=(
            Erratum(
                doc="the 1.2.0 doc's example shows `HTTP/1.1 204 No Content` with `Content-Type: text/plain`",
                implementation="204 carries no Content-Type",
                source="notes §5.10",
            ),
            Erratum(
                doc='the 1.2.0 doc\'s example sends `"LxcConf":{"lxc.utsname":"docker"}`',
                implementation='LxcConf is a list `[{"Key":…,"Value":…}]`; the map form is dropped silently',
                source="notes §5.12; [S12 runconfig/hostconfig.go]",
            ),
            Erratum(
                doc="does not list 406",
                implementation="a VolumesFrom container that does not exist answers 406 (`… Impossible to "
                "mount its volumes`)",
                source="notes §0.2; [S12 daemon/volumes.go#L101]",
            ),
            Erratum(
                doc="the body is optional and its Content-Type unstated",
                implementation="the body is read only with Content-Length > 0 (chunked bodies are ignored) "
                "and then must be application/json, else 500",
                source=f"notes §2 start, §4.1; {_SRV}#L710-L739]",
            ),
        ),
    ),
    Endpoint(
        id="containers.stop",
        method="POST",
        path="/containers/{id}/stop",
        summary="Stop a container",
        section="Stop a container",
        responses=(Response(204, BodyKind.NONE), Response(304, BodyKind.NONE)),
        errors=(404, 500),
        doc_errors=(404, 500),
        params=(Param("t", ParamKind.INT, "seconds to wait before killing; omitted means 0", default="0",
                      doc_default="10", minimum=0, maximum=1),),
        errata=(
            _reason(204, "OK", "the 1.2.0 doc's stop example"),
            Erratum(
                doc="`t` is the number of seconds to wait before killing",
                implementation="the handler always passes `t`, so an omitted or invalid `t` means 0 s "
                "(SIGTERM then SIGKILL at once), not the 10 s default",
                source=f"notes §5.22, §0.3; {_SRV}#L749]; [S12 daemon/stop.go#L12-L17]",
            ),
        ),
    ),
    Endpoint(
        id="containers.restart",
        method="POST",
        path="/containers/{id}/restart",
        summary="Restart a container",
        section="Restart a container",
        responses=(Response(204, BodyKind.NONE),),
        errors=(404, 500),
        doc_errors=(404, 500),
        params=(Param("t", ParamKind.INT, "seconds to wait before killing; omitted means 0", default="0",
                      doc_default="10", minimum=0, maximum=1),),
        errata=(
            _reason(204, "OK", "the 1.2.0 doc's restart example"),
            Erratum(
                doc="`t` is the number of seconds to wait before killing",
                implementation="an omitted or invalid `t` means 0 s, not the 10 s default",
                source=f"notes §5.22, §0.3; {_SRV}#L667]; [S12 daemon/restart.go]",
            ),
        ),
    ),
    Endpoint(
        id="containers.kill",
        method="POST",
        path="/containers/{id}/kill",
        summary="Send a signal to a container",
        section="Kill a container",
        responses=(Response(204, BodyKind.NONE),),
        errors=(404, 500),
        doc_errors=(404, 500),
        params=(Param("signal", ParamKind.SIGNAL, "1-31 or a name with or without SIG; invalid is 500",
                      default="SIGKILL"),),
        errata=(_reason(204, "OK", "the 1.2.0 doc's kill example"),),
    ),
    Endpoint(
        id="containers.pause",
        method="POST",
        path="/containers/{id}/pause",
        summary="Pause a container",
        section="Pause a container",
        responses=(Response(204, BodyKind.NONE),),
        errors=(404, 500),
        doc_errors=(404, 500),
        errata=(_reason(204, "OK", "the 1.2.0 doc's pause example"),),
    ),
    Endpoint(
        id="containers.unpause",
        method="POST",
        path="/containers/{id}/unpause",
        summary="Unpause a container",
        section="Unpause a container",
        responses=(Response(204, BodyKind.NONE),),
        errors=(404, 500),
        doc_errors=(404, 500),
        errata=(_reason(204, "OK", "the 1.2.0 doc's unpause example"),),
    ),
    Endpoint(
        id="containers.attach",
        method="POST",
        path="/containers/{id}/attach",
        summary="Attach to a container (hijacked HTTP connection)",
        section="Attach to a container",
        hijacked=True,
        responses=(Response(200, BodyKind.STDIO, RAW_STREAM),),
        errors=(404, 500),
        doc_errors=(400, 404, 500),
        params=_ATTACH_PARAMS,
        errata=(_unreachable(400, _BAD_PARAMETER, _E400),),
    ),
    Endpoint(
        id="containers.attach-ws",
        method="GET",
        path="/containers/{id}/attach/ws",
        summary="Attach to a container over a websocket (raw, unmultiplexed text frames)",
        section="Attach to a container (websocket)",
        websocket=True,
        responses=(Response(101, BodyKind.ANY),),
        # 400/403: the go.net/websocket handshake refuses a bad handshake or a missing Origin
        errors=(400, 403, 404, 500),
        doc_errors=(400, 404, 500),
        params=_ATTACH_PARAMS,
        errata=(
            Erratum(
                doc="the shipped page lists status 200 and 400 (the 1.2.0 doc lacks the route altogether)",
                implementation="inspect first (404 if unknown), then a websocket handshake answered 101; the "
                "handshake wants an Origin header (403 without) and answers 400 when malformed; raw, "
                "unmultiplexed bytes in text frames",
                source=f"notes §1, §3.3, §5.17; {_SRV}#L857-L887]; "
                "[S12 vendor/src/code.google.com/p/go.net/websocket/server.go, hybi.go]",
            ),
        ),
    ),
    Endpoint(
        id="containers.wait",
        method="POST",
        path="/containers/{id}/wait",
        summary="Block until a container stops, then return its exit code",
        section="Wait a container",
        responses=(Response(200, BodyKind.JSON_OBJECT, JSON, "ContainerWait"),),
        errors=(500,),
        doc_errors=(404, 500),
        errata=(
            Erratum(
                doc="404 for no such container",
                implementation="an unknown container answers 500 (`wait: no such container: x` is "
                "lower-case, so the `No such` → 404 rule does not fire)",
                source="notes §5.14, §0.2; [S12 daemon/wait.go]",
            ),
        ),
    ),
    Endpoint(
        id="containers.delete",
        method="DELETE",
        path="/containers/{id}",
        summary="Remove a container",
        section="Remove a container",
        responses=(Response(204, BodyKind.NONE),),
        errors=(404, 409, 500),
        doc_errors=(400, 404, 500),
        params=(
            _bool("v", "remove the container's volumes"),
            _bool("force", "kill a running container first"),
            _bool("link", "remove the link name instead of the container", documented=False),
        ),
        errata=(
            _reason(204, "OK", "the 1.2.0 doc's remove example"),
            _unreachable(400, _BAD_PARAMETER, _E400),
            Erratum(
                doc="documents neither `link` nor 409",
                implementation="`link=1` removes a link name; on a default name it answers 409 `Conflict, "
                "cannot remove the default name of the container`; a running container without force "
                "is 500",
                source=f"notes §5.17, §0.2, §2 delete; {_SRV}#L675-L693]; [S12 daemon/delete.go]",
            ),
        ),
    ),
    Endpoint(
        id="containers.copy",
        method="POST",
        path="/containers/{id}/copy",
        summary="Copy a file or folder out of a container as a tar stream",
        section="Copy files or folders from a container",
        # tar (sniffed binary), or an empty 200 when the copy job fails for another reason than a
        # missing file (logged only), which Go 1.3 sniffs as text
        responses=(Response(200, BodyKind.TAR, SNIFFED, tar_holds="Resource"),),
        errors=(404, 500),
        doc_errors=(404, 500),
        body=RequestBody(
            kind=BodyKind.JSON_OBJECT,
            fields=(BodyField("Resource", STR, "path in the container; a leading / is stripped", refers="path",
                              values=("/bin/sh", "bin/echo", "/etc", "/bin/cat/")),),
            content_type="application/json",
            content_type_rule="always",
            required=True,
            schema="CopyRequest",
        ),
        errata=(
            Erratum(
                doc="`Content-Type: application/octet-stream`",
                implementation="no Content-Type is set (sniffed); an unknown container is a 404 with an "
                "empty body, a missing file 500, other copy errors an empty 200",
                source=f"notes §5.18, §2 copy; {_SRV}#L980-L1016]",
            ),
            Erratum(
                doc="states no Content-Type for the request",
                implementation="the request must be application/json, else 500 `Content-Type not "
                "supported: <ct>`",
                source=f"notes §4.1; {_SRV}#L987-L993]",
            ),
        ),
    ),
    Endpoint(
        id="containers.resize",
        method="POST",
        path="/containers/{id}/resize",
        summary="Resize a container's TTY (undocumented in v1.14)",
        documented=False,
        responses=(Response(200, BodyKind.EMPTY, TEXT, doc_shows_type=False),),
        errors=(404, 500),
        params=(
            Param("h", ParamKind.STRICT_INT, "height in rows", required=True, minimum=0, maximum=500),
            Param("w", ParamKind.STRICT_INT, "width in columns", required=True, minimum=0, maximum=500),
        ),
        errata=(
            Erratum(
                doc="not documented (first documented in v1.15/v1.16)",
                implementation="1.2.0 routes it; h and w go through strconv.Atoi (missing or invalid is "
                "500); success is 200 with an empty body",
                source=f"notes §1, §5.17, §2 resize; {_SRV}#L779-L790]",
            ),
        ),
    ),
)

# --- images ------------------------------------------------------------------------------------------

_IMAGES: tuple[Endpoint, ...] = (
    Endpoint(
        id="images.list",
        method="GET",
        path="/images/json",
        summary="List images",
        section="List Images",
        responses=(Response(200, BodyKind.JSON_LIST, JSON, "ImageList"),),
        errors=(500,),
        params=(
            _bool("all", "include intermediate images"),
            Param("filters", ParamKind.FILTERS, 'JSON map of lists; {"dangling": ["true"]}',
                  values=("dangling=(true|false)",)),
            Param("filter", ParamKind.STRING, "glob on the repository name (path.Match)", documented=False,
                  pattern=r"[a-z0-9*?]{1,12}"),
        ),
        errata=(
            Erratum(
                doc="documents no `filter` parameter",
                implementation="`filter` is read and matched against repository names",
                source=f"notes §5.17, §2 images; {_SRV}#L211-L258]",
            ),
            Erratum(
                doc="the first example element has no `ParentId`; no status codes are listed",
                implementation="every element has ParentId (`` for a base image); a bad `filters` "
                "answers 500",
                source="notes §2 images; [S12 graph/list.go]",
            ),
        ),
    ),
    Endpoint(
        id="images.create",
        method="POST",
        path="/images/create",
        summary="Create an image by pulling it (fromImage) or importing it (fromSrc)",
        section="Create an image",
        responses=(Response(200, BodyKind.JSON_MESSAGES, JSON, "JSONMessage"),),
        errors=(500,),
        doc_errors=(500,),
        params=(
            Param("fromImage", ParamKind.REPO, "image to pull; repo:tag is split when tag is empty",
                  pattern=REGISTRY_REPO, refers="registry"),
            Param("fromSrc", ParamKind.STRING, "URL to import from, or - for the request body", values=("-",),
                  refers="url"),
            Param("repo", ParamKind.REPO, "repository for an import", pattern=REPO_PATTERN),
            Param("tag", ParamKind.STRING, "tag to pull or to give the import", pattern=TAG_PATTERN),
            Param("registry", ParamKind.STRING, "listed by the doc, never read", read=False),
        ),
        # a tarball when fromSrc=-, else nothing
        body=RequestBody(kind=BodyKind.TAR, required=True, only_when=("fromSrc", "-")),
        errata=(
            Erratum(
                doc="documents a `registry` parameter",
                implementation="`registry` is never read; the registry comes from the image name",
                source=f"notes §5.16; {_SRV}#L466-L524]",
            ),
            Erratum(
                doc="the change log says combining repo:tag with `tag` returns an error",
                implementation="there is no explicit check; with `tag` set, the combined name fails later "
                "in name validation (or is used as is)",
                source="notes §5.16",
            ),
        ),
    ),
    Endpoint(
        id="images.inspect",
        method="GET",
        path="/images/{name}/json",
        summary="Inspect an image",
        section="Inspect an image",
        responses=(Response(200, BodyKind.JSON_OBJECT, JSON, "ImageInspect"),),
        errors=(404, 500),
        doc_errors=(404, 500),
        errata=(
            Erratum(
                doc="example ContainerConfig has `Dns` and `VolumesFrom`; the example lacks Architecture, "
                "Author, Comment, Config, DockerVersion and Os",
                implementation="Dns and VolumesFrom are not Config fields; all twelve keys Architecture, "
                "Author, Comment, Config, Container, ContainerConfig, Created, DockerVersion, Id, Os, "
                "Parent, Size are sent",
                source="notes §5.4; [S12 graph/service.go CmdLookup]",
            ),
        ),
    ),
    Endpoint(
        id="images.history",
        method="GET",
        path="/images/{name}/history",
        summary="Get the history of an image",
        section="Get the history of an image",
        responses=(Response(200, BodyKind.JSON_LIST, JSON, "ImageHistory"),),
        errors=(404, 500),
        doc_errors=(404, 500),
        errata=(
            Erratum(
                doc="example entries have only Id, Created and CreatedBy",
                implementation="entries also carry Size and Tags (a list of repo:tag, or null)",
                source="notes §2 history; [S12 graph/history.go]",
            ),
        ),
    ),
    Endpoint(
        id="images.push",
        method="POST",
        path="/images/{name}/push",
        summary="Push an image to a registry",
        section="Push an image on the registry",
        responses=(Response(200, BodyKind.JSON_MESSAGES, JSON, "JSONMessage"),),
        errors=(500,),
        doc_errors=(404, 500),
        params=(Param("tag", ParamKind.STRING, "tag to push; all tags when empty", pattern=TAG_PATTERN),),
        # without an X-Registry-Auth header the body must be a JSON AuthConfig (empty body: 500 EOF)
        body=RequestBody(kind=BodyKind.JSON_OBJECT, fields=_AUTH_FIELDS, schema="AuthConfig"),
        errata=(
            Erratum(
                doc='example `{"status":"Pushing", "progress":"1/? (n/a)", "progressDetail":{"current":1}}}` '
                "has an extra `}`",
                implementation="each message is one JSON object",
                source="notes §5.5",
            ),
            Erratum(
                doc="404 for no such image",
                implementation="push writes `The push refers to …` before it looks the image up, so an "
                "unknown image is an in-band error in a 200 stream; pre-stream failures are 500",
                source="[S12 graph/push.go CmdPush]; notes §2 push",
            ),
        ),
    ),
    Endpoint(
        id="images.tag",
        method="POST",
        path="/images/{name}/tag",
        summary="Tag an image into a repository",
        section="Tag an image into a repository",
        responses=(Response(201, BodyKind.EMPTY, TEXT, doc_shows_type=False),),
        errors=(404, 500),
        doc_errors=(400, 404, 409, 500),
        params=(
            Param("repo", ParamKind.REPO, "repository to tag into", required=True, pattern=REPO_PATTERN),
            Param("tag", ParamKind.STRING, "the new tag", default="latest", pattern=TAG_PATTERN),
            _bool("force", "read but without effect: 1.2.0 always overwrites"),
        ),
        errata=(
            _reason(201, "OK", "the tag example"),
            _unreachable(400, _BAD_PARAMETER, _E400),
            _unreachable(409, "the tag conflict check is dead code: re-tagging silently overwrites (201)",
                         "notes §5.14, §0.2; [S12 graph/tags.go#L174-L204]"),
            Erratum(
                doc="`tag` has no stated default (the 1.2.0 doc omits `tag` altogether)",
                implementation="an empty `tag` means `latest`; a tag with `/` or `:` answers 500",
                source=f"notes §5.17, §2 tag; {_SRV}#L414-L429]",
            ),
        ),
    ),
    Endpoint(
        id="images.delete",
        method="DELETE",
        path="/images/{name}",
        summary="Remove an image",
        section="Remove an image",
        responses=(Response(200, BodyKind.JSON_LIST, JSON, "ImageDelete"),),
        errors=(404, 409, 500),
        doc_errors=(404, 409, 500),
        params=(
            _bool("force", "remove even when tagged in several repositories or used by a stopped container"),
            _bool("noprune", "keep untagged parents"),
        ),
    ),
    Endpoint(
        id="images.search",
        method="GET",
        path="/images/search",
        summary="Search images on the registry",
        section="Search images",
        responses=(Response(200, BodyKind.JSON_LIST, JSON, "ImageSearch"),),
        errors=(500,),
        doc_errors=(500,),
        params=(Param("term", ParamKind.STRING, "search term", pattern=REGISTRY_REPO, refers="registry"),),
        errata=(
            Erratum(
                doc="results carry `is_automated`",
                implementation="1.2.0 re-encodes registry.SearchResult, whose flag is `is_trusted`",
                source="[S12 registry/types.go#L7]; [S12 registry/service.go Search]",
            ),
        ),
    ),
    Endpoint(
        id="images.get",
        method="GET",
        path="/images/{name}/get",
        summary="Get a tarball of a repository's images and tags",
        section="Get a tarball containing all images and tags in a repository",
        responses=(Response(200, BodyKind.TAR, X_TAR, tar_layout="image"),),
        errors=(404, 500),
        doc_errors=(500,),
        errata=(
            Erratum(
                doc="lists only 500",
                implementation="an unknown name fails before streaming with `No such id: x`, which is 404",
                source=f"{_SRV}#L610-L620]; [S12 graph/export.go, pkg/truncindex]",
            ),
        ),
    ),
    Endpoint(
        id="images.load",
        method="POST",
        path="/images/load",
        summary="Load a tarball of images and tags",
        section="Load a tarball with a set of images and tags into docker",
        responses=(Response(200, BodyKind.EMPTY, TEXT, doc_shows_type=False),),
        errors=(500,),
        doc_errors=(500,),
        body=RequestBody(kind=BodyKind.TAR, required=True),
    ),
    Endpoint(
        id="images.viz",
        method="GET",
        path="/images/viz",
        summary="Image graph, gone from the daemon since v1.7: always 404 in v1.14",
        documented=False,
        responses=(Response(404, BodyKind.TEXT, TEXT),),
        errors=(404,),
        errata=(
            Erratum(
                doc="not documented",
                implementation="1.2.0 still routes it and answers 404 `This is now implemented in the "
                "client.`",
                source=f"notes §1, §5.17; {_SRV}#L260-L267]",
            ),
        ),
    ),
)

# --- misc --------------------------------------------------------------------------------------------

_MISC: tuple[Endpoint, ...] = (
    Endpoint(
        id="system.build",
        method="POST",
        path="/build",
        summary="Build an image from a tar context (or a remote URL)",
        section="Build an image from Dockerfile via stdin",
        responses=(Response(200, BodyKind.JSON_MESSAGES, JSON, "JSONMessage"),),
        errors=(500,),
        doc_errors=(500,),
        params=(
            Param("t", ParamKind.REPO, "repository[:tag] for the result", pattern=REPO_PATTERN),
            Param("remote", ParamKind.STRING, "git or HTTP(S) URL of the context", refers="url"),
            _bool("q", "suppress verbose output"),
            _bool("nocache", "do not use the cache"),
            _bool("rm", "remove intermediate containers after a successful build", default="1"),
            _bool("forcerm", "always remove intermediate containers"),
        ),
        body=RequestBody(kind=BodyKind.TAR, dockerfile_unless="remote"),
        errata=(
            Erratum(
                doc="`**forcerm - …` (unterminated bold in the 1.2.0 doc); Content-type "
                "\"should be application/tar\"; `remote` is missing from the 1.2.0 doc",
                implementation="the request Content-Type is not checked; only `forcerm=1` exactly forces rm "
                "at the handler",
                source=f"notes §5.9; {_SRV}#L913-L978]",
            ),
            Erratum(
                doc='example stream starts `{"stream": "Step 1..."}`',
                implementation="steps are numbered from 0 (`Step 0 : FROM busybox`), with no total",
                source="notes §2 build",
            ),
        ),
    ),
    Endpoint(
        id="system.auth",
        method="POST",
        path="/auth",
        summary="Check registry credentials",
        section="Check auth configuration",
        responses=(
            Response(200, BodyKind.JSON_OBJECT, JSON, "AuthStatus", doc_shows_type=False),
            Response(204, BodyKind.NONE),
        ),
        errors=(401, 403, 500),
        doc_errors=(500,),
        body=RequestBody(kind=BodyKind.JSON_OBJECT, fields=_AUTH_FIELDS, schema="AuthConfig"),
        errata=(
            Erratum(
                doc='request example has broken quoting (`"password:"xxxx"`); the 200 response shows no '
                "body",
                implementation='200 carries `{"Status":"Login Succeeded"}` (204 when the login returns no '
                "status text)",
                source=f"notes §5.7, §2 auth; {_SRV}#L122-L143]",
            ),
            Erratum(
                doc="lists only 500 as an error",
                implementation="`Wrong login/password` answers 401 and `… hasn't been activated` 403",
                source="notes §0.2, §2 auth",
            ),
        ),
    ),
    Endpoint(
        id="system.info",
        method="GET",
        path="/info",
        summary="Display system-wide information",
        section="Display system-wide information",
        responses=(Response(200, BodyKind.JSON_OBJECT, JSON, "Info"),),
        errors=(),
        doc_errors=(500,),
        errata=(
            Erratum(
                doc="example lacks a comma after KernelVersion, shows IndexServerAddress as a list, the "
                "flags as true/false, and (1.2.0 doc, change log v1.13) a `Sockets` key",
                implementation="IndexServerAddress is a string; Debug, IPv4Forwarding, MemoryLimit and "
                "SwapLimit are 0/1 integers; DriverStatus, OperatingSystem and InitSha1 are also sent; "
                "there is no Sockets key",
                source="notes §5.6, §5.20; [S12 daemon/info.go]",
            ),
            Erratum(
                doc="lists 500",
                implementation="status 200 is written before the info job runs, so a failure can only "
                "appear in the body",
                source="notes §0.6; [S12 engine/http.go]",
            ),
        ),
    ),
    Endpoint(
        id="system.version",
        method="GET",
        path="/version",
        summary="Show the docker version information",
        section="Show the docker version information",
        responses=(Response(200, BodyKind.JSON_OBJECT, JSON, "Version"),),
        errors=(),
        doc_errors=(500,),
        errata=(
            Erratum(
                doc='example is stale: `"ApiVersion":"1.12"`, `"Version":"0.2.2"`, `"GoVersion":"go1.0.3"`, '
                "and lacks Os, Arch and KernelVersion",
                implementation='`"ApiVersion":"1.14"`, `"Version":"1.2.0"`, plus Os, Arch and (when the '
                "kernel version can be read) KernelVersion",
                source="notes §5.8; [S12 builtins/builtins.go#L60-L75]",
            ),
            Erratum(
                doc="lists 500",
                implementation="status 200 is written before the version job runs",
                source="notes §0.6; [S12 engine/http.go]",
            ),
        ),
    ),
    Endpoint(
        id="system.ping",
        method="GET",
        path="/_ping",
        summary="Ping the docker server",
        section="Ping the docker server",
        responses=(Response(200, BodyKind.TEXT, TEXT, text="OK"),),
        errors=(),
        doc_errors=(500,),
        errata=(
            Erratum(
                doc="lists 500",
                implementation="the handler only writes `OK`; its one error (a failed write) cannot reach "
                "the client; the Content-Type is Go's sniffed text/plain; charset=utf-8",
                source=f"notes §2 ping; {_SRV}#L1028-L1031]",
            ),
        ),
    ),
    Endpoint(
        id="system.commit",
        method="POST",
        path="/commit",
        summary="Create a new image from a container's changes",
        section="Create a new image from a container's changes",
        responses=(Response(201, BodyKind.JSON_OBJECT, JSON, "CommitResult"),),
        errors=(404, 500),
        doc_errors=(404, 500),
        params=(
            Param("container", ParamKind.STRING, "source container", required=True, refers="container"),
            Param("repo", ParamKind.REPO, "repository", pattern=REPO_PATTERN),
            Param("tag", ParamKind.STRING, "tag", pattern=TAG_PATTERN),
            Param("comment", ParamKind.STRING, "commit message"),
            Param("m", ParamKind.STRING, "the 1.2.0 doc's name for comment; never read", read=False),
            Param("author", ParamKind.STRING, "author", pattern=r"[A-Za-z ]{1,12}( <[a-z]{1,8}@[a-z]{1,8}\.org>)?"),
            _bool("pause", "pause the container while committing", documented=False, default="1"),
        ),
        # decode errors are only logged: a broken body commits with an empty config
        body=RequestBody(kind=BodyKind.JSON_OBJECT, fields=_CONFIG_FIELDS, schema="ContainerConfig"),
        errata=(
            Erratum(
                doc="the 1.2.0 doc documents `m` for the message (the shipped page has `comment`)",
                implementation="the message is read from `comment`; `m` is ignored",
                source=f"notes §5.15; {_SRV}#L431-L463]",
            ),
            Erratum(
                doc="does not document `pause`",
                implementation="`pause` is read; empty or absent means true (v1.13 and later)",
                source=f"notes §5.15; {_SRV}#L445-L449]",
            ),
            Erratum(
                doc="the 1.2.0 doc's request example uses `DisableNetwork` (the shipped page has "
                "`NetworkDisabled`)",
                implementation="the key is `NetworkDisabled`",
                source="notes §5.2",
            ),
            Erratum(
                doc="response example shows `Content-Type: application/vnd.docker.raw-stream` (and `201 OK` "
                "in the 1.2.0 doc)",
                implementation="201 Created with Content-Type application/json",
                source=f"notes §5.10; {_SRV}#L461-L462]",
            ),
        ),
    ),
    Endpoint(
        id="system.events",
        method="GET",
        path="/events",
        summary="Monitor events, live or replayed since a time",
        section="Monitor Docker's events",
        responses=(Response(200, BodyKind.EVENTS, JSON, "Event"),),
        errors=(500,),
        doc_errors=(500,),
        params=(
            Param("since", ParamKind.INT, "unix time: replay buffered events (the last 64) from then", minimum=0,
                  maximum=2_000_000_000),
            Param("until", ParamKind.INT, "unix time: end the stream then", minimum=0, maximum=2_000_000_000),
        ),
        errata=(
            Erratum(
                doc="one event object per line",
                implementation="events are written back to back with no separator",
                source="notes §5.21; [S12 events/events.go#L100-L109]",
            ),
        ),
    ),
    Endpoint(
        id="system.options",
        method="OPTIONS",
        path="{path}",
        summary="CORS preflight: OPTIONS on any path",
        documented=False,
        responses=(Response(200, BodyKind.EMPTY, TEXT, doc_shows_type=False),),
        errors=(),
        errata=(
            Erratum(
                doc="mentioned only through CORS (`--api-enable-cors`)",
                implementation="OPTIONS on any path, with or without a version, answers 200 with an empty "
                "body, whether CORS is enabled or not",
                source=f"notes §0.1, §0.7; {_SRV}#L1144-L1146, #L1160-L1162]",
            ),
        ),
    ),
)

# --- 1.2.0's answer per cause (notes §0.2, §2, §6.2's 1.2.0 column) -----------------------------------

_PLAIN = "text/plain; charset=utf-8"
_GO_JSON_ERROR = r"(json: .+|unexpected EOF|invalid character .+|EOF)"
_NO_SUCH_CONTAINER = Outcome(Cause.UNKNOWN_CONTAINER, 404, r"No such container: .+", "notes §0.2")
_NO_SUCH_IMAGE = Outcome(Cause.UNKNOWN_IMAGE, 404, r"No such image: .+", "notes §2 images")
_BAD_REPO = Outcome(Cause.BAD_REFERENCE, 500, r"Invalid repository name \(.*\), only \[a-z0-9-_.\] are allowed",
                    "notes §2 tag; [S12 registry/registry.go validateRepositoryName]")
_BAD_TAG = Outcome(Cause.BAD_PARAMETER, 500, r"Illegal tag name: .+", "notes §2 tag", when="tag")
_NOT_MODIFIED = "notes §0.2 (304: no body, no Content-Type)"


def _state(status: int, message: str, *states: str, source: str = "notes §2, §6.2",
           unless: str = "") -> tuple[Outcome, ...]:
    ct = None if status in (204, 304) else _PLAIN
    return tuple(Outcome(Cause.STATE, status, message, source, when=s, content_type=ct, unless=unless)
                 for s in states)


def _in_band(cause: Cause, message: str, source: str, when: str = "") -> Outcome:
    """An error after the JSON-message stream began: 200, then `{"errorDetail":…,"error":…}` (notes §3.4)."""
    return Outcome(cause, 200, r'.*\{"errorDetail":\{"message":"' + message + r'"\},"error":"' + message + r'"\}\r',
                   source, when=when, content_type="application/json")


_OUTCOMES: dict[str, tuple[Outcome, ...]] = {
    "containers.list": (
        Outcome(Cause.BAD_PARAMETER, 500, r".+", "notes §0.3 (filters JSON, exited ints)", when="filters"),
        Outcome(Cause.UNKNOWN_CONTAINER, 500, r"Could not find container with name or id .+",
                "[S12 daemon/list.go]"),
    ),
    "containers.create": (
        Outcome(Cause.UNKNOWN_IMAGE, 404, r"No such image: .+ \(tag: .+\)", "notes §5.13"),
        Outcome(Cause.NAME_CONFLICT, 409, r"Conflict, The name .+ is already assigned to [0-9a-f]{12}\. You have to "
                r"delete \(or rename\) that container to be able to assign .+ to a container again\.",
                "notes §0.2; [S12 daemon/daemon.go#L461]"),
        Outcome(Cause.BAD_PARAMETER, 500, r"Invalid container name \(.*\), only \[a-zA-Z0-9_.-\] are allowed",
                "notes §2 create, §6.2 (20.10: 400)", when="name"),
        Outcome(Cause.BAD_PARAMETER, 500, r"Minimum memory limit allowed is 512k", "notes §2 create",
                when="Memory"),
        Outcome(Cause.MISSING_PARAMETER, 500, r"prefix can't be empty", "notes §6.2 (create w/o Image)",
                when="Image"),
        Outcome(Cause.BAD_BODY, 500, _GO_JSON_ERROR, "notes §0.4"),
        Outcome(Cause.MISSING_BODY, 500, r"EOF", "notes §0.3"),
        # the handler never looks at the Content-Type: a wrong one is accepted (20.10: 400)
        Outcome(Cause.CONTENT_TYPE, 201, r'\{"Id":"[0-9a-f]{64}","Warnings":null\}', "notes §4.1, §6.2",
                content_type="application/json"),
    ),
    "containers.top": _state(500, r"Container .+ is not running", "created", "exited"),
    "containers.logs": (
        Outcome(Cause.MISSING_PARAMETER, 400, r"Bad parameters: you must choose at least one stream",
                "notes §0.2, §2 logs", when="stdout"),
    ),
    "containers.start": (
        Outcome(Cause.CONTENT_TYPE, 500, r"Content-Type of application/json is required", "notes §4.1, §6.2"),
        Outcome(Cause.BAD_BODY, 500, _GO_JSON_ERROR, "notes §0.4"),
        Outcome(Cause.UNKNOWN_CONTAINER, 406, r"Cannot start container .+: Container .+ not found\. Impossible to "
                r"mount its volumes", "notes §0.2; [S12 daemon/volumes.go#L101]", when="VolumesFrom"),
        Outcome(Cause.UNKNOWN_CONTAINER, 500, r"Could not get container for .+", "[S12 daemon/start.go links]",
                when="Links"),
        *_state(304, "", "running", "paused", source=_NOT_MODIFIED),
    ),
    "containers.stop": _state(304, "", "created", "exited", source=_NOT_MODIFIED),
    "containers.kill": (
        Outcome(Cause.BAD_PARAMETER, 500, r"Invalid signal: .+", "notes §6.2 (20.10: 400)", when="signal"),
        *_state(204, "", "created", "exited", source="notes §6.2 (kill stopped: 204; 409 at >= 1.20)"),
    ),
    "containers.pause": (
        *_state(500, r"Cannot pause container .+: Container [0-9a-f]{64} is already paused", "paused"),
        *_state(500, r"Cannot pause container .+: Container [0-9a-f]{64} is not running", "created", "exited"),
    ),
    "containers.unpause": _state(500, r"Cannot unpause container .+: Container [0-9a-f]{64} is not paused",
                                 "created", "running", "exited"),
    "containers.wait": (
        Outcome(Cause.UNKNOWN_CONTAINER, 500, r"wait: no such container: .+", "notes §0.2, §5.14"),
    ),
    "containers.delete": (
        *_state(500, r"You cannot remove a running container\. Stop the container before attempting removal or "
                r"use -f", "running", "paused", source="notes §2 delete, §6.2 (20.10: 409)",
                unless="force"),
        Outcome(Cause.NAME_CONFLICT, 409, r"Conflict, cannot remove the default name of the container",
                "notes §0.2", when="link"),
    ),
    "containers.copy": (
        Outcome(Cause.UNKNOWN_CONTAINER, 404, r"", "notes §2 copy, §6.2 (404, empty body)"),
        Outcome(Cause.UNKNOWN_PATH, 500, r"Could not find the file /.+ in container .+", "notes §6.2 (20.10: 404)"),
        Outcome(Cause.CONTENT_TYPE, 500, r"Content-Type not supported: .*", "notes §4.1"),
        Outcome(Cause.MISSING_BODY, 500, r"EOF", "notes §0.4"),
        Outcome(Cause.BAD_BODY, 500, _GO_JSON_ERROR, "notes §0.4"),
        Outcome(Cause.MISSING_PARAMETER, 500, r"Path cannot be empty", "[S12 server.go postContainersCopy]",
                when="Resource"),
    ),
    "containers.resize": (
        Outcome(Cause.BAD_PARAMETER, 500, r'strconv\.ParseInt: parsing ".*": (invalid syntax|value out of range)',
                "notes §0.3, §6.2 (20.10: 400)"),
        Outcome(Cause.MISSING_PARAMETER, 500, r'strconv\.ParseInt: parsing "": invalid syntax', "notes §0.3"),
    ),
    "images.list": (Outcome(Cause.BAD_PARAMETER, 500, r".+", "notes §2 images/json", when="filters"),),
    "images.create": (
        Outcome(Cause.NO_REGISTRY, 500, r"Invalid Registry endpoint: .+", "notes §2 images/create (fails before "
                "anything is written: plain text)", when="fromImage"),
        _in_band(Cause.NO_REGISTRY, r"[^\"]+", "notes §2 images/create, §3.4", when="fromSrc"),
        Outcome(Cause.BAD_BODY, 500, r"Error processing tar file.*", "notes §2 images/create"),
    ),
    "images.inspect": (_NO_SUCH_IMAGE, replace(_NO_SUCH_IMAGE, cause=Cause.BAD_REFERENCE)),
    "images.history": (_NO_SUCH_IMAGE, replace(_NO_SUCH_IMAGE, cause=Cause.BAD_REFERENCE)),
    "images.get": (_NO_SUCH_IMAGE, replace(_NO_SUCH_IMAGE, cause=Cause.BAD_REFERENCE)),
    "images.delete": (
        _NO_SUCH_IMAGE, replace(_NO_SUCH_IMAGE, cause=Cause.BAD_REFERENCE),
        Outcome(Cause.IN_USE, 409, r"Conflict, cannot delete .+", "notes §2 images delete"),
    ),
    "images.push": (
        _in_band(Cause.UNKNOWN_IMAGE, r"no such id: [^\"]+", "[S12 graph/push.go]; notes §3.4"),
        Outcome(Cause.NO_REGISTRY, 500, r"Invalid Registry endpoint: .+", "notes §2 push (before any write)"),
        Outcome(Cause.MISSING_BODY, 500, r"EOF", "notes §2 push (20.10: 400)"),
    ),
    "images.tag": (
        Outcome(Cause.UNKNOWN_IMAGE, 404, r"No such id: .+", "notes §2 tag"),
        # the image in the path is looked up, never parsed: a reference nothing can match is unknown
        Outcome(Cause.BAD_REFERENCE, 404, r"No such id: .+", "notes §2 tag; [S12 graph/tags.go LookupImage]",
                when="{name}"),
        Outcome(Cause.MISSING_PARAMETER, 500, r"Repository name can't be empty", "notes §2 tag", when="repo"),
        _BAD_REPO, _BAD_TAG,
    ),
    "images.search": (
        Outcome(Cause.NO_REGISTRY, 500, r"Get https://[^/]+/v1/search\?q=.*: .+", "notes §2 search"),
    ),
    "images.load": (
        Outcome(Cause.BAD_BODY, 500, r"Error processing tar file.*", "notes §2 load, §6.2"),
        Outcome(Cause.MISSING_BODY, 200, r"", "notes §2 load (an empty tar loads nothing)"),
    ),
    "system.build": (
        Outcome(Cause.MISSING_BODY, 500, r"Can't build a directory with no Dockerfile", "[S12 builder]"),
        Outcome(Cause.NO_REGISTRY, 500, r"Error trying to use git: .+", "notes §2 build (remote)", when="remote"),
    ),
    "system.auth": (
        Outcome(Cause.NO_REGISTRY, 500, r"(Invalid Registry endpoint|Server Error): .+", "notes §2 auth"),
        # undecodable bodies are an empty config, which then fails at the default registry
        Outcome(Cause.BAD_BODY, 500, r"Server Error: Post https://[^/]+/v1/users/: .+", "notes §2 auth"),
    ),
    "system.commit": (
        _NO_SUCH_CONTAINER,
        Outcome(Cause.MISSING_PARAMETER, 404, r"No such container: ", "notes §2 commit", when="container"),
        _BAD_REPO, _BAD_TAG,
        Outcome(Cause.BAD_BODY, 201, r'\{"Id":"[0-9a-f]{64}"\}', "notes §2 commit (decode errors only logged)",
                content_type="application/json"),
    ),
}

# Every route: a version prefix above 1.14 is refused before routing (notes §0.1).
TOO_NEW_VERSION = Outcome(Cause.TOO_NEW_VERSION, 404,
                          r"client and server don't have same version \(client : [0-9.]+, server: 1\.14\)",
                          "notes §0.1")


def _with_outcomes(ep: Endpoint) -> Endpoint:
    """Attach the per-cause answers; a route with a container or image in its path also answers the
    unknown-reference cause the way its family does, unless it says otherwise."""
    own = _OUTCOMES.get(ep.id, ())
    causes = {(o.cause, o.when) for o in own}
    derived: list[Outcome] = []
    if "{id}" in ep.path and (Cause.UNKNOWN_CONTAINER, "") not in causes:
        derived.append(_NO_SUCH_CONTAINER)
    if ep.method != "OPTIONS":
        derived.append(TOO_NEW_VERSION)
    else:  # optionsHandler is not wrapped by the version check: any prefix, any path, 200 empty
        derived.append(Outcome(Cause.TOO_NEW_VERSION, 200, "", f"notes §0.1; {_SRV}#L1144-L1146]"))
    return replace(ep, outcomes=own + tuple(derived))


ENDPOINTS: tuple[Endpoint, ...] = tuple(_with_outcomes(e) for e in _CONTAINERS + _IMAGES + _MISC)
assert not set(_OUTCOMES) - {e.id for e in ENDPOINTS}, "outcomes for an unknown endpoint"

def _family(root: str, summary: str, since: str) -> tuple[LaterRoute, LaterRoute]:
    """A later API's resource root and everything below it, any method."""
    return (LaterRoute("*", root, summary, since), LaterRoute("*", root + "/{rest}", summary, since))


# Routes later API versions added; a v1.14 server answers them 404 `404 page not found`. Versions from
# the per-version docs and change log in moby/moby api/docs. Specific routes come before the families
# that would also match them.
LATER_ROUTES: tuple[LaterRoute, ...] = (
    LaterRoute("HEAD", "/_ping", "Ping with HEAD", "1.40"),
    LaterRoute("POST", "/containers/{id}/exec", "Create an exec instance", "1.15"),
    LaterRoute("POST", "/exec/{id}/start", "Start an exec instance", "1.15", hijacked=True),
    LaterRoute("POST", "/exec/{id}/resize", "Resize an exec instance's TTY", "1.15"),
    LaterRoute("GET", "/exec/{id}/json", "Inspect an exec instance", "1.16"),
    LaterRoute("GET", "/images/get", "Export several images in one tarball", "1.15", body=BodyKind.TAR,
               tar_layout="image"),
    LaterRoute("GET", "/containers/{id}/stats", "Container resource usage statistics", "1.17"),
    LaterRoute("POST", "/containers/{id}/rename", "Rename a container", "1.17"),
    LaterRoute("GET", "/containers/{id}/archive", "Get an archive of a path in a container", "1.20",
               body=BodyKind.TAR),
    LaterRoute("HEAD", "/containers/{id}/archive", "Stat a path in a container", "1.20"),
    LaterRoute("PUT", "/containers/{id}/archive", "Extract an archive into a container", "1.20"),
    LaterRoute("POST", "/containers/{id}/update", "Update a container's resources", "1.22"),
    LaterRoute("POST", "/containers/prune", "Delete stopped containers", "1.25"),
    LaterRoute("POST", "/images/prune", "Delete unused images", "1.25"),
    LaterRoute("POST", "/networks/prune", "Delete unused networks", "1.25"),
    LaterRoute("POST", "/volumes/prune", "Delete unused volumes", "1.25"),
    LaterRoute("POST", "/build/prune", "Delete the build cache", "1.31"),
    LaterRoute("GET", "/system/df", "Data usage", "1.25"),
    LaterRoute("GET", "/images/{name}/attestations", "Image attestations", "1.55"),
    LaterRoute("GET", "/distribution/{name}/json", "Registry-side image information", "1.30"),
    LaterRoute("POST", "/session", "Interactive session (BuildKit)", "1.31"),
    *_family("/networks", "Networks", "1.21"),
    *_family("/volumes", "Volumes", "1.21"),
    *_family("/swarm", "Swarm", "1.24"),
    *_family("/services", "Swarm services", "1.24"),
    *_family("/nodes", "Swarm nodes", "1.24"),
    *_family("/tasks", "Swarm tasks", "1.24"),
    *_family("/plugins", "Plugins", "1.24"),
    *_family("/secrets", "Swarm secrets", "1.25"),
    *_family("/configs", "Swarm configs", "1.30"),
)
