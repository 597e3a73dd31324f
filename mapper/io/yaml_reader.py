"""Reading one YAML file safely: UTF-8 only, one document, no duplicate keys,
alias expansion and nesting bounded before any Python object is built.

PyYAML's ``safe_load`` expands aliases as it constructs objects, so nine
nested anchors of nine aliases each (a "billion laughs" document) build 9**9
values and exhaust memory. Here the file is first composed into its node
graph (aliases are shared nodes, so composing is cheap), the size of the
expanded tree is counted with memoisation over node identity, and the
document is refused above ``MAX_NODES`` before it is constructed. The
events come from libyaml where PyYAML was built with it (5x faster than its
Python scanner); composing and constructing stay in Python either way.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.parser import Parser
from yaml.reader import Reader
from yaml.resolver import Resolver
from yaml.scanner import Scanner

from mapper.core.errors import SpecError

MAX_FILE_BYTES = 2**20  # a bundled network is a few KiB; an imported ResNet-152 under 100 KiB
MAX_NODES = 100_000  # values, keys, lists and mappings after alias expansion
MAX_DEPTH = 64  # nested lists and mappings (a problem file nests at most 5 deep)
MERGE_TAG = "tag:yaml.org,2002:merge"


def _line(mark) -> str:
    return f"line {mark.line + 1}"


LIBYAML = bool(getattr(yaml, "__with_libyaml__", False))

if LIBYAML:
    from yaml._yaml import CParser as _Events  # libyaml's scanner and parser, about 5x faster than PyYAML's

    def _start_events(loader, text: str) -> None:
        _Events.__init__(loader, text)

else:  # pragma: no cover - a PyYAML built without libyaml

    class _Events(Reader, Scanner, Parser):
        pass

    def _start_events(loader, text: str) -> None:
        Reader.__init__(loader, text)
        Scanner.__init__(loader)
        Parser.__init__(loader)


class _Loader(Composer, SafeConstructor, Resolver, _Events):
    """A safe loader (events from libyaml where PyYAML has it, composed and
    constructed in Python) that records the first alias, bounds the nesting
    and the number of composed nodes, refuses duplicate keys and turns a value
    that cannot be converted (an integer of 5000 digits, a date 2024-13-45)
    into a SpecError naming its line."""

    def __init__(self, text: str, source: str):
        _start_events(self, text)
        Composer.__init__(self)
        SafeConstructor.__init__(self)
        Resolver.__init__(self)
        self.source = source
        self.first_alias = None
        self.depth = 0
        self.composed = 0

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            if self.first_alias is None:
                self.first_alias = self.peek_event().start_mark
            return super().compose_node(parent, index)
        mark = self.peek_event().start_mark
        self.composed += 1
        if self.composed > MAX_NODES:
            raise SpecError(
                self.source,
                _line(mark),
                f"the file has more than {MAX_NODES:,} YAML values",
                "split it into smaller files",
            )
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise SpecError(
                self.source, _line(mark), f"lists and mappings nest deeper than {MAX_DEPTH} levels", "flatten them"
            )
        try:
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            first: dict[Any, Any] = {}
            for key_node, _ in node.value:
                if key_node.tag == MERGE_TAG or not isinstance(key_node, yaml.ScalarNode):
                    continue  # merges may override; a non-scalar key is refused by SafeLoader itself
                key = self.construct_object(key_node)
                if key in first:
                    raise SpecError(
                        self.source,
                        _line(key_node.start_mark),
                        f"duplicate key {key!r} (first on {_line(first[key])})",
                        "remove one of them",
                    )
                first[key] = key_node.start_mark
        return super().construct_mapping(node, deep=deep)

    def construct_object(self, node, deep=False):
        try:
            return super().construct_object(node, deep=deep)
        except SpecError:
            raise
        except (ValueError, OverflowError) as err:
            shown = str(node.value)[:40] if isinstance(node, yaml.ScalarNode) else node.tag
            reason = str(err).split(":")[0]
            raise SpecError(
                self.source,
                _line(node.start_mark),
                f"cannot read the value {shown!r} ({reason})",
                "write a valid value",
            ) from None


def _children(node) -> list:
    if isinstance(node, yaml.SequenceNode):
        return node.value
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def _check_expansion(root, loader: _Loader) -> None:
    """Refuse a document whose tree, with every alias expanded, has more than
    MAX_NODES nodes or nests deeper than MAX_DEPTH, or whose alias refers to
    a node that contains it. Iterative depth-first search; each distinct node
    is sized once."""
    size: dict[int, int] = {}
    depth: dict[int, int] = {}
    entered: set[int] = set()
    stack = [(root, False)]
    where = _line(loader.first_alias) if loader.first_alias else "<file>"
    while stack:
        node, finished = stack.pop()
        key = id(node)
        if finished:
            children = _children(node)
            size[key] = 1 + sum(size[id(c)] for c in children)
            depth[key] = 1 + max((depth[id(c)] for c in children), default=0)
            if size[key] > MAX_NODES:
                raise SpecError(
                    loader.source,
                    where,
                    f"its aliases (*anchor) expand to more than {MAX_NODES:,} YAML values",
                    "write the values out instead of nesting aliases",
                )
            if depth[key] > MAX_DEPTH:
                raise SpecError(
                    loader.source, where, f"its aliases (*anchor) nest deeper than {MAX_DEPTH} levels", "flatten them"
                )
            continue
        if key in size:
            continue
        if key in entered:
            raise SpecError(loader.source, where, "an alias (*anchor) refers to a value that contains it", "remove it")
        entered.add(key)
        stack.append((node, True))
        stack.extend((child, False) for child in _children(node) if id(child) not in size)


def _read_text(path: Path, source: str) -> str:
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise SpecError(
                source,
                "<file>",
                f"is {size:,} bytes; at most {MAX_FILE_BYTES:,} are read",
                "split it into smaller files",
            )
        data = path.read_bytes()
    except OSError as err:
        raise SpecError(source, "<file>", f"cannot be read ({err.strerror or err})", "check the path") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise SpecError(
            source,
            "<file>",
            f"is not UTF-8 text (byte 0x{data[err.start]:02x} at offset {err.start})",
            "save it as UTF-8",
        ) from None


def read_yaml(path: Path) -> Any:
    """The one document of a YAML file, as Python values (SafeLoader types)."""
    source = str(path)
    text = _read_text(Path(path), source)
    loader = None
    try:
        loader = _Loader(text, source)
        node = loader.get_single_node()
        if node is None:
            raise SpecError(source, "<file>", "is empty", "write the fields as a YAML mapping")
        if loader.first_alias is not None:  # without aliases, compose_node has bounded the tree already
            _check_expansion(node, loader)
        return loader.construct_document(node)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        where = _line(mark) if mark else "<file>"
        if isinstance(err, yaml.composer.ComposerError) and "another document" in str(err.problem):
            raise SpecError(source, where, "a second YAML document starts here (---)", "keep one document") from None
        raise SpecError(source, where, f"invalid YAML ({err.problem or err.context})") from None
    except yaml.reader.ReaderError as err:
        offset = err.position if LIBYAML else len(text[: err.position].encode())  # in bytes either way
        problem = f"character #x{err.character:04x} is not allowed in YAML (offset {offset})"
        raise SpecError(source, "<file>", problem, "remove it") from None
    except yaml.YAMLError as err:
        raise SpecError(source, "<file>", f"invalid YAML ({err})") from None
    except RecursionError:
        raise SpecError(source, "<file>", "lists and mappings nest too deeply", "flatten them") from None
    finally:
        if loader is not None:
            loader.dispose()
