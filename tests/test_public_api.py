"""The service uses python-socketio, python-engineio and Litestar through their public
API only: an upgrade within the pinned ranges may change anything private without notice.

A scan of every module under service/ (and of the tests, which drive the same libraries)
fails on:

- an import of a private name or module of those libraries (``from socketio import _x``);
- a read of a private attribute: on anything reached from one of those libraries
  (``socketio.packet._x``); on ``super()`` when a library base has it; on ``self`` or ``cls``
  unless our own classes of its hierarchy define it; on anything else unless our code defines
  the name and no library does (``self.server._x``, ``sio._binary_packet``). Inside a class,
  the names its own hierarchy defines are fine on any receiver (another instance of the class);
- a private method or attribute of one of our classes that a library base class also has (an
  override of the library's internals), checked against the real base classes.

"Private" is a leading underscore that is not a dunder (``__init__`` is public).

A second scan fails on a read of a python-socketio manager method that its documentation never
describes (no docstring anywhere in the library): public by name, private in effect.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import inspect
import pkgutil
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import service
import tests

PROJECT_DIR = Path(service.__file__).parent.parent

LIBRARIES = ("socketio", "engineio", "litestar")
# Documented standard-library functions whose names start with an underscore.
STANDARD_EXCEPTIONS = frozenset({"os._exit"})


def private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def from_library(module: str | None) -> bool:
    return bool(module) and str(module).split(".")[0] in LIBRARIES


def assigned_names(node: ast.AST) -> set[str]:
    """Every name ``node`` defines: functions, classes, assigned names and attributes."""
    names: set[str] = set()
    for child in ast.walk(node):
        if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(child.name)
        elif isinstance(child, ast.Name) and isinstance(child.ctx, ast.Store):
            names.add(child.id)
        elif isinstance(child, ast.Attribute) and isinstance(child.ctx, ast.Store):
            names.add(child.attr)
    return names


def own_names(node: ast.ClassDef) -> set[str]:
    """What a class of ours defines: its methods, class attributes, ``__slots__`` and the
    attributes its methods assign on ``self`` or ``cls``."""
    names = {
        child.name
        for child in node.body
        if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
    }
    for child in ast.walk(node):
        if isinstance(child, ast.Attribute) and isinstance(child.ctx, ast.Store):
            if isinstance(child.value, ast.Name) and child.value.id in ("self", "cls"):
                names.add(child.attr)
        elif isinstance(child, ast.Assign | ast.AnnAssign) and child in node.body:
            targets = child.targets if isinstance(child, ast.Assign) else [child.target]
            names |= {t.id for t in targets if isinstance(t, ast.Name)}
            if any(isinstance(t, ast.Name) and t.id == "__slots__" for t in targets):
                names |= {
                    c.value
                    for c in ast.walk(child.value or ast.Constant(None))
                    if isinstance(c, ast.Constant) and isinstance(c.value, str)
                }
    return names


@cache
def library_names() -> frozenset[str]:
    """Every private name the libraries' own sources define."""
    names: set[str] = set()
    for library in LIBRARIES:
        spec = importlib.util.find_spec(library)
        assert spec and spec.submodule_search_locations, library
        for location in spec.submodule_search_locations:
            for path in Path(location).rglob("*.py"):
                names |= assigned_names(ast.parse(path.read_bytes()))
    return frozenset(n for n in names if private(n))


def library_bases(cls: type) -> list[type]:
    return [base for base in cls.__mro__[1:] if from_library(base.__module__)]


