"""Routers and console pages stay thin: they parse, call a service and map its result. They reach the
database only through services (no `miles.adapters` import, no repository of a unit of work), and no
status of a refusal is written by hand: the one mapping from the error tree (miles.http_errors) gives it,
and every console router turns a MilesError into its error page (ConsolePageRoute)."""

from __future__ import annotations

import ast
from pathlib import Path

import miles

SRC = Path(miles.__file__).parent
ENTRY_POINTS = sorted([*(SRC / "console").glob("*.py"), *(SRC / "api" / "routers").glob("*.py")])
# modules of the console that are not pages: the error mapping itself and what every page shares
CONSOLE_NOT_PAGES = {"__init__.py", "page_errors.py", "security.py", "rendering.py", "state.py", "forms.py"}

# (module, status): the statuses written by hand that are not a refusal of the error tree, and why
ALLOWED_STATUSES = {
    # /readyz reports a database or broker it cannot reach as 503: a probe's answer, not a refusal
    ("api/routers/health.py", 503),
    # sign-in refused for load or too many tries (with Retry-After): throttling is not in the error tree
    ("console/auth_pages.py", 429),
}
# keyword arguments whose numbers are bounds, not statuses (Query(le=500), max_length=500)
BOUND_KEYWORDS = {"le", "ge", "lt", "gt", "max_length", "min_length"}


def _name(path: Path) -> str:
    return path.relative_to(SRC).as_posix()


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(), filename=str(path))


def _type_checking_only(tree: ast.Module) -> set[ast.AST]:
    """The imports under `if TYPE_CHECKING:`: names for annotations, never used at run time."""
    out: set[ast.AST] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            out.update(n for child in node.body for n in ast.walk(child))
    return out


def _imported_modules(tree: ast.Module) -> list[tuple[int, str]]:
    skipped = _type_checking_only(tree)
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if node in skipped:
            continue
        if isinstance(node, ast.ImportFrom) and node.module:
            found.append((node.lineno, node.module))
            found.extend((node.lineno, f"{node.module}.{alias.name}") for alias in node.names)
        elif isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
    return found


def _hand_written_statuses(tree: ast.Module) -> list[tuple[int, int]]:
    """Every whole number of 400-599 that is not a bound of a keyword argument or a length compared."""
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    found: list[tuple[int, int]] = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Constant) and type(node.value) is int and 400 <= node.value <= 599):
            continue
        parent = parents.get(node)
        if isinstance(parent, ast.keyword) and parent.arg in BOUND_KEYWORDS:
            continue
        if isinstance(parent, ast.Compare) and any(
            isinstance(side, ast.Call) and isinstance(side.func, ast.Name) and side.func.id == "len"
            for side in (parent.left, *parent.comparators)
        ):
            continue
        found.append((node.lineno, node.value))
    return found


def test_entry_points_exist() -> None:
    names = {_name(p) for p in ENTRY_POINTS}
    assert {"console/member_pages.py", "console/forms.py", "api/routers/members.py"} <= names


def test_no_entry_point_imports_the_adapters_or_raises_http_exceptions() -> None:
    offenders = [
        f"{_name(path)}:{line} imports {module}"
        for path in ENTRY_POINTS
        for line, module in _imported_modules(_tree(path))
        if module.startswith(("miles.adapters", "sqlalchemy"))
        or module.endswith(".HTTPException")
        or module.endswith(".JSONResponse")
    ]
    assert offenders == [], "entry points reach the database through services only: " + str(offenders)


def test_no_entry_point_reads_a_repository_of_the_unit_of_work() -> None:
    """`uow.members`, `uow.claims`... belong to services; a page or router hands the unit of work on."""
    offenders = [
        f"{_name(path)}:{node.lineno} uses uow.{node.attr}"
        for path in ENTRY_POINTS
        for node in ast.walk(_tree(path))
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "uow"
    ]
    assert offenders == [], offenders


def test_no_entry_point_reads_the_programme_catalog_itself() -> None:
    """Which programme is in force, and what it allows, is the services' to say (`c.catalog.current`)."""
    offenders = [
        f"{_name(path)}:{node.lineno} reads the catalog"
        for path in ENTRY_POINTS
        for node in ast.walk(_tree(path))
        if isinstance(node, ast.Attribute)
        and node.attr == "current"
        and isinstance(node.value, ast.Attribute)
        and node.value.attr == "catalog"
    ]
    assert offenders == [], offenders


