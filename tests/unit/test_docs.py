"""The docs stay equal to the code.

Every key the flows spec accepts is in docs/flows.md; every connection field the hooks read
is in docs/connections.md; every ``ml-connector`` command and option is in docs/cli.md;
every parameter of the hooks, operators, sensor and triggers is in docs/operators.md; the
README's map links every page of docs/; and no relative link or anchor in README.md or
docs/ is broken. What is documented is derived from the code (the pydantic models, the
settings modules, the argparse parser, the signatures), never from a list kept here.

Each check is a function returning what is missing, so that the ``*_can_fail`` tests can
show it reports a mention removed from the real text.
"""

from __future__ import annotations

import argparse
import ast
import inspect
import re
import typing
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import BaseModel

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
README = ROOT / "README.md"
PROVIDER = ROOT / "provider" / "ml_connector"

FENCE = re.compile(r"^```([^\n`]*)\n(.*?)^```[ \t]*$", re.M | re.S)
HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t]*#*[ \t]*$", re.M)
CODE_SPAN = re.compile(r"`([^`\n]+)`")
LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")


def read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def pages() -> list[Path]:
    return sorted(DOCS.glob("*.md"))


# --- Markdown helpers ----------------------------------------------------------------------

def prose(markdown: str) -> str:
    """The text outside fenced code blocks (each block left as an empty line)."""
    return FENCE.sub("\n", markdown)


def fenced(markdown: str, *languages: str) -> list[str]:
    """The bodies of the fenced code blocks in one of ``languages``."""
    return [m.group(2) for m in FENCE.finditer(markdown)
            if m.group(1).strip().lower() in languages]


def code_spans(markdown: str) -> list[str]:
    return [s.strip() for s in CODE_SPAN.findall(prose(markdown))]


def slug(heading: str) -> str:
    """The anchor a code host gives a heading: lowercase, punctuation other than ``-`` and
    ``_`` dropped, spaces as ``-``."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # links: their text
    text = re.sub(r"[^\w\- ]", "", text.replace("`", "").strip().lower())
    return text.replace(" ", "-")


def anchors(markdown: str) -> set[str]:
    found: set[str] = set()
    seen: dict[str, int] = {}
    for match in HEADING.finditer(prose(markdown)):
        base = slug(match.group(2))
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return found


def sections(markdown: str, level: int, *, nested: bool = True) -> list[tuple[str, str]]:
    """(heading, text up to the next heading of ``level`` or higher) of each heading of
    exactly ``level``; without ``nested``, up to the next heading of any level."""
    text = prose(markdown)
    heads = list(HEADING.finditer(text))
    found = []
    for n, head in enumerate(heads):
        if len(head.group(1)) != level:
            continue
        end = next((h.start() for h in heads[n + 1:]
                    if len(h.group(1)) <= level or not nested), len(text))
        found.append((head.group(2), text[head.start():end]))
    return found


def links(markdown: str) -> list[str]:
    """The targets of the links and images, outside code."""
    return LINK.findall(CODE_SPAN.sub("", prose(markdown)))


def first_cells(markdown: str) -> list[str]:
    """The first cell of every table row."""
    return [line.split("|")[1].strip() for line in prose(markdown).splitlines()
            if line.startswith("|") and line.count("|") >= 2
            and not re.fullmatch(r"[\s|:-]+", line)]  # not the header's underline


# --- (a) every key of the flows spec is in docs/flows.md -----------------------------------

def _models(annotation: object) -> Iterator[type[BaseModel]]:
    """The pydantic models an annotation names, through list, dict, Optional, Union, ..."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
        return
    for arg in typing.get_args(annotation):
        yield from _models(arg)


def spec_keys() -> dict[str, set[str]]:
    """Every key the flows spec accepts (a field's alias when it has one) -> the models
    that accept it, walking the top-level model and every model reachable from it."""
    from ml_connector.flows.spec import FlowsFile

    keys: dict[str, set[str]] = {}
    todo: list[type[BaseModel]] = [FlowsFile]
    done: set[type[BaseModel]] = set()
    while todo:
        model = todo.pop()
        if model in done:
            continue
        done.add(model)
        for name, info in model.model_fields.items():
            keys.setdefault(info.alias or name, set()).add(model.__name__)
            todo.extend(_models(info.annotation))
    return keys