@cache
def instance_attributes(cls: type) -> frozenset[str]:
    """The attributes a library class's own methods assign on ``self``."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    except (OSError, TypeError):
        return frozenset()
    return frozenset(
        node.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and isinstance(node.ctx, ast.Store)
        and isinstance(node.value, ast.Name)
        and node.value.id == "self"
    )


def library_has(cls: type, name: str) -> bool:
    return any(
        name in vars(base) or name in instance_attributes(base) for base in library_bases(cls)
    )


@dataclass
class Module:
    """One module to scan: its file name, syntax tree and run-time namespace."""

    path: str
    tree: ast.Module
    namespace: dict[str, Any]
    classes: dict[str, ast.ClassDef] = field(init=False)

    def __post_init__(self) -> None:
        self.classes = {n.name: n for n in self.tree.body if isinstance(n, ast.ClassDef)}


def package_modules(package: ModuleType) -> Iterator[Module]:
    for info in pkgutil.walk_packages(package.__path__, f"{package.__name__}."):
        if info.name.endswith("__main__"):
            continue  # running it starts the command line
        module = importlib.import_module(info.name)
        path = Path(module.__file__ or "")
        yield Module(
            str(path.relative_to(PROJECT_DIR)),
            ast.parse(path.read_bytes()),
            vars(module),
        )


@dataclass
class Scan:
    """The findings over a set of modules; ``ours`` is every name those modules define."""

    modules: list[Module]
    findings: list[str] = field(default_factory=list)

    def run(self) -> list[str]:
        self.ours = set().union(*(assigned_names(m.tree) for m in self.modules))
        self.hierarchy_names: dict[type, set[str]] = {}
        for module in self.modules:
            self.check_module(module)
        return self.findings

    def check_module(self, module: Module) -> None:
        roots = self.library_roots(module)
        for node in module.tree.body:
            if isinstance(node, ast.ClassDef):
                cls = module.namespace.get(node.name)
                self.check_class(module, node, cls if isinstance(cls, type) else None)
                self.check_reads(module, node, roots, cls if isinstance(cls, type) else None)
            else:
                self.check_reads(module, node, roots, None)

    def library_roots(self, module: Module) -> set[str]:
        """Names bound by imports from the libraries; reports private imports on the way."""
        roots: set[str] = set()
        for node in ast.walk(module.tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if from_library(alias.name):
                        roots.add(alias.asname or alias.name.split(".")[0])
                        self.report_import(module, node, alias.name)
            elif isinstance(node, ast.ImportFrom) and from_library(node.module):
                for alias in node.names:
                    roots.add(alias.asname or alias.name)
                    self.report_import(module, node, f"{node.module}.{alias.name}")
        return roots

    def report_import(self, module: Module, node: ast.stmt, dotted: str) -> None:
        if any(private(part) for part in dotted.split(".")):
            self.findings.append(f"{module.path}:{node.lineno}: imports {dotted}")

    def check_class(self, module: Module, node: ast.ClassDef, cls: type | None) -> None:
        """A private name of ours that a library base also has overrides its internals."""
        if cls is None:
            return
        for name in sorted(n for n in own_names(node) if private(n)):
            if library_has(cls, name):
                self.findings.append(
                    f"{module.path}:{node.lineno}: {node.name}.{name} overrides a private name"
                    f" of {', '.join(b.__qualname__ for b in library_bases(cls))}"
                )

    def names_of_hierarchy(self, cls: type) -> set[str]:
        """Every name our own classes in ``cls``'s hierarchy define."""
        if cls not in self.hierarchy_names:
            names: set[str] = set()
            for klass in cls.__mro__:
                for module in self.modules:
                    node = module.classes.get(klass.__name__)
                    if node is not None and module.namespace.get(klass.__name__) is klass:
                        names |= own_names(node)
            self.hierarchy_names[cls] = names
        return self.hierarchy_names[cls]

    def check_reads(self, module: Module, node: ast.AST, roots: set[str], cls: type | None) -> None:
        for child in ast.walk(node):
            read = private_read(child)
            if read is None:
                continue
            receiver, name = read
            problem = self.problem(receiver, name, roots, cls)
            if problem:
                where = f"{module.path}:{getattr(child, 'lineno', 0)}"
                self.findings.append(f"{where}: {ast.unparse(child)} ({problem})")

    def problem(self, receiver: ast.expr, name: str, roots: set[str], cls: type | None) -> str:
        base = receiver
        while isinstance(base, ast.Attribute | ast.Call | ast.Subscript):
            base = base.func if isinstance(base, ast.Call) else base.value
        if isinstance(base, ast.Name) and base.id in roots:
            return "a private name of a library"
        if isinstance(receiver, ast.Call) and ast.unparse(receiver.func) == "super":
            return "a library base's private name" if cls and library_has(cls, name) else ""
        if cls is not None and name in self.names_of_hierarchy(cls):
            return ""  # a class's own private name, on itself or another of its instances
        if isinstance(receiver, ast.Name) and receiver.id in ("self", "cls"):
            return "not defined by our own classes"
        if f"{ast.unparse(receiver)}.{name}" in STANDARD_EXCEPTIONS:
            return ""
        if name in library_names():
            return "a library's private name"
        if name not in self.ours:
            return "not defined by our code"
        return ""


