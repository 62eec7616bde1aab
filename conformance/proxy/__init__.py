"""The live proxy: a mitmproxy-based relay between a Docker client and a daemon, judging every exchange.

`urls` parses daemon addresses (unix://, tcp://, http://); `session` turns exchanges into log lines;
`embedded` runs a lean mitmproxy Master behind our own Unix/TCP listener; `hijack` relays attach
streams itself; `command` is the `conformance proxy` subcommand.
"""
