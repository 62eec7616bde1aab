"""Image endpoints and commit (notes §2 Images, commit). The registry is never reachable: pull, push,
search and auth answer as 1.2.0 did when the index could not be resolved."""

from __future__ import annotations

import base64
import fnmatch
import io
import posixpath
import tarfile

from .app import Call, route
from .encoding import Env, error_message, go_dumps, go_json_error, json_message, status_message
from .errors import DaemonError
from .fs import layer_to_tar, unpack_layer
from .gojson import GoJsonError, StructDecoder, unmarshal
from .images import DEFAULT_TAG, Image, default_config, parse_repository_tag
from .routes_containers import decode_body, load_json
from .tarballs import TAR_ERRORS, members, off_loop

INDEX = "https://index.docker.io/v1/"


def _offline(url: str) -> str:
    host = url.split("/")[2].split(":")[0]
    return f"dial tcp: lookup {host}: no such host"


def _registry_host(name: str) -> str | None:
    """The private registry a repository name points at, or None for the index."""
    first, sep, _ = name.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        return first
    return None


class JsonMessages:
    """A JSON-message stream: headers go out with the first message; errors before that are plain text."""

    def __init__(self, call: Call):
        self.call = call
        self.started = False

    async def send(self, data: bytes) -> None:
        if not self.started:
            await self.call.begin_stream(200, None if self.call.deviant("json-no-content-type")
                                         else "application/json")
            self.started = True
        await self.call.write(data)

    async def fail(self, message: str, code: int = 0) -> None:
        """An error: in-band once the stream has started, else a normal error response."""
        if not self.started:
            raise DaemonError(message)
        if self.call.deviant("jsonmessage-error-only"):
            await self.send(json_message(error=message) + b"\r\n")
        else:
            await self.send(error_message(message, code))
        await self.call.finish()

    async def end(self) -> None:
        if self.started:
            await self.call.finish()
        else:
            await self.call.send_text(200, b"", None)


@route("images.list")
async def list_images(call: Call) -> None:
    images = call.state.images
    tagged_only = True
    if call.param("filters"):
        filters = load_json(call, call.param("filters"))
        if not isinstance(filters, dict) or not all(  # map[string][]string, as containers/json
                isinstance(v, list) and all(isinstance(i, str) for i in v) for v in filters.values()):
            raise DaemonError("json: cannot unmarshal filters into Go value of type filters.Args")
        if any(str(v).lower() == "true" for v in filters.get("dangling") or []):
            tagged_only = False
    pattern = call.param("filter")
    candidates = {i.id: i for i in (images.images.values() if call.flag("all") and tagged_only
                                    else images.heads())}
    lookup: dict[str, tuple[Image, list[str]]] = {}
    for repo in sorted(images.repositories):
        if pattern and not fnmatch.fnmatchcase(repo, pattern):
            continue
        for tag, image_id in sorted(images.repositories[repo].items()):
            if image_id in lookup:
                lookup[image_id][1].append(f"{repo}:{tag}")
                continue
            candidates.pop(image_id, None)
            if tagged_only:
                lookup[image_id] = (images.images[image_id], [f"{repo}:{tag}"])
    rows = list(lookup.values())
    if not pattern:
        rows += [(image, ["<none>:<none>"]) for image in candidates.values()]
    rows.sort(key=lambda r: r[0].created_ns, reverse=True)
    envs = []
    known: dict[str, int] = {}
    for image, tags in rows:
        env = Env().set("ParentId", call.id(image.parent)).set_list("RepoTags", tags)
        env.set("Id", call.id(image.id)).set_int("Created", image.created).set_int("Size", image.size)
        env.set_int("VirtualSize", images.virtual_size(image, known))
        envs.append(env)
    await call.send_json(200, call.table(envs))


@route("images.create")
async def create_image(call: Call) -> None:
    stream = JsonMessages(call)
    from_image, tag = call.param("fromImage"), call.param("tag")
    if from_image:
        if not tag:
            from_image, tag = parse_repository_tag(from_image)
        host = _registry_host(from_image)
        if host is not None:
            raise DaemonError(f"Invalid Registry endpoint: Get https://{host}/v1/_ping: "
                              f"dial tcp: lookup {host.split(':')[0]}: no such host")
        await stream.send(status_message(f"Pulling repository {from_image}"))
        url = f"{INDEX}repositories/{from_image}/images"
        await stream.fail(f"Get {url}: {_offline(url)}")
        return
    source, repo = call.param("fromSrc"), call.param("repo")
    if not tag:
        repo, tag = parse_repository_tag(repo)
    if source != "-":
        url = source if "://" in source else f"http://{source}"
        await stream.send(status_message(f"Downloading from {url}"))
        await stream.fail(f"Get {url}: {_offline(url)}")
        return
    image = await call.state.import_image(call.request.body, repo, tag)
    message = status_message(call.id(image.id))
    if call.deviant("jsonmessage-truncated"):
        message = message[:-6]
    await stream.send(message)
    await stream.end()


