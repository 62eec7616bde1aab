"""The daemon's state and its operations, with Docker 1.2.0's rules and error messages.

Everything here runs on the daemon's single event loop: each operation checks and changes state without
awaiting in between, so concurrent clients always see a consistent set of containers, names and images.
"""

from __future__ import annotations

import copy
import itertools
import random
import time

from ..spec.values import NAME_RE, signal_number
from .containers import Container, default_host_config
from .encoding import JobEnv
from .errors import DaemonError
from .events import EventLog
from .fs import ContainerFs, Node, tree_to_tar, unpack_layer
from .gojson import Struct
from .images import DEFAULT_TAG, Image, ImageStore, default_config, new_id, parse_repository_tag, short
from .limits import Limits
from .simulator import executable_error
from .tarballs import TAR_ERRORS

_ADJECTIVES = ("admiring", "agitated", "angry", "backstabbing", "berserk", "boring", "clever", "cocky",
               "compassionate", "condescending", "cranky", "desperate", "determined", "distracted", "dreamy",
               "drunk", "ecstatic", "elated", "elegant", "evil", "fervent", "focused", "furious", "gloomy",
               "goofy", "grave", "happy", "high", "hopeful", "hungry", "insane", "jolly", "jovial", "kickass",
               "lonely", "loving", "mad", "modest", "naughty", "nostalgic", "pensive", "prickly", "reverent",
               "romantic", "sad", "serene", "sharp", "sick", "silly", "sleepy", "stoic", "stupefied",
               "suspicious", "tender", "thirsty", "trusting")
_SURNAMES = ("albattani", "almeida", "archimedes", "ardinghelli", "babbage", "bardeen", "bartik", "bell",
             "blackwell", "bohr", "brattain", "brown", "carson", "colden", "cori", "curie", "darwin",
             "davinci", "einstein", "elion", "engelbart", "euclid", "fermat", "fermi", "feynman", "franklin",
             "galileo", "goldstine", "goodall", "hawking", "heisenberg", "hodgkin", "hoover", "hopper",
             "hypatia", "jones", "kirch", "kowalevski", "lalande", "leakey", "lovelace", "lumiere", "mayer",
             "mccarthy", "mcclintock", "mclean", "meitner", "mestorf", "morse", "newton", "nobel", "pare",
             "pasteur", "perlman", "pike", "poincare", "ptolemy", "ritchie", "rosalind", "sammet", "shockley",
             "sinoussi", "stallman", "tesla", "thompson", "torvalds", "turing", "wilson", "wozniak", "wright",
             "yalow", "yonath")


class NotModified(Exception):
    """start on a running container, stop on a stopped one: 304 with no body."""


_EMPTY_STRUCT = Struct("struct {}", {})
_PORT_SET = ("map", _EMPTY_STRUCT, "map[nat.Port]struct {}")
_VOLUME_SET = ("map", _EMPTY_STRUCT, "map[string]struct {}")
_PORT_BINDING = Struct("nat.PortBinding", {"HostIp": "string", "HostPort": "string"})
_PORT_MAP = ("map", ("slice", _PORT_BINDING, "[]nat.PortBinding"), "nat.PortMap")
_LXC_CONF = ("slice", Struct("utils.KeyValuePair", {"Key": "string", "Value": "string"}), "[]utils.KeyValuePair")
_DEVICES = ("slice", Struct("runconfig.DeviceMapping", {"PathOnHost": "string", "PathInContainer": "string",
                                                          "CgroupPermissions": "string"}), "[]runconfig.DeviceMapping")
_RESTART_POLICY = Struct("runconfig.RestartPolicy", {"Name": "string", "MaximumRetryCount": "int"})


def config_from_env(env: JobEnv) -> dict:
    """runconfig.ContainerConfigFromJob: the create body read loosely into a Config."""
    config = default_config()
    for key in ("Hostname", "Domainname", "User", "Cpuset", "Image", "WorkingDir"):
        config[key] = env.get(key)
    for key in ("Memory", "MemorySwap", "CpuShares"):
        config[key] = env.get_int(key)
    for key in ("AttachStdin", "AttachStdout", "AttachStderr", "Tty", "OpenStdin", "StdinOnce",
                "NetworkDisabled"):
        config[key] = env.get_bool(key)
    for key, kind in (("ExposedPorts", _PORT_SET), ("Volumes", _VOLUME_SET)):
        value = env.get_typed(key, kind)
        config[key] = {k: {} for k in value} if value else None
    for key in ("PortSpecs", "Env", "Cmd", "Entrypoint"):
        value = env.get_list(key)
        if value is not None:
            config[key] = value
    return config


