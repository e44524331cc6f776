#!/usr/bin/env python3
"""Checks that the Rust modules of src/ depend on each other in one direction.

The module graph is derived from the source: an edge A -> B for every `crate::B` (in a `use`,
a path, or a `use crate::{B, ...}` group) and every `lwt_rust::B` written in a file of module
A. A file belongs to the top-level module it is part of (src/executor/run_queue/x.rs is
`executor`). Comments and string literals are skipped: an intra-doc link to a higher layer
("see `crate::export_future::spawn`") documents, it does not depend.

Fails (exit 1) on:
  - a cycle between modules;
  - an edge from a lower layer to a higher one in LAYERS below (same layer is allowed, as long
    as it makes no cycle);
  - a module of src/ that LAYERS does not place (a new module must be given a layer).

Usage: scripts/check_layers.py [--graph]   (--graph prints the edges)
"""

import os
import re
import sys

# Lowest first. A module may use modules of its own layer and of the layers before it.
LAYERS = [
    # No OCaml: the executor core and what it is built from.
    ("core", ["stats", "keyed", "executor"]),
    # The owner thread's context: `with_runtime`, `Entered`, the drain-request flags, the
    # notifier, forwarded events. Calls nothing above it (what it needs from above, the drain
    # scheduling callback for instance, is registered at initialisation).
    ("context", ["runtime"]),
    # OCaml values: type markers, roots, errors, the OCaml functions Rust calls.
    ("values", ["conv", "object", "root", "error", "callbacks", "direct_return", "panic_report", "data_types"]),
    # The four directions, closures, other threads, tokio.
    (
        "directions",
        [
            "box_cache",
            "import_promise",
            "closure",
            "export_future",
            "export_stream",
            "import_stream",
            "tokio_rt",
            "handle",
            "blocking",
        ],
    ),
    # What every stub needs: containment, panic messages, error mapping, argument checks.
    ("boundary", ["boundary"]),
    # The exported C symbols and the helpers hand-written stubs use.
    ("stubs", ["stubs", "private", "handshake", "handshake_sources"]),
    # Initialisation and shutdown, on top of everything.
    ("lifecycle", ["lifecycle"]),
    # The crate root declares every module.
    ("root", ["lib"]),
]

SRC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src")


def strip_comments_and_strings(text):
    """The text with comments, string and char literals blanked out (newlines kept)."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif text.startswith("/*", i):
            depth, i = 1, i + 2
            while i < n and depth:
                if text.startswith("/*", i):
                    depth, i = depth + 1, i + 2
                elif text.startswith("*/", i):
                    depth, i = depth - 1, i + 2
                else:
                    if text[i] == "\n":
                        out.append("\n")
                    i += 1
        elif re.match(r'r#*"', text[i:i + 10]) and (i == 0 or not text[i - 1].isalnum()):
            hashes = re.match(r"r(#*)\"", text[i:]).group(1)
            end = text.find('"' + hashes, i + 2 + len(hashes))
            i = n if end < 0 else end + 1 + len(hashes)
            out.append('""')
        elif c == '"':
            i += 1
            while i < n and text[i] != '"':
                i += 2 if text[i] == "\\" else 1
            i += 1
            out.append('""')
        elif c == "'" and re.match(r"'(\\.|[^\\'])'", text[i:i + 4] + "    "):
            # A char literal ('"', '\n'); a lifetime ('a) has no closing quote.
            m = re.match(r"'(\\.[^']*|[^\\'])'", text[i:])
            i += len(m.group(0)) if m else 1
            out.append("' '")
        else:
            out.append(c)
            i += 1
    return "".join(out)


def group_heads(body):
    """The first path segment of every item of a `{...}` use group (nested groups skipped)."""
    heads, depth, item = [], 0, ""
    for c in body + ",":
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
        if depth == 0 and c == ",":
            head = item.strip().split("::")[0].strip()
            if head:
                heads.append(head)
            item = ""
        elif depth == 0:
            item += c
    return heads


def module_of(path):
    rel = os.path.relpath(path, SRC)
    first = rel.split(os.sep)[0]
    return first[:-3] if first.endswith(".rs") else first


def dependencies(text, modules):
    deps = set()
    for prefix in ("crate", "lwt_rust"):
        for m in re.finditer(r"\b%s\s*::\s*(\{)?" % prefix, text):
            if m.group(1):
                depth, j = 1, m.end()
                while j < len(text) and depth:
                    depth += {"{": 1, "}": -1}.get(text[j], 0)
                    j += 1
                deps.update(group_heads(text[m.end():j - 1]))
            else:
                name = re.match(r"\w+", text[m.end():])
                if name:
                    deps.add(name.group(0))
    aliases = {"__private": "private"}
    return {aliases.get(d, d) for d in deps} & modules


def find_cycle(graph):
    """One cycle of `graph` as a list of modules, or None."""
    state, stack = {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = "done"
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def main():
    files = []
    for dirpath, _, names in os.walk(SRC):
        files += [os.path.join(dirpath, f) for f in names if f.endswith(".rs")]
    modules = {module_of(f) for f in files}
    layer_of = {m: i for i, (_, ms) in enumerate(LAYERS) for m in ms}
    errors = []
    for m in sorted(modules - set(layer_of)):
        errors.append("module %s has no layer: add it to LAYERS in %s" % (m, sys.argv[0]))
    graph = {m: set() for m in modules}
    for f in files:
        with open(f, encoding="utf-8") as fh:
            text = strip_comments_and_strings(fh.read())
        a = module_of(f)
        graph[a] |= dependencies(text, modules) - {a}
    if "--graph" in sys.argv:
        for a in sorted(graph, key=lambda m: (layer_of.get(m, -1), m)):
            print("%-16s -> %s" % (a, " ".join(sorted(graph[a])) or "-"))
    for a in sorted(graph):
        for b in sorted(graph[a]):
            if a in layer_of and b in layer_of and layer_of[b] > layer_of[a]:
                errors.append(
                    "%s (layer %s) uses %s (layer %s, above it)"
                    % (a, LAYERS[layer_of[a]][0], b, LAYERS[layer_of[b]][0])
                )
    cycle = find_cycle(graph)
    if cycle:
        errors.append("cycle: " + " -> ".join(cycle))
    for e in errors:
        print("check_layers: " + e, file=sys.stderr)
    if errors:
        return 1
    print("check_layers: %d modules, no cycle, every edge goes down the layers" % len(modules))
    return 0


if __name__ == "__main__":
    sys.exit(main())