def test_no_entry_point_writes_the_status_of_a_refusal_by_hand() -> None:
    offenders = [
        f"{_name(path)}:{line} writes {status}"
        for path in ENTRY_POINTS
        for line, status in _hand_written_statuses(_tree(path))
        if (_name(path), status) not in ALLOWED_STATUSES
    ]
    assert offenders == [], "statuses of refusals come from miles.http_errors: " + str(offenders)


def test_the_allowed_statuses_are_still_needed() -> None:
    """An exception that is no longer used is removed from the list, so the list stays the truth."""
    used = {
        (_name(path), status) for path in ENTRY_POINTS for _, status in _hand_written_statuses(_tree(path))
    }
    assert ALLOWED_STATUSES <= used, ALLOWED_STATUSES - used


def test_every_console_router_turns_errors_into_console_pages() -> None:
    """A MilesError rising from a console page becomes the error page with the shared status; a router
    built without ConsolePageRoute would answer it with the API's JSON body."""
    missing = []
    for path in ENTRY_POINTS:
        if not _name(path).startswith("console/") or path.name in CONSOLE_NOT_PAGES:
            continue
        routers = [
            node
            for node in ast.walk(_tree(path))
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "APIRouter"
        ]
        assert routers, f"{_name(path)} holds no router"
        for call in routers:
            route_class = next((k.value for k in call.keywords if k.arg == "route_class"), None)
            if not (isinstance(route_class, ast.Name) and route_class.id == "ConsolePageRoute"):
                missing.append(f"{_name(path)}:{call.lineno}")
    assert missing == [], missing


# every module that calls services from outside: the API, the console, the CLI, the Celery shims
CALLERS = sorted(
    [
        *(SRC / "console").glob("*.py"),
        *(SRC / "api").rglob("*.py"),
        *(SRC / "cli").glob("*.py"),
        *(SRC.parent.parent / "workers").glob("*.py"),
    ]
)


def _caller_name(path: Path) -> str:
    return path.relative_to(SRC.parent.parent if path.parent.name == "workers" else SRC).as_posix()


def _first_parameters_of_services() -> dict[str, str]:
    """`miles.services.x.f` -> the name of f's first parameter, for every public function of the services."""
    out: dict[str, str] = {}
    for path in (SRC / "services").rglob("*.py"):
        module = "miles." + path.relative_to(SRC).with_suffix("").as_posix().replace("/", ".")
        module = module.removesuffix(".__init__")
        for node in _tree(path).body:
            if isinstance(node, ast.FunctionDef) and node.args.args:
                out[f"{module}.{node.name}"] = node.args.args[0].arg
    return out


def test_no_caller_opens_a_unit_of_work() -> None:
    """A use case owns its transactions: callers hand it the runtime and never open one themselves."""
    offenders = [
        f"{_caller_name(path)}:{node.lineno} opens a unit of work"
        for path in CALLERS
        for node in ast.walk(_tree(path))
        if isinstance(node, ast.Call)
        and (
            (isinstance(node.func, ast.Attribute) and node.func.attr == "uow")
            or (isinstance(node.func, ast.Name) and node.func.id in {"unit_of_work", "UnitOfWork"})
        )
    ]
    assert offenders == [], offenders


def test_every_use_case_a_caller_calls_takes_the_runtime() -> None:
    """One kind of argument for every use case: the runtime (its unit-of-work factory, catalog, clock,
    dispatcher, suppliers). Functions taking an open unit of work are steps inside a use case."""
    first = _first_parameters_of_services()
    offenders = [
        f"{_caller_name(path)}:{line} calls {function} (first parameter {first[function]})"
        for path in CALLERS
        for line, function in _used_functions(_tree(path))
        if first.get(function) == "uow"
    ]
    assert offenders == [], offenders


def _used_functions(tree: ast.Module) -> list[tuple[int, str]]:
    """What a module imports, and `alias.f` for every `from miles.services import x as alias`."""
    found = _imported_modules(tree)
    aliases = {
        alias.asname or alias.name: f"{node.module}.{alias.name}"
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("miles.services")
        for alias in node.names
    }
    found.extend(
        (node.lineno, f"{aliases[node.value.id]}.{node.attr}")
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases
    )
    return found