def host_config_from_env(env: JobEnv) -> dict:
    """runconfig.ContainerHostConfigFromJob: the start body read loosely; type errors in the JSON-valued
    fields are ignored, as GetenvJson ignored them."""
    host = default_host_config()
    host["ContainerIDFile"] = env.get("ContainerIDFile")
    host["NetworkMode"] = env.get("NetworkMode")
    host["Privileged"] = env.get_bool("Privileged")
    host["PublishAllPorts"] = env.get_bool("PublishAllPorts")
    for key in ("Binds", "Links", "Dns", "DnsSearch", "VolumesFrom", "CapAdd", "CapDrop"):
        host[key] = env.get_list(key)
    host["LxcConf"] = env.get_typed("LxcConf", _LXC_CONF) or None
    host["PortBindings"] = env.get_typed("PortBindings", _PORT_MAP)
    host["Devices"] = env.get_typed("Devices", _DEVICES) or None
    host["RestartPolicy"] = env.get_typed("RestartPolicy", _RESTART_POLICY)
    return host


def merge_config(user: dict, image: dict | None) -> None:
    """runconfig.Merge: fill what the user left empty from the image's config."""
    if not image:
        return
    for key in ("User", "Hostname", "Domainname", "WorkingDir"):
        if not user.get(key) and image.get(key):
            user[key] = image[key]
    for key in ("Memory", "MemorySwap", "CpuShares"):
        if not user.get(key) and image.get(key):
            user[key] = image[key]
    for key in ("Tty", "OpenStdin", "StdinOnce", "AttachStdin", "AttachStdout", "AttachStderr"):
        if not user.get(key) and image.get(key):
            user[key] = image[key]
    for key in ("ExposedPorts", "Volumes"):
        if image.get(key):
            user[key] = {**image[key], **(user.get(key) or {})}
    if not user.get("PortSpecs") and image.get("PortSpecs"):
        user["PortSpecs"] = image["PortSpecs"]
    if not user.get("Env"):
        user["Env"] = image.get("Env")
    else:
        keys = {e.split("=", 1)[0] for e in user["Env"]}
        user["Env"] = user["Env"] + [e for e in image.get("Env") or [] if e.split("=", 1)[0] not in keys]
    if not user.get("Entrypoint"):
        if not user.get("Cmd"):
            user["Cmd"] = image.get("Cmd")
        if user.get("Entrypoint") is None:
            user["Entrypoint"] = image.get("Entrypoint")