def private_read(node: ast.AST) -> tuple[ast.expr, str] | None:
    """``(receiver, name)`` of ``receiver._name`` or ``getattr(receiver, "_name")``."""
    if isinstance(node, ast.Attribute) and private(node.attr):
        return node.value, node.attr
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in ("getattr", "hasattr", "setattr", "delattr")
        and len(node.args) >= 2
        and isinstance(node.args[1], ast.Constant)
        and isinstance(node.args[1].value, str)
        and private(node.args[1].value)
    ):
        return node.args[0], node.args[1].value
    return None


def scan_source(source: str) -> list[str]:
    """Scan one planted module, run for real so that its classes have their real bases."""
    source = textwrap.dedent(source)
    namespace: dict[str, Any] = {"__name__": "planted"}
    exec(compile(source, "planted.py", "exec"), namespace)  # noqa: S102 - our own test text
    return Scan([Module("planted.py", ast.parse(source), namespace)]).run()


def test_the_service_uses_only_the_public_api_of_its_libraries() -> None:
    findings = Scan(list(package_modules(service))).run()
    assert findings == []


def test_the_tests_use_only_the_public_api_of_those_libraries() -> None:
    """The tests drive the same libraries (Socket.IO clients, the server under test); a test
    that leans on a private name breaks on an upgrade just as the service would."""
    findings = Scan(list(package_modules(tests))).run()
    assert findings == []


# Each kind of private use, with what its finding says.
PLANTED = {
    "a private import": (
        "imports engineio.async_drivers._websocket_wsgi",
        """
        from socketio import packet
        from engineio.async_drivers import _websocket_wsgi
        """,
    ),
    "a private module": ("imports litestar._signature", "import litestar._signature"),
    "a read through a library module": (
        "socketio.packet._reconstruct_binary_internal (a private name of a library)",
        """
        import socketio

        def kinds():
            return socketio.packet._reconstruct_binary_internal
        """,
    ),
    "a read of a library object's internals": (
        "sio._send_packet (a library's private name)",
        """
        async def send(sio, eio_sid, pkt):
            await sio._send_packet(eio_sid, pkt)
        """,
    ),
    "a read of another object's internals that the library also defines": (
        "sio._binary_packet (a library's private name)",
        """
        class Pending:
            def __init__(self):
                self._binary_packet = None

        def pending_of(sio):
            return sio._binary_packet
        """,
    ),
    "a read on self of what only the library base defines": (
        "self._set_server (not defined by our own classes)",
        """
        import socketio

        class Namespace(socketio.AsyncNamespace):
            def server_of(self):
                return self._set_server
        """,
    ),
    "a read through super() of the library's internals": (
        "super()._handle_eio_message (a library base's private name)",
        """
        import socketio

        class Server(socketio.AsyncServer):
            async def handle(self, eio_sid, data):
                await super()._handle_eio_message(eio_sid, data)
        """,
    ),
    "an override of a private method": (
        "Server._handle_eio_message overrides a private name of AsyncServer",
        """
        import socketio

        class Server(socketio.AsyncServer):
            async def _handle_eio_message(self, eio_sid, data):
                pass
        """,
    ),
    "an override of a private attribute": (
        "Server._binary_packet overrides a private name of AsyncServer",
        """
        import socketio

        class Server(socketio.AsyncServer):
            def __init__(self):
                super().__init__()
                self._binary_packet = {}
        """,
    ),
    "a read by name": (
        "getattr(sio, '_binary_packet') (a library's private name)",
        """
        def pending_of(sio):
            return getattr(sio, "_binary_packet")
        """,
    ),
}


