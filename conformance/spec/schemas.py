"""JSON Schemas (Draft 2020-12) for the JSON bodies of v1.14, in the shapes Docker 1.2.0 produced.

Response schemas require the top-level keys 1.2.0 always sends and check their JSON types; they never
forbid extra keys (the checker reports those as info, using `V114_KEYS`). Nested objects require only
the keys that 1.2.0 and later daemons share, and type-check the rest when present.

Each object also says what the v1.14 doc's example shows of it, so the checker grades by the scheme
(`error`: against the doc and 1.2.0; `warning`: against 1.2.0 where the doc is silent or wrong):
- `x-doc-omits`: keys 1.2.0 sends that the doc's example does not show (notes §5). Missing, or of
  another type, they are a warning (`v114.json.field-missing`, `v114.json.type-drift`), and so is
  anything nested inside them;
- `x-doc-type`: keys the doc shows with another type than 1.2.0's (its booleans for /info's 0/1
  flags, a list for `IndexServerAddress`): a value of the doc's type is a warning, not an error.
Plain JSON Schema validation ignores both: it checks the 1.2.0 shape (the OpenAPI document's view).

Where 1.2.0 itself varies the schemas are tolerant:
- `Env.Encode` re-types any string value that happens to be valid JSON (notes §0.5), so free-text fields
  (`Path`, image `Comment`/`Author`, history `CreatedBy`, `GitCommit`) accept any JSON type;
- `SetList(nil)` is `null`, so lists built from possibly-nil slices accept `null`;
- `SizeRw`/`SizeRootFs` appear only with `size=1`; unpublished ports lack `IP` and `PublicPort`;
  `/version` has `KernelVersion` only when the kernel version could be read.

For stream bodies (`Event`, `JSONMessage`) a schema describes one object of the stream.
"""

from __future__ import annotations

from typing import Any

Schema = dict[str, Any]

_DRAFT = "https://json-schema.org/draft/2020-12/schema"

STRING: Schema = {"type": "string"}
INT: Schema = {"type": "integer"}
BOOL: Schema = {"type": "boolean"}
ANY: Schema = {}
STRINGS: Schema = {"type": "array", "items": STRING}
STRINGS_OR_NULL: Schema = {"type": ["array", "null"], "items": STRING}
OBJECT_OR_NULL: Schema = {"type": ["object", "null"]}
FLAG: Schema = {"type": "integer", "enum": [0, 1]}  # Env.SetBool, re-typed by Env.Encode

DOC_OMITS = "x-doc-omits"  # keys 1.2.0 sends that the doc's example does not show
DOC_TYPE = "x-doc-type"  # keys the doc's example shows with another type: key -> the doc's schema
WHEN_EMPTY = "x-when-empty"  # on a list property: what 1.2.0 sends for an empty one (None: `null`)
WITH_QUERY = "x-with-query"  # on an object: bool query parameter -> keys 1.2.0 then always sends


def _obj(required: tuple[str, ...], properties: dict[str, Schema], *, nullable: bool = False,
         title: str = "", doc_omits: tuple[str, ...] = (), doc_type: dict[str, Schema] | None = None) -> Schema:
    """An object schema; `doc_omits` and `doc_type` say where the doc's example differs (module doc)."""
    unknown = [k for k in (*doc_omits, *(doc_type or {})) if k not in properties]
    if unknown:
        raise ValueError(f"doc markers name keys the object does not have: {unknown}")
    schema: Schema = {"type": ["object", "null"] if nullable else "object", "properties": properties}
    if required:
        schema["required"] = list(required)
    if doc_omits:
        schema[DOC_OMITS] = sorted(doc_omits)
    if doc_type:
        schema[DOC_TYPE] = dict(doc_type)
    if title:
        schema["title"] = title
    return schema


def _top(title: str, schema: Schema) -> Schema:
    return {"$schema": _DRAFT, "title": title, **schema}


# --- container Config / HostConfig (runconfig/config.go, runconfig/hostconfig.go @v1.2.0) -------------