class DaemonState:
    """Containers, names, images and events of one reference daemon."""

    def __init__(self, limits: Limits | None = None) -> None:
        self.limits = limits or Limits()
        self.images = ImageStore()
        self.containers: dict[str, Container] = {}
        self.names: dict[str, str] = {}  # "/name" and "/parent/alias" -> container id
        self.events = EventLog()
        self._ips = itertools.count(2)
        self._rng = random.Random()

    # --- lookups -----------------------------------------------------------------------------------------
    def find(self, name: str) -> Container | None:
        """daemon.Get: a name (with or without '/') first, then an id or unique id prefix."""
        if not name:
            return None
        full = name if name.startswith("/") else "/" + name
        if full in self.names:
            return self.containers.get(self.names[full])
        if name in self.containers:
            return self.containers[name]
        found = [c for i, c in self.containers.items() if i.startswith(name)]
        return found[0] if len(found) == 1 else None

    def container(self, name: str) -> Container:
        found = self.find(name)
        if found is None:
            raise DaemonError(f"No such container: {name}")
        return found

    def names_of(self, container: Container) -> list[str]:
        links = sorted(n for n, i in self.names.items() if i == container.id and n != container.name)
        return [container.name, *links]

    def links_of(self, container: Container) -> list[str] | None:
        """HostConfig.Links as inspect shows them: `/child:/parent/alias` for this parent's links."""
        prefix = container.name + "/"
        out = [f"{self.containers[i].name}:{n}" for n, i in sorted(self.names.items())
               if n.startswith(prefix) and i in self.containers]
        return out or None

    def image_name(self, image_id: str) -> str:
        return self.images.display_name(image_id)

    def _event(self, status: str, container: Container) -> None:
        self.events.emit(status, container.id, self.image_name(container.image_id))

    # --- containers ----------------------------------------------------------------------------------------
    def _generate_name(self) -> str:
        for _ in range(1000):
            name = f"/{self._rng.choice(_ADJECTIVES)}_{self._rng.choice(_SURNAMES)}"
            if name not in self.names:
                return name
        return f"/container_{new_id()[:12]}"

    def create(self, env: JobEnv, name: str) -> tuple[Container, list[str] | None]:
        config = config_from_env(env)
        if config["Memory"] != 0 and config["Memory"] < 524288:
            raise DaemonError("Minimum memory limit allowed is 512k")
        image = self.images.lookup(config["Image"])
        if image is None:
            tag = parse_repository_tag(config["Image"])[1] or DEFAULT_TAG
            raise DaemonError(f"No such image: {config['Image']} (tag: {tag})")
        merge_config(config, image.config)
        if not config.get("Entrypoint") and not config.get("Cmd"):
            raise DaemonError("No command specified")
        warnings = None
        if any(":" in p for p in config.get("PortSpecs") or []):
            warnings = ["The mapping to public ports on your host via Dockerfile EXPOSE (host:port:port) has "
                        "been deprecated. Use -p to publish the ports."]
        return self.create_from_config(config, image, name), warnings

    def create_from_config(self, config: dict, image: Image, name: str = "") -> Container:
        """newContainer: reserve the name, pick the id, set up the filesystem; emits `create`."""
        if name:
            if not NAME_RE.match(name):
                raise DaemonError(f"Invalid container name ({name}), only [a-zA-Z0-9_.-] are allowed")
            full = name if name.startswith("/") else "/" + name
            if full in self.names:
                bare = full[1:]
                raise DaemonError(
                    f"Conflict, The name {bare} is already assigned to {short(self.names[full])}. You have to "
                    f"delete (or rename) that container to be able to assign {bare} to a container again.")
        else:
            full = self._generate_name()
        container_id = new_id()
        if not config["Hostname"]:
            config["Hostname"] = container_id[:12]
        argv = (config.get("Entrypoint") or []) + (config.get("Cmd") or [])
        container = Container(
            id=container_id, name=full, image_id=image.id, config=config, path=argv[0], args=argv[1:],
            fs=ContainerFs(self.images.tree(image)))
        container.on_exit = self._exited
        self.containers[container.id] = container
        self.names[full] = container.id
        self._event("create", container)
        return container

    def _exited(self, container: Container) -> None:
        if container.id in self.containers:
            self._event("die", container)

    def start(self, name: str, host_config: dict | None) -> Container:
        container = self.container(name)
        if container.state.running:
            raise NotModified
        if host_config is not None:
            container.host_config = host_config
        host = container.host_config
        for link in host.get("Links") or []:
            child_name, _, alias = link.partition(":")
            child = self.find(child_name)
            if child is None:
                raise DaemonError(f"Could not get container for {child_name}")
            if not child.state.running:
                raise DaemonError(f"Cannot start container {name}: Cannot link to a non running container: "
                                  f"{child.name} AS {container.name}/{alias or child_name}")
            self.names[f"{container.name}/{alias or child_name}"] = child.id
        for source in host.get("VolumesFrom") or []:
            source_name = source.split(":")[0]
            if self.find(source_name) is None:
                raise DaemonError(f"Cannot start container {name}: Container {source_name} not found. "
                                  "Impossible to mount its volumes")
        problem = executable_error(container.argv)
        if problem is not None:
            container.state.exit_code = -1
            raise DaemonError(f"Cannot start container {name}: {problem}")
        if not container.ip_suffix:
            container.ip_suffix = next(self._ips)
        container.launch()
        self._event("start", container)
        return container

    async def _halt(self, container: Container, seconds: int) -> None:
        """Container.Stop: SIGTERM, then SIGKILL once the grace period is over."""
        await container.signal(15)
        if container.state.running and not await container.wait(max(seconds, 0)):
            await container.signal(9)

    async def stop(self, name: str, seconds: int) -> None:
        container = self.container(name)
        if not container.state.running:
            raise NotModified
        await self._halt(container, seconds)
        self._event("stop", container)

    async def restart(self, name: str, seconds: int) -> None:
        container = self.container(name)
        if container.state.running:
            await self._halt(container, seconds)
        try:
            self.start(name, None)
        except DaemonError as exc:
            raise DaemonError(f"Cannot restart container {name}: {exc.message}") from None
        except NotModified:
            pass
        self._event("restart", container)

    @staticmethod
    def parse_signal(text: str) -> int:
        """kill's signal as 1.2.0 read it (absent means SIGKILL)."""
        if text == "":
            return 9
        number = signal_number(text)
        if number is None:
            raise DaemonError(f"Invalid signal: {text}")
        return number

    async def kill(self, name: str, signal_text: str) -> None:
        number = self.parse_signal(signal_text)
        container = self.container(name)
        if container.state.running:
            await container.signal(9 if number == 0 else number)
        self._event("kill", container)

    def pause(self, name: str) -> None:
        container = self.container(name)
        if container.state.paused:
            raise DaemonError(f"Cannot pause container {name}: Container {container.id} is already paused")
        if not container.state.running:
            raise DaemonError(f"Cannot pause container {name}: Container {container.id} is not running")
        container.state.paused = True
        container.unpaused.clear()
        self._event("pause", container)

    def unpause(self, name: str) -> None:
        container = self.container(name)
        if not container.state.paused:
            raise DaemonError(f"Cannot unpause container {name}: Container {container.id} is not paused")
        container.state.paused = False
        container.unpaused.set()
        self._event("unpause", container)

    async def remove(self, name: str, *, force: bool, link: bool) -> None:
        if link:
            target = self.find(name)
            if target is None:
                raise DaemonError(f"No such link: {name}")
            full = name if name.startswith("/") else "/" + name
            parent = full.rsplit("/", 1)[0]
            if parent == "":
                raise DaemonError("Conflict, cannot remove the default name of the container")
            self.names.pop(full, None)
            return
        container = self.container(name)
        if container.state.running:
            if not force:
                raise DaemonError("You cannot remove a running container. Stop the container before "
                                  "attempting removal or use -f")
            await container.signal(9)
        if container.id not in self.containers:
            return  # removed by a concurrent request meanwhile
        del self.containers[container.id]
        for n in [n for n, i in self.names.items() if i == container.id or n.startswith(container.name + "/")]:
            del self.names[n]
        self._event("destroy", container)

    def commit(self, name: str, repo: str, tag: str, author: str, comment: str, config: dict) -> Image:
        container = self.container(name)
        new_config = copy.deepcopy(config)
        merge_config(new_config, container.config)
        for key, value in container.config.items():
            if not new_config.get(key) and value:
                new_config[key] = copy.deepcopy(value)
        image = self.images.add(Image(
            id=new_id(), layer=dict(container.fs.layer), parent=container.image_id,
            comment=comment, container=container.id, container_config=copy.deepcopy(container.config),
            author=author, config=new_config))
        if repo:
            self.images.tag(repo, tag, image.id)
        return image

    def export(self, name: str) -> bytes:
        container = self.container(name)
        data = tree_to_tar(container.fs.tree())
        self._event("export", container)
        return data

    def copy(self, name: str, resource: str) -> bytes:
        container = self.container(name)
        path = "/" + resource.strip("/")
        if container.fs.get(path) is None:
            raise DaemonError(f"Could not find the file /{resource} in container {name}")
        return tree_to_tar(container.fs.tree(), path)

    # --- images ----------------------------------------------------------------------------------------
    async def import_image(self, data: bytes, repo: str, tag: str) -> Image:
        try:
            layer = await unpack_layer(data, self.limits.unpacked)  # the only await: state changes after it
        except TAR_ERRORS as exc:
            raise DaemonError(f"Error processing tar file: {exc}") from None
        image = self.images.add(Image(id=new_id(), layer=layer, comment="Imported from -",
                                      config=None))
        if repo:
            self.images.tag(repo, tag, image.id)
        return image

    def tag_image(self, name: str, repo: str, tag: str) -> None:
        image = self.images.lookup(name)
        if image is None:
            raise DaemonError(f"No such id: {name}")
        self.images.tag(repo, tag, image.id)

    def _can_delete(self, image_id: str, force: bool, untagged: bool) -> None:
        note = " (docker untagged the image)" if untagged else ""
        for container in self.containers.values():
            base = self.images.images.get(container.image_id)
            if base is None or image_id not in {i.id for i in self.images.chain(base)}:
                continue
            if container.state.running:
                if force:
                    raise DaemonError(f"Conflict, cannot force delete {short(image_id)} because the running "
                                      f"container {short(container.id)} is using it{note}, stop it and retry")
                raise DaemonError(f"Conflict, cannot delete {short(image_id)} because the running container "
                                  f"{short(container.id)} is using it{note}, stop it and use -f to force")
            if not force:
                raise DaemonError(f"Conflict, cannot delete {short(image_id)} because the container "
                                  f"{short(container.id)} is using it{note}, use -f to force")

    def delete_image(self, name: str, force: bool, noprune: bool) -> list[tuple[str, str]]:
        """daemon.DeleteImage: [("Untagged", "repo:tag") | ("Deleted", id)], or a Conflict."""
        out: list[tuple[str, str]] = []
        step = self._delete_image(name, out, first=True, force=force, untagged=False, noprune=noprune)
        while step is not None:  # up the parents, a loop rather than a recursion: chains can be long
            parent, untagged = step
            step = self._delete_image(parent, out, first=False, force=force, untagged=untagged, noprune=noprune)
        if not out:
            raise DaemonError(f"Conflict, {name} wasn't deleted")
        return out

    def _delete_image(self, name: str, out: list, *, first: bool, force: bool, untagged: bool,
                      noprune: bool) -> tuple[str, bool] | None:
        """One image of daemon.DeleteImage; returns (parent, untagged) when the parent is to be pruned next."""
        repo, tag = parse_repository_tag(name)
        tag = tag or DEFAULT_TAG
        image = self.images.lookup(name)
        if image is None:
            if repo in self.images.repositories:
                raise DaemonError(f"No such image: {repo}:{tag}")
            raise DaemonError(f"No such image: {name}")
        tags: list[str] = []
        if name in image.id:
            repo = ""
            for repo_tag in self.images.names_of(image.id):
                parsed_repo, parsed_tag = parse_repository_tag(repo_tag)
                if repo in ("", parsed_repo):
                    repo = parsed_repo
                    if parsed_tag:
                        tags.append(parsed_tag)
                elif not force:
                    raise DaemonError(f"Conflict, cannot delete image {name} because it is tagged in multiple "
                                      "repositories, use -f to force")
        else:
            tags.append(tag)
        if not first and tags:
            return None
        for t in tags:
            if self.images.untag(repo, t):
                untagged = True
                out.append(("Untagged", f"{repo}:{t}"))
                self.events.emit("untag", image.id)
        remaining = self.images.names_of(image.id)
        if (len(remaining) <= 1 and repo == "") or not remaining:
            if not self.images.children(image.id):
                self._can_delete(image.id, force, untagged)
                for repo_tag in remaining:
                    self.images.untag(*parse_repository_tag(repo_tag))
                del self.images.images[image.id]
                out.append(("Deleted", image.id))
                self.events.emit("delete", image.id)
                if image.parent and not noprune and image.parent in self.images.images:
                    return image.parent, untagged
        return None

    def seed_busybox(self) -> Image:
        """A synthetic busybox:latest (only with `--seed-busybox`; the daemon starts empty otherwise)."""
        now = int(time.time())
        layer: dict[str, Node | None] = {}
        for d in ("/bin", "/dev", "/etc", "/home", "/lib", "/proc", "/root", "/sys", "/tmp", "/usr",
                  "/usr/bin", "/usr/sbin", "/var", "/var/log"):
            layer[d] = Node("dir", mode=0o1777 if d == "/tmp" else 0o755, mtime=now)
        layer["/bin/busybox"] = Node("file", b"\x7fELF simulated busybox\n", 0o755, now)
        from .simulator import BUILTINS, SHELL_ONLY
        for tool in sorted(set(BUILTINS) - SHELL_ONLY):
            layer[f"/bin/{tool}"] = Node("symlink", mode=0o777, mtime=now, target="busybox")
        layer["/etc/passwd"] = Node("file", b"root:x:0:0:root:/root:/bin/sh\n", 0o644, now)
        layer["/etc/group"] = Node("file", b"root:x:0:\n", 0o644, now)
        layer["/etc/hostname"] = Node("file", b"busybox\n", 0o644, now)
        config = default_config()
        config["Cmd"] = ["/bin/sh"]
        config["Env"] = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]
        image = self.images.add(Image(id=new_id(), layer=layer, config=config, comment="synthetic busybox",
                                      container_config={**default_config(), "Cmd": ["/bin/sh", "-c",
                                                        "#(nop) CMD [/bin/sh]"]}))
        self.images.tag("busybox", "latest", image.id)
        return image
