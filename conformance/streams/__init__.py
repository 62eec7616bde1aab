"""Sans-IO scanners for the body kinds v1.14 streams: JSON object streams and tar archives."""