@route("images.inspect")
async def inspect_image(call: Call) -> None:
    name = call.var("name")
    image = call.state.images.lookup(name)
    if image is None:
        raise DaemonError(f"No such image: {name}")
    env = Env().set("Id", call.id(image.id)).set("Parent", call.id(image.parent)).set("Comment", image.comment)
    env.set_json("Created", image.to_json()["created"]).set("Container", image.container)
    env.set_json("ContainerConfig", image.container_config).set("DockerVersion", image.docker_version)
    env.set("Author", image.author).set_json("Config", image.config)
    env.set("Architecture", image.architecture).set("Os", image.os).set_int("Size", image.size)
    await call.send_json(200, env.encode())


@route("images.history")
async def history(call: Call) -> None:
    name = call.var("name")
    image = call.state.images.lookup(name)
    if image is None:
        raise DaemonError(f"No such image: {name}")
    envs = []
    for layer in call.state.images.chain(image):
        env = Env().set("Id", call.id(layer.id)).set_int("Created", layer.created)
        env.set("CreatedBy", " ".join(layer.container_config.get("Cmd") or []))
        env.set_list("Tags", call.state.images.names_of(layer.id) or None).set_int("Size", layer.size)
        envs.append(env)
    await call.send_json(200, call.table(envs))


@route("images.push")
async def push(call: Call) -> None:
    name = call.var("name")
    auth = call.request.header("x-registry-auth")
    if auth:
        try:
            unmarshal(base64.urlsafe_b64decode(auth + "=" * (-len(auth) % 4)), call.state.limits.json_depth)
        except (ValueError, TypeError):
            pass  # undecodable: an empty AuthConfig, silently
    else:
        problem = go_json_error(call.request.body, call.state.limits.json_depth)
        if problem is not None:
            raise DaemonError(problem.replace("map[string]interface {}", "registry.AuthConfig"))
    host = _registry_host(name)
    if host is not None:
        raise DaemonError(f"Invalid Registry endpoint: Get https://{host}/v1/_ping: "
                          f"dial tcp: lookup {host.split(':')[0]}: no such host")
    stream = JsonMessages(call)
    tags = call.state.images.repositories.get(name)
    if tags is None:
        image = call.state.images.by_prefix(name) if name else None
        if image is None:
            await stream.send(status_message(f"The push refers to a repository [{name}] (len: 0)"))
            await stream.fail(f"no such id: {name}")
            return
        await stream.send(status_message(f"The push refers to an image: [{name}]"))
        url = f"{INDEX}images/{image.id}/json"
        await stream.fail(f"Put {url}: {_offline(url)}")
        return
    await stream.send(status_message(f"The push refers to a repository [{name}] (len: {len(tags)})"))
    await stream.send(status_message("Sending image list"))
    url = f"{INDEX}repositories/{name}/"
    await stream.fail(f"Put {url}: {_offline(url)}")


@route("images.tag")
async def tag_image(call: Call) -> None:
    call.state.tag_image(call.var("name"), call.param("repo"), call.param("tag"))
    if call.deviant("tag-body"):
        await call.send_text(201, b"OK")
        return
    await call.send_text(201, b"", None)


@route("images.delete")
async def delete_image(call: Call) -> None:
    removed = call.state.delete_image(call.var("name"), call.flag("force"), call.flag("noprune"))
    envs = [Env().set(kind, call.id(value) if kind == "Deleted" else value) for kind, value in removed]
    await call.send_json(200, call.table(envs))


@route("images.search")
async def search(call: Call) -> None:
    url = f"{INDEX}search?q={call.param('term')}"
    raise DaemonError(f"Get {url}: {_offline(url)}")


@route("images.viz")
async def viz(call: Call) -> None:
    raise DaemonError("This is now implemented in the client.", 404)


# --- image tarballs --------------------------------------------------------------------------------------


@route("images.get")
async def get_image(call: Call) -> None:
    name = call.var("name")
    images = call.state.images
    repositories: dict[str, dict[str, str]] = {}
    roots: list[Image] = []
    if name in images.repositories:
        repositories[name] = dict(images.repositories[name])
        roots = [images.images[i] for i in sorted(set(repositories[name].values()))]
    else:
        image = images.lookup(name)
        if image is None:
            raise DaemonError(f"No such image: {name}")
        roots = [image]
        repo, tag = parse_repository_tag(name)
        if tag and repo in images.repositories:
            repositories[repo] = {tag: image.id}
    out = io.BytesIO()
    written: set[str] = set()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.GNU_FORMAT) as tar:
        def add(path: str, data: bytes | None) -> None:
            info = tarfile.TarInfo(path)
            if data is None:
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(info)
            else:
                info.size, info.mode = len(data), 0o644
                tar.addfile(info, io.BytesIO(data))
        for root in roots:
            for layer in images.chain(root):
                if layer.id in written:
                    continue
                written.add(layer.id)
                add(layer.id, None)
                if not call.deviant("image-tar-no-version"):
                    add(f"{layer.id}/VERSION", b"1.0")
                add(f"{layer.id}/json", go_dumps(layer.to_json(), sort_keys=False).encode())
                add(f"{layer.id}/layer.tar", layer_to_tar(layer.layer))
        if repositories:
            add("repositories", go_dumps(repositories, sort_keys=False).encode())
    content_type = "application/json" if call.deviant("get-json-content-type") else "application/x-tar"
    await call.send_text(200, out.getvalue(), content_type)