def documented_as_code(markdown: str) -> set[str]:
    """Names written as code: a code span holding the name (``credits``), a dotted path
    ending in it (``defaults.changes``) or the name with a value (``period: date``); and
    ``name:`` keys of YAML examples."""
    found: set[str] = set()
    for span in code_spans(markdown):
        if match := re.fullmatch(r"(?:[\w-]+\.)*([\w-]+)(?:\s*:.*)?", span):
            found.add(match.group(1))
    for block in fenced(markdown, "yaml", "yml"):
        for line in block.splitlines():
            line = line.split(" #", 1)[0]  # comments name keys as prose
            found.update(re.findall(r"(?:^|[\s{,\-\[])([\w-]+)\s*:(?:\s|$)", line))
    return found


def missing_flow_keys(markdown: str) -> list[str]:
    return sorted(set(spec_keys()) - documented_as_code(markdown))


def test_every_flows_spec_key_is_in_flows_md():
    keys = spec_keys()
    assert {"defaults", "flows", "import", "credits", "check_seconds",
            "transaction_types"} <= set(keys), "the walk reaches nested models and aliases"
    assert "import_" not in keys
    missing = missing_flow_keys(read(DOCS / "flows.md"))
    assert not missing, ("keys the flows spec accepts but docs/flows.md does not show as "
                         f"code: {', '.join(f'{k} ({sorted(keys[k])})' for k in missing)}")


@pytest.mark.parametrize("key", ["credits", "import", "poll_minutes", "transaction_types"])
def test_the_flows_check_can_fail(key):
    text = read(DOCS / "flows.md")
    without = re.sub(rf"(?<![\w-]){key}(?![\w-])", f"{key}X", text)
    assert key not in missing_flow_keys(text)
    assert key in missing_flow_keys(without)


# --- (b) the README's map links every page of docs/ ----------------------------------------

def map_section(readme: str) -> str:
    found = [text for heading, text in sections(readme, 2) if heading == "Documentation"]
    assert found, "README.md has a '## Documentation' section, the map of docs/"
    return found[0]


def unmapped_pages(readme: str) -> list[str]:
    linked = {(README.parent / target.split("#", 1)[0]).resolve()
              for target in links(map_section(readme))}
    return [p.name for p in pages() if p.resolve() not in linked]


def test_the_readme_map_links_every_page():
    assert pages(), "docs/ holds the reference"
    missing = unmapped_pages(read(README))
    assert not missing, f"README.md's Documentation map does not link: {', '.join(missing)}"


def test_the_map_check_can_fail():
    readme = read(README)
    without = "\n".join(line for line in readme.splitlines()
                        if "docs/sandbox.md" not in line)
    assert "sandbox.md" in unmapped_pages(without)


# --- (c) relative links point at files (and headings) that exist ---------------------------

def broken_links(path: Path, markdown: str) -> list[str]:
    broken = []
    for target in links(markdown):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I) or target.startswith("//"):
            continue  # a URL with a scheme (https:, mailto:): not a file of this repository
        file, _, anchor = target.partition("#")
        resolved = (path.parent / file).resolve() if file else path
        if not resolved.exists():
            broken.append(f"{target} (no file {resolved.relative_to(ROOT)})"
                          if resolved.is_relative_to(ROOT) else f"{target} (outside)")
        elif anchor and resolved.suffix == ".md":
            text = markdown if resolved == path else read(resolved)
            if anchor not in anchors(text):
                broken.append(f"{target} (no heading #{anchor})")
    return broken


def linked_files() -> list[Path]:
    return [README, ROOT / "CHANGELOG.md", *pages()]


@pytest.mark.parametrize("path", linked_files(), ids=lambda p: p.name)
def test_relative_links_point_at_what_exists(path):
    broken = broken_links(path, read(path))
    assert not broken, f"{path.relative_to(ROOT)}: broken links: {'; '.join(broken)}"


