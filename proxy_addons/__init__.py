"""mitmproxy addons of the conformance toolkit (load with `mitmdump -s proxy_addons/<file>.py`)."""