_CONFIG_PROPS: dict[str, Schema] = {
    "Hostname": STRING,
    "Domainname": STRING,
    "User": STRING,
    "Memory": INT,
    "MemorySwap": INT,
    "CpuShares": INT,
    "Cpuset": STRING,
    "AttachStdin": BOOL,
    "AttachStdout": BOOL,
    "AttachStderr": BOOL,
    "PortSpecs": STRINGS_OR_NULL,
    "ExposedPorts": OBJECT_OR_NULL,
    "Tty": BOOL,
    "OpenStdin": BOOL,
    "StdinOnce": BOOL,
    "Env": STRINGS_OR_NULL,
    "Cmd": STRINGS_OR_NULL,
    "Image": STRING,
    "Volumes": OBJECT_OR_NULL,
    "WorkingDir": STRING,
    "Entrypoint": STRINGS_OR_NULL,
    "NetworkDisabled": BOOL,
    "OnBuild": STRINGS_OR_NULL,
}
# Keys every daemon since 1.2.0 sends in a Config (Memory, PortSpecs, ... were dropped or moved later).
_CONFIG_CORE = ("Hostname", "Domainname", "User", "AttachStdin", "AttachStdout", "AttachStderr", "Tty",
                "OpenStdin", "StdinOnce", "Env", "Cmd", "Image", "Volumes", "WorkingDir", "Entrypoint",
                "OnBuild")

_PORT_BINDING: Schema = _obj((), {"HostIp": STRING, "HostPort": STRING})
_PORT_MAP: Schema = {"type": ["object", "null"],
                     "additionalProperties": {"type": ["array", "null"], "items": _PORT_BINDING}}

_HOSTCONFIG_PROPS: dict[str, Schema] = {
    "Binds": STRINGS_OR_NULL,
    "ContainerIDFile": STRING,
    "LxcConf": {"type": ["array", "null"], "items": _obj((), {"Key": STRING, "Value": STRING})},
    "Privileged": BOOL,
    "PortBindings": _PORT_MAP,
    "Links": STRINGS_OR_NULL,
    "PublishAllPorts": BOOL,
    "Dns": STRINGS_OR_NULL,
    "DnsSearch": STRINGS_OR_NULL,
    "VolumesFrom": STRINGS_OR_NULL,
    "Devices": {"type": ["array", "null"],
                "items": _obj((), {"PathOnHost": STRING, "PathInContainer": STRING,
                                   "CgroupPermissions": STRING})},
    "NetworkMode": STRING,
    "CapAdd": STRINGS_OR_NULL,
    "CapDrop": STRINGS_OR_NULL,
    "RestartPolicy": _obj((), {"Name": STRING, "MaximumRetryCount": INT}),
}
# LxcConf is the one 1.2.0 HostConfig key later daemons no longer send.
_HOSTCONFIG_CORE = tuple(k for k in _HOSTCONFIG_PROPS if k != "LxcConf")

# The doc's inspect and image-inspect examples show a Config without these (notes §5.3, §5.4).
_CONFIG_DOC_OMITS = ("Domainname", "CpuShares", "Cpuset", "ExposedPorts", "Entrypoint", "NetworkDisabled",
                     "OnBuild")
# The doc's inspect example shows a HostConfig without these (notes §5.3).
_HOSTCONFIG_DOC_OMITS = ("Dns", "DnsSearch", "VolumesFrom", "Devices", "NetworkMode", "RestartPolicy")

_CONTAINER_CONFIG: Schema = _obj(_CONFIG_CORE, _CONFIG_PROPS, title="Config", doc_omits=_CONFIG_DOC_OMITS)
_HOST_CONFIG: Schema = _obj(_HOSTCONFIG_CORE, _HOSTCONFIG_PROPS, nullable=True, title="HostConfig",
                            doc_omits=_HOSTCONFIG_DOC_OMITS)

# --- responses ---------------------------------------------------------------------------------------

_PORT: Schema = _obj(("PrivatePort", "Type"),
                     {"IP": STRING, "PrivatePort": INT, "PublicPort": INT, "Type": STRING}, doc_omits=("IP",))