def test_the_link_check_can_fail():
    path = DOCS / "flows.md"
    text = read(path)
    assert not broken_links(path, text)
    assert broken_links(path, text + "\nSee [gone](no-such-page.md).\n")
    assert broken_links(path, text + "\nSee [cli](cli.md#no-such-command).\n")
    assert broken_links(path, text + "\nSee [here](#no-such-heading).\n")
    assert not broken_links(path, text + "\nSee [cli](cli.md#ml-connector-init).\n")


def test_slugs_follow_the_code_hosts_rules():
    assert slug("Zoho Books connection (`zoho_books`)") == "zoho-books-connection-zoho_books"
    assert slug("What happens when…") == "what-happens-when"
    assert slug("Ledger flows: P&L actuals from the general ledger") == \
        "ledger-flows-pl-actuals-from-the-general-ledger"
    assert slug("In an existing Airflow (3.1 or newer)") == "in-an-existing-airflow-31-or-newer"


# --- (d) every connection field the hooks read is in docs/connections.md -------------------

def _extra_keys(tree: ast.AST) -> set[str]:
    """String keys read from a variable named ``extra``: ``extra["k"]``, ``extra.get("k")``
    and helper calls ``f(extra, "k", ...)``."""
    def is_extra(node: ast.AST) -> bool:
        return isinstance(node, ast.Name) and node.id == "extra"

    def text(node: ast.AST) -> str | None:
        return node.value if isinstance(node, ast.Constant) and isinstance(
            node.value, str) else None

    keys: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Subscript) and is_extra(node.value):
            keys.add(text(node.slice) or "")
        elif isinstance(node, ast.Call) and node.args:
            func = node.func
            if isinstance(func, ast.Attribute) and is_extra(func.value) and func.attr == "get":
                keys.add(text(node.args[0]) or "")
            elif is_extra(node.args[0]) and len(node.args) > 1:
                keys.add(text(node.args[1]) or "")
    return keys - {""}


def _conn_attributes(tree: ast.AST) -> set[str]:
    """The attributes a hook reads of its Airflow connection (``conn.login``, ...)."""
    return {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name) and node.value.id == "conn"}


CONNECTIONS = {
    # connection type: (the heading word of its docs section, the settings module whose
    # EXTRA_FIELDS it accepts, the modules that read it)
    "zoho_books": ("Zoho", "ml_connector.zoho.settings",
                   ["hooks/zoho_books.py", "zoho/settings.py", "webhooks/config.py"]),
    "anaplan": ("Anaplan", "ml_connector.anaplan.settings",
                ["hooks/anaplan.py", "anaplan/settings.py"]),
}


def connection_fields(conn_type: str) -> tuple[set[str], set[str]]:
    """(the connection's own fields its hook reads, e.g. login; the extra's fields)."""
    import importlib

    _, module, files = CONNECTIONS[conn_type]
    extra = set(importlib.import_module(module).EXTRA_FIELDS)
    own: set[str] = set()
    for name in files:
        tree = ast.parse(read(PROVIDER / name))
        extra |= _extra_keys(tree)
        if name.startswith("hooks/"):
            own |= _conn_attributes(tree)
    return own - {"extra"}, extra  # the extra is documented field by field


def connection_text(markdown: str, conn_type: str) -> str:
    word = CONNECTIONS[conn_type][0]
    return "\n".join(text for heading, text in sections(markdown, 2) if word in heading)


def missing_connection_fields(markdown: str, conn_type: str) -> list[str]:
    """The fields without a table row of their own (or shared: `a`, `b`) in the
    connection's section."""
    own, extra = connection_fields(conn_type)
    cells = first_cells(connection_text(markdown, conn_type))
    rows = {cell.lower() for cell in cells}
    spans = {span for cell in cells for span in CODE_SPAN.findall(cell)}
    return sorted({f for f in own if f.lower() not in rows} | (extra - spans))


