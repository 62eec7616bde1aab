"""Captures: recorded exchanges read from mitmproxy flow files and HAR files, fed to the checker."""

from .exchange import RecordedExchange, check_exchanges, feed_exchange
from .loader import CaptureError, load_capture

__all__ = ["RecordedExchange", "check_exchanges", "feed_exchange", "load_capture", "CaptureError"]