_CONTAINER_SUMMARY: Schema = _obj(
    ("Command", "Created", "Id", "Image", "Names", "Ports", "Status"),
    {
        "Command": STRING,  # stored pre-quoted so Env.Encode keeps it a string
        "Created": INT,
        "Id": STRING,
        "Image": STRING,
        "Names": STRINGS_OR_NULL,
        "Ports": {"type": "array", "items": _PORT},
        "Status": STRING,  # "" for a container that never started
        "SizeRw": INT,  # only with size=1
        "SizeRootFs": INT,
    },
    doc_omits=("Names",),  # notes §5.11
)
# 1.2.0 sends both sizes, and only then, when the request asked `size` (the doc's example does too).
_CONTAINER_SUMMARY[WITH_QUERY] = {"size": ["SizeRw", "SizeRootFs"]}

_STATE: Schema = _obj(
    ("Running", "Paused", "Restarting", "Pid", "ExitCode", "StartedAt", "FinishedAt"),
    {"Running": BOOL, "Paused": BOOL, "Restarting": BOOL, "Pid": INT, "ExitCode": INT,
     "StartedAt": STRING, "FinishedAt": STRING},
    title="State",
    doc_omits=("Paused", "Restarting", "FinishedAt"),  # the doc shows `Ghost` instead (notes §5.3)
)

_NETWORK_SETTINGS: Schema = _obj(
    ("IPAddress", "IPPrefixLen", "Gateway", "Bridge", "Ports"),
    {"IPAddress": STRING, "IPPrefixLen": INT, "Gateway": STRING, "Bridge": STRING,
     "PortMapping": OBJECT_OR_NULL, "Ports": _PORT_MAP},
    title="NetworkSettings",
    # the doc spells IpAddress/IpPrefixLen (Go's decoder matches them case-insensitively: shown)
    doc_omits=("Ports",),
)

_CONTAINER_INSPECT: Schema = _obj(
    ("Args", "Config", "Created", "Driver", "ExecDriver", "HostConfig", "HostnamePath", "HostsPath", "Id",
     "Image", "MountLabel", "Name", "NetworkSettings", "Path", "ProcessLabel", "ResolvConfPath", "State",
     "Volumes", "VolumesRW"),
    {
        "Args": STRINGS_OR_NULL,
        "Config": _CONTAINER_CONFIG,
        "Created": STRING,
        "Driver": STRING,
        "ExecDriver": STRING,
        "HostConfig": _HOST_CONFIG,
        "HostnamePath": STRING,
        "HostsPath": STRING,
        "Id": STRING,
        "Image": STRING,
        "MountLabel": STRING,
        "Name": STRING,
        "NetworkSettings": _NETWORK_SETTINGS,
        "Path": ANY,  # plain Set: re-typed when it is valid JSON (e.g. `true`)
        "ProcessLabel": STRING,
        "ResolvConfPath": STRING,
        "State": _STATE,
        "Volumes": {"type": ["object", "null"], "additionalProperties": STRING},
        "VolumesRW": {"type": ["object", "null"], "additionalProperties": BOOL},
    },
    # the doc's example lacks these (notes §5.3)
    doc_omits=("Driver", "ExecDriver", "HostnamePath", "HostsPath", "MountLabel", "Name", "ProcessLabel",
               "VolumesRW"),
)

_IMAGE_SUMMARY: Schema = _obj(
    ("Created", "Id", "ParentId", "RepoTags", "Size", "VirtualSize"),
    {"Created": INT, "Id": STRING, "ParentId": STRING, "RepoTags": STRINGS, "Size": INT,
     "VirtualSize": INT},
)

_IMAGE_INSPECT: Schema = _obj(
    ("Architecture", "Author", "Comment", "Config", "Container", "ContainerConfig", "Created",
     "DockerVersion", "Id", "Os", "Parent", "Size"),
    {
        "Architecture": STRING,
        "Author": ANY,  # free text, re-typed when valid JSON
        "Comment": ANY,
        "Config": {**_CONTAINER_CONFIG, "type": ["object", "null"]},
        "Container": STRING,
        "ContainerConfig": _CONTAINER_CONFIG,
        "Created": STRING,
        "DockerVersion": STRING,
        "Id": STRING,
        "Os": STRING,
        "Parent": STRING,
        "Size": INT,
    },
    doc_omits=("Architecture", "Author", "Comment", "Config", "DockerVersion", "Os"),  # notes §5.4
)