def unknown_connection_fields(markdown: str, conn_type: str) -> list[str]:
    """Fields documented as extra that the connection does not accept."""
    _, extra = connection_fields(conn_type)
    text = connection_text(markdown, conn_type)
    named = {span for cell in first_cells(text) if "(extra)" in cell
             for span in CODE_SPAN.findall(cell) if "*" not in span}
    return sorted(named - extra)


@pytest.mark.parametrize("conn_type", sorted(CONNECTIONS))
def test_every_connection_field_is_in_connections_md(conn_type):
    own, extra = connection_fields(conn_type)
    assert {"login", "password", "host"} <= own and {"refresh_token", "timeout"} <= extra
    markdown = read(DOCS / "connections.md")
    assert connection_text(markdown, conn_type), f"a '## … {CONNECTIONS[conn_type][0]} …' section"
    missing = missing_connection_fields(markdown, conn_type)
    assert not missing, f"{conn_type} fields missing from docs/connections.md: {missing}"
    unknown = unknown_connection_fields(markdown, conn_type)
    assert not unknown, f"docs/connections.md documents {conn_type} fields that do not exist: " \
                        f"{unknown}"


def test_every_zoho_webhook_field_is_read():
    from ml_connector.webhooks.config import WEBHOOK_FIELDS

    assert connection_fields("zoho_books")[1] >= WEBHOOK_FIELDS


def test_the_connection_check_can_fail():
    markdown = read(DOCS / "connections.md")
    zoho, heading, anaplan = markdown.partition("## Anaplan connection")
    cut = zoho + heading + anaplan.replace("| `rate_limit_file` (extra)", "| rate limit file")
    assert missing_connection_fields(cut, "anaplan") == ["rate_limit_file"]
    assert not missing_connection_fields(cut, "zoho_books")
    no_host = "\n".join(line for line in markdown.splitlines() if not line.startswith("| Host"))
    assert missing_connection_fields(no_host, "zoho_books") == ["host"]
    no_reserve = markdown.replace("| `daily_reserve` (extra)", "| daily reserve (extra)")
    assert missing_connection_fields(no_reserve, "zoho_books") == ["daily_reserve"]
    made_up = markdown.replace("| `timeout` (extra) |", "| `timeout`, `tmeout` (extra) |")
    assert unknown_connection_fields(made_up, "zoho_books") == ["tmeout"]


# --- (e) every ml-connector command and option is in docs/cli.md ---------------------------

def command_parsers() -> dict[str, argparse.ArgumentParser]:
    """``"webhooks serve"`` -> its parser, for every command of ``ml-connector``; the
    sandbox's own commands under ``sandbox`` when it is installed."""
    from ml_connector.cli import build_parser

    def walk(parser: argparse.ArgumentParser,
             prefix: str) -> Iterator[tuple[str, argparse.ArgumentParser]]:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    path = f"{prefix} {name}".strip()
                    yield path, sub
                    yield from walk(sub, path)

    found = dict(walk(build_parser(), ""))
    try:
        from ml_connector_sandbox.cli import build_parser as sandbox_parser
    except ImportError:  # the sandbox is a separate distribution
        return found
    found.update(walk(sandbox_parser("ml-connector sandbox"), "sandbox"))
    return found


def _arguments(parser: argparse.ArgumentParser) -> list[str]:
    """The options (``--flows``) and named positionals (``DAGS_FOLDER``) of a command."""
    names = []
    for action in parser._actions:
        if isinstance(action, (argparse._SubParsersAction, argparse._HelpAction)):
            continue
        if action.option_strings:
            names.append(max(action.option_strings, key=len))
        elif action.nargs != argparse.REMAINDER:
            names.append(str(action.metavar or action.dest))
    return names


def command_sections(markdown: str, *, nested: bool = True) -> dict[str, str]:
    """``"webhooks serve"`` -> its section, for each heading naming `ml-connector …`
    (without ``nested``: up to the next heading, its subcommands' sections left out)."""
    found = {}
    for level in range(1, 7):
        for heading, text in sections(markdown, level, nested=nested):
            for span in CODE_SPAN.findall(heading):
                if span.startswith("ml-connector "):
                    found[span.removeprefix("ml-connector ").strip()] = text
    return found


