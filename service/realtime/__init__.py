"""Socket.IO namespaces: decode a payload, check access, call an action, answer with an ack."""