_HISTORY_ENTRY: Schema = _obj(
    ("Created", "CreatedBy", "Id", "Size", "Tags"),
    {"Created": INT, "CreatedBy": ANY, "Id": STRING, "Size": INT, "Tags": STRINGS_OR_NULL},
    doc_omits=("Size", "Tags"),  # the doc shows three fields
)

_DELETE_ENTRY: Schema = {
    "type": "object",
    "properties": {"Untagged": STRING, "Deleted": STRING},
    "anyOf": [{"required": ["Untagged"]}, {"required": ["Deleted"]}],
}

_SEARCH_RESULT: Schema = _obj(
    ("description", "is_official", "name", "star_count"),
    # 1.2.0 copies registry.SearchResult, whose flag is `is_trusted`; the doc and later daemons say
    # `is_automated`. Neither is required.
    {"description": STRING, "is_official": BOOL, "is_trusted": BOOL, "is_automated": BOOL,
     "name": STRING, "star_count": INT},
)

_INFO: Schema = _obj(
    ("Containers", "Debug", "Driver", "DriverStatus", "ExecutionDriver", "IPv4Forwarding", "Images",
     "IndexServerAddress", "InitPath", "InitSha1", "KernelVersion", "MemoryLimit", "NEventsListener", "NFd",
     "NGoroutines", "OperatingSystem", "SwapLimit"),
    {
        "Containers": INT,
        "Debug": FLAG,
        "Driver": STRING,
        "DriverStatus": {"type": ["array", "null"],
                         "items": {"type": "array", "items": STRING, "minItems": 2, "maxItems": 2}},
        "ExecutionDriver": STRING,
        "IPv4Forwarding": FLAG,
        "Images": INT,
        "IndexServerAddress": STRING,
        "InitPath": STRING,
        "InitSha1": STRING,
        "KernelVersion": STRING,
        "MemoryLimit": FLAG,
        "NEventsListener": INT,
        "NFd": INT,
        "NGoroutines": INT,
        "OperatingSystem": STRING,
        "SwapLimit": FLAG,
    },
    doc_omits=("DriverStatus", "InitSha1", "OperatingSystem"),  # notes §5.6
    # the doc shows the flags as booleans and IndexServerAddress as a list (notes §0.5, §5.6)
    doc_type={"Debug": BOOL, "IPv4Forwarding": BOOL, "MemoryLimit": BOOL, "SwapLimit": BOOL,
              "IndexServerAddress": STRINGS},
)

_VERSION: Schema = _obj(
    ("ApiVersion", "Arch", "GitCommit", "GoVersion", "Os", "Version"),
    {"ApiVersion": STRING, "Arch": STRING, "GitCommit": {"type": ["string", "number"]},
     "GoVersion": STRING, "KernelVersion": STRING, "Os": STRING, "Version": STRING},
    doc_omits=("Arch", "Os"),  # notes §5.8 (KernelVersion is not required: 1.2.0 may leave it out)
)

_EVENT: Schema = _obj(
    ("status", "id", "time"),
    {"status": STRING, "id": STRING, "from": STRING, "time": INT},
)

_JSON_MESSAGE: Schema = _obj(
    (),
    {
        "stream": STRING,
        "status": STRING,
        "progressDetail": _obj((), {"current": INT, "total": INT, "start": INT}),
        "progress": STRING,
        "id": STRING,
        "from": STRING,
        "time": INT,
        "errorDetail": _obj((), {"code": INT, "message": STRING}),
        "error": STRING,
    },
)

