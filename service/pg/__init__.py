"""Storage in PostgreSQL (asyncpg): the second backend of ``service.storage.Store``.

Chosen with ``MADOGUCHI_DATABASE_URL``; several service processes on several machines then
share one database. The SQL is in modules by area, as in ``service/db/``, each a set of plain
``async def f(db, ...)`` functions mixed into :class:`service.pg.store.PgStore`. Only this
package (and ``service/stores.py``, which opens it) imports asyncpg.
"""