@pytest.mark.parametrize(("expected", "source"), PLANTED.values(), ids=PLANTED.keys())
def test_the_scan_catches_a_planted_private_use(expected: str, source: str) -> None:
    findings = scan_source(source)
    assert len(findings) == 1, findings
    assert expected in findings[0]


def test_the_scan_allows_our_own_private_names() -> None:
    findings = scan_source(
        """
        import socketio

        class Namespace(socketio.AsyncNamespace):
            __slots__ = ("_kept",)

            def __init__(self):
                super().__init__("/visitor")
                self._table = {}

            def _lookup(self, event):
                return self._table.get(event)

        class Visitor(Namespace):
            def handle(self, event):
                return self._lookup(event) or self._kept

        def internals(other: Namespace):
            return other._lookup, os_exit()

        def os_exit():
            import os
            return os._exit
        """
    )
    assert findings == []


# -- what the documentation leaves out ----------------------------------------------------------


@cache
def undocumented_manager_methods() -> frozenset[str]:
    """Public methods of python-socketio's client managers with no docstring anywhere in the
    library. Its reference is built from docstrings, so it never describes them: they are the
    manager's own bookkeeping of connection states (``is_connected``, ``eio_sid_from_sid``),
    free to change in any release, like a private name."""
    spec = importlib.util.find_spec("socketio")
    assert spec and spec.submodule_search_locations
    documented: set[str] = set()
    bare: set[str] = set()
    for location in spec.submodule_search_locations:
        for path in Path(location).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_bytes())):
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and not private(
                    node.name
                ):
                    if ast.get_docstring(node):
                        documented.add(node.name)
                    elif "manager" in path.name:
                        bare.add(node.name)
    return frozenset(bare - documented)


def undocumented_reads(modules: list[Module]) -> list[str]:
    ours = set().union(*(assigned_names(m.tree) for m in modules))
    return [
        f"{module.path}:{node.lineno}: {ast.unparse(node)}"
        for module in modules
        for node in ast.walk(module.tree)
        if isinstance(node, ast.Attribute)
        and node.attr in undocumented_manager_methods()
        and node.attr not in ours
    ]


def test_the_undocumented_manager_methods_are_found() -> None:
    assert {"is_connected", "is_pre_connected", "eio_sid_from_sid"} <= (
        undocumented_manager_methods()
    )
    assert "get_participants" not in undocumented_manager_methods()


@pytest.mark.parametrize("package", [service, tests], ids=["service", "tests"])
def test_the_socketio_manager_is_asked_only_what_its_documentation_describes(
    package: ModuleType,
) -> None:
    """Which sockets of this process are connected is read from documented rooms instead
    (realtime/sockets.py)."""
    assert undocumented_reads(list(package_modules(package))) == []


def test_the_scan_catches_a_planted_undocumented_read() -> None:
    source = textwrap.dedent(
        """
        def live(sio, sid):
            return sio.manager.is_connected(sid, "/visitor")
        """
    )
    module = Module("planted.py", ast.parse(source), {})
    assert undocumented_reads([module]) == ["planted.py:3: sio.manager.is_connected"]
