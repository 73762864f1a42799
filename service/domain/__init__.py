"""Pure rules: no awaits, no SQL, no sockets, no clock. Tested without a server."""