RESPONSE_SCHEMAS: dict[str, Schema] = {
    "ContainerList": _top("GET /containers/json", {"type": "array", "items": _CONTAINER_SUMMARY}),
    "ContainerCreated": _top("POST /containers/create 201", _obj(
        # SetList(nil): no warnings is `null` (notes §0.5); the doc's example shows `[]` (notes §5.1)
        ("Id", "Warnings"), {"Id": STRING, "Warnings": {**STRINGS_OR_NULL, WHEN_EMPTY: None}})),
    "ContainerInspect": _top("GET /containers/{id}/json", _CONTAINER_INSPECT),
    "ContainerTop": _top("GET /containers/{id}/top", _obj(
        ("Processes", "Titles"),
        {"Processes": {"type": "array", "items": STRINGS}, "Titles": STRINGS})),
    "ContainerChanges": _top("GET /containers/{id}/changes", {
        "type": "array",
        "items": _obj(("Kind", "Path"), {"Kind": {"type": "integer", "enum": [0, 1, 2]}, "Path": STRING}),
    }),
    "ContainerWait": _top("POST /containers/{id}/wait", _obj(("StatusCode",), {"StatusCode": INT})),
    "ImageList": _top("GET /images/json", {"type": "array", "items": _IMAGE_SUMMARY}),
    "ImageInspect": _top("GET /images/{name}/json", _IMAGE_INSPECT),
    "ImageHistory": _top("GET /images/{name}/history", {"type": "array", "items": _HISTORY_ENTRY}),
    "ImageDelete": _top("DELETE /images/{name}", {"type": "array", "items": _DELETE_ENTRY}),
    "ImageSearch": _top("GET /images/search", {"type": "array", "items": _SEARCH_RESULT}),
    "Info": _top("GET /info", _INFO),
    "Version": _top("GET /version", _VERSION),
    "CommitResult": _top("POST /commit 201", _obj(("Id",), {"Id": STRING})),
    # the doc's 200 example has no body at all
    "AuthStatus": _top("POST /auth 200", _obj(("Status",), {"Status": STRING}, doc_omits=("Status",))),
    "Event": _top("one object of GET /events", _EVENT),
    "JSONMessage": _top("one object of a pull/push/import/build stream", _JSON_MESSAGE),
}


def _keys(schema: Schema) -> frozenset[str]:
    """Top-level keys 1.2.0 sends: the properties of the object, or of a list's elements."""
    target = schema["items"] if schema.get("type") == "array" else schema
    return frozenset(target.get("properties", {}))


# Top-level keys holding a 64-hex id (no `sha256:` prefix); container inspect's `Image` is one, the
# container list's `Image` is a name (notes §2).
ID_KEYS: dict[str, tuple[str, ...]] = {}
ID_FIELDS = ("Id", "ParentId", "Parent", "Deleted")  # for a body without a named schema too

# Keys 1.2.0 sends at the top level of each response (of each element, for lists). Search results
# list `is_trusted` only: `is_automated` is accepted by the schema but is not a 1.2.0 key.
V114_KEYS: dict[str, frozenset[str]] = {name: _keys(s) for name, s in RESPONSE_SCHEMAS.items()}
V114_KEYS["ImageSearch"] = V114_KEYS["ImageSearch"] - {"is_automated"}
ID_KEYS.update({name: ID_FIELDS for name in RESPONSE_SCHEMAS})
ID_KEYS["ContainerInspect"] = (*ID_FIELDS, "Image")

# --- requests ----------------------------------------------------------------------------------------

_AUTH_CONFIG: Schema = _obj(
    (),
    {"username": STRING, "password": STRING, "auth": STRING, "email": STRING, "serveraddress": STRING},
)

REQUEST_SCHEMAS: dict[str, Schema] = {
    # create: a bare Config; Image is needed in practice (1.2.0 answers 500 `prefix can't be empty`).
    "ContainerCreate": _top("POST /containers/create body", _obj(("Image",), _CONFIG_PROPS)),
    # commit: an optional Config merged into the committed image's config.
    "ContainerConfig": _top("POST /commit body", _obj((), _CONFIG_PROPS)),
    "HostConfig": _top("POST /containers/{id}/start body", _obj((), _HOSTCONFIG_PROPS)),
    "CopyRequest": _top("POST /containers/{id}/copy body", _obj(
        ("Resource",), {"Resource": {"type": "string", "minLength": 1}})),
    "AuthConfig": _top("POST /auth and POST /images/{name}/push body", _AUTH_CONFIG),
}