@route("images.load")
async def load(call: Call) -> None:
    body = call.request.body
    if body.strip(b"\0"):
        try:
            blobs = await off_loop(_files_of, body, call.state.limits.unpacked)
        except TAR_ERRORS as exc:
            raise DaemonError(f"Error processing tar file: {exc}") from None
        await _load_images(call, blobs)
    await call.send_text(200, b"", None)


def _files_of(body: bytes, limit: int) -> dict[str, bytes]:
    return {member.name.strip("./").rstrip("/"): content
            for member, content in members(body, limit) if content is not None}


_REPOSITORIES = ("map", ("map", "string", "graph.Repository"), "map[string]graph.Repository")


async def _load_images(call: Call, blobs: dict[str, bytes]) -> None:
    """graph.CmdLoad: each image directory with its parents first (recursiveLoad), then `repositories`.

    A parent chain that comes back to an image of the same walk is refused before anything of it is
    registered (1.2.0 recursed until its stack overflowed). Images registered before an error stay, as
    they did in 1.2.0. Other requests are served while a layer unpacks.
    """
    images = call.state.images
    limits = call.state.limits
    roots = sorted({posixpath.dirname(p) for p in blobs if posixpath.basename(p) == "json" and posixpath.dirname(p)})
    for root in roots:
        walk: list[Image] = []
        seen: set[str] = set()
        current = root
        while current and current not in images.images:
            if current in seen:
                raise DaemonError(f"Error loading {root}: its parent chain comes back to {current}")
            seen.add(current)
            text = blobs.get(f"{current}/json")
            if text is None:
                raise DaemonError(f"Error loading {current}: image json not found in the tarball")
            image = Image.from_json(text, {}, current, limits.json_depth)
            walk.append(image)
            current = image.parent
        for image in reversed(walk):
            try:
                image.layer = await unpack_layer(blobs.get(f"{image.id}/layer.tar", b""), limits.unpacked)
            except TAR_ERRORS as exc:
                raise DaemonError(f"Error processing tar file: {exc}") from None
            images.add(image)
    if "repositories" in blobs:
        try:
            value = unmarshal(blobs["repositories"], limits.json_depth)
        except GoJsonError as exc:
            raise DaemonError(exc.message) from None
        decoder = StructDecoder()
        repositories = decoder.decode(value, _REPOSITORIES)
        if decoder.error is not None:
            raise DaemonError(decoder.error)
        for repo, tags in (repositories or {}).items():
            for tag, image_id in (tags or {}).items():
                if image_id in images.images:
                    images.tag(repo, tag, image_id)


# --- commit ----------------------------------------------------------------------------------------------


_CONFIG_TYPES = {"Hostname": str, "Domainname": str, "User": str, "Memory": int, "MemorySwap": int,
                 "CpuShares": int, "Cpuset": str, "AttachStdin": bool, "AttachStdout": bool,
                 "AttachStderr": bool, "PortSpecs": list, "ExposedPorts": dict, "Tty": bool, "OpenStdin": bool,
                 "StdinOnce": bool, "Env": list, "Cmd": list, "Image": str, "Volumes": dict,
                 "WorkingDir": str, "Entrypoint": list, "NetworkDisabled": bool, "OnBuild": list}


def _strict_config(body: bytes, max_depth: int) -> dict:
    """config.Decode into runconfig.Config: fields of the wrong type are dropped (the error was only logged)."""
    config = default_config()
    try:
        value = unmarshal(body, max_depth) if body.strip() else {}
    except GoJsonError:
        return config
    if not isinstance(value, dict):
        return config
    for key, kind in _CONFIG_TYPES.items():
        v = value.get(key)
        if v is None or isinstance(v, bool) != (kind is bool):
            continue
        if kind is int and isinstance(v, (int, float)):
            config[key] = StructDecoder().decode(v, "int64")  # Go's ParseInt of the literal; 0 when it fails
        elif isinstance(v, kind):
            config[key] = v
    return config


@route("system.commit")
async def commit(call: Call) -> None:
    image = call.state.commit(call.param("container"), call.param("repo"), call.param("tag") or "",
                              call.param("author"), call.param("comment"),
                              _strict_config(call.request.body, call.state.limits.json_depth))
    await call.send_json(201, Env().set("Id", call.id(image.id)).encode())


__all__ = ["JsonMessages", "DEFAULT_TAG", "decode_body"]
