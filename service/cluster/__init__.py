"""What several serving processes share through Redis (``MADOGUCHI_REDIS_URL``): presence,
limits, login throttles, background jobs run once, and orders to drop sockets. Each part is a
small protocol with an in-memory implementation, today's behaviour of one process, and a
Redis one; ``shared.py`` picks them."""