def cli_problems(markdown: str) -> list[str]:
    parsers = command_parsers()
    documented = command_sections(markdown)
    own = command_sections(markdown, nested=False)
    problems = []
    for path, parser in parsers.items():
        leaf = not any(other.startswith(f"{path} ") for other in parsers)
        if path not in documented:
            if leaf:
                problems.append(f"no heading `ml-connector {path}`")
            elif not any(s.startswith(f"ml-connector {path}") for s in code_spans(markdown)):
                problems.append(f"`ml-connector {path}` is never named")
            continue
        text = documented[path]
        spans = set(code_spans(text))
        problems += [f"ml-connector {path}: {arg} undocumented" for arg in _arguments(parser)
                     if arg not in spans]
        real = set(_arguments(parser))
        problems += [f"ml-connector {path}: {cell} is not an option" for cell in
                     (c.strip("`") for c in first_cells(own[path]))
                     if cell.startswith("--") and cell not in real]
    return problems


def test_every_command_and_option_is_in_cli_md():
    parsers = command_parsers()
    assert {"init", "doctor", "pools", "zoho authorize", "anaplan authorize", "runs", "audit",
            "reconcile", "webhooks serve", "webhooks events", "sandbox"} <= set(parsers)
    problems = cli_problems(read(DOCS / "cli.md"))
    assert not problems, "docs/cli.md: " + "; ".join(problems)


def test_the_cli_check_can_fail():
    markdown = read(DOCS / "cli.md")
    assert cli_problems(markdown.replace("`--max-body`", "max body")) == [
        "ml-connector webhooks serve: --max-body undocumented"]
    assert cli_problems(markdown.replace("## `ml-connector pools`", "## Pools")) == [
        "no heading `ml-connector pools`"]
    assert cli_problems(markdown.replace("| `--no-pools` |", "| `--no-pool` |")) == [
        "ml-connector init: --no-pools undocumented",
        "ml-connector init: --no-pool is not an option"]


# --- (f) every parameter of the hooks, operators, sensor and triggers is in operators.md ---

def documented_classes() -> dict[str, type]:
    from ml_connector.hooks.anaplan import AnaplanHook
    from ml_connector.hooks.zoho_books import ZohoBooksHook
    from ml_connector.operators.anaplan_import import AnaplanImportOperator
    from ml_connector.operators.extract_zoho import ExtractZohoOperator
    from ml_connector.sensors.anaplan import AnaplanTaskSensor
    from ml_connector.triggers.anaplan import AnaplanTaskTrigger
    from ml_connector.triggers.zoho import ZohoChangeTrigger

    return {c.__name__: c for c in (ZohoBooksHook, AnaplanHook, ExtractZohoOperator,
                                    AnaplanImportOperator, AnaplanTaskSensor,
                                    AnaplanTaskTrigger, ZohoChangeTrigger)}


def missing_parameters(markdown: str) -> list[str]:
    by_heading = {heading.strip("` "): text for level in (2, 3)
                  for heading, text in sections(markdown, level)}
    missing = []
    for name, cls in documented_classes().items():
        if name not in by_heading:
            missing.append(f"no heading {name}")
            continue
        rows = {span for cell in first_cells(by_heading[name])
                for span in CODE_SPAN.findall(cell)}
        missing += [f"{name}({p})" for p, param in inspect.signature(cls.__init__).parameters
                    .items() if p != "self" and param.kind not in (param.VAR_KEYWORD,
                                                                   param.VAR_POSITIONAL)
                    and p not in rows]
    return missing


def test_every_parameter_is_in_operators_md():
    missing = missing_parameters(read(DOCS / "operators.md"))
    assert not missing, f"docs/operators.md lacks: {', '.join(missing)}"


def test_the_parameter_check_can_fail():
    markdown = read(DOCS / "operators.md")
    assert missing_parameters(markdown.replace("| `lock_wait` |", "| lock wait |")) == [
        "AnaplanImportOperator(lock_wait)"]
