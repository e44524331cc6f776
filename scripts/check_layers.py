#!/usr/bin/env python3
"""Checks that the Rust modules of src/ depend on each other in one direction, down the layers.

The layers are the folders of src/: `src/lib.rs` declares them as modules, lowest first, and
that order is the only place it is written (each folder's `mod.rs` says what its layer owns).
Every file under `src/<layer>/` belongs to that layer, and to the module it is part of there
(src/engine/executor/run_queue/x.rs is `engine::executor`).

The module graph is derived from the source: an edge A -> B for every `crate::<layer>::<B>`
(in a `use`, a path, or a `use crate::<layer>::{B, ...}` group), every `lwt_rust::...` of the
same form and every `super::B` of a file directly under a layer, written in a file of module A.
Comments and string literals are skipped: an intra-doc link to a higher layer ("see
`crate::rust_to_ocaml::future::spawn`") documents, it does not depend.

Fails (exit 1) on:
  - an edge from a module of one layer to a module of a later one (same layer is allowed, as
    long as it makes no cycle);
  - a cycle between modules;
  - a file of src/ outside every layer folder (other than lib.rs), a folder of src/ that
    lib.rs does not declare, or a layer without its `mod.rs`;
  - a module of a layer naming something of the crate root (`crate::Promise`): inside the
    crate, code names the layer's module, never the facade's re-export.

Usage: scripts/check_layers.py [--graph]   (--graph prints the layers and the edges)
"""

import os
import re
import sys

SRC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src")


def declared_layers(lib_text):
    """The modules `lib.rs` declares (`mod x;`, any visibility), in order, without repeats."""
    layers = []
    for m in re.finditer(r"^\s*(?:pub(?:\(crate\))?\s+)?mod\s+(\w+)\s*;", lib_text, re.M):
        if m.group(1) not in layers:
            layers.append(m.group(1))
    return layers


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


def node_of(path, layers):
    """(layer, module) of a file: `values::conv` for src/values/conv.rs, the layer itself for
    its mod.rs; None for a file outside every layer."""
    parts = os.path.relpath(path, SRC).split(os.sep)
    if len(parts) < 2 or parts[0] not in layers:
        return None
    layer = parts[0]
    if len(parts) == 2 and parts[1] == "mod.rs":
        return layer, layer
    sub = parts[1][:-3] if parts[1].endswith(".rs") else parts[1]
    return layer, "%s::%s" % (layer, sub)


def path_heads(text, start):
    """The first segment of the path starting at `start`, or every head of a `{...}` group:
    (heads, index after them)."""
    m = re.match(r"\s*(\{)?", text[start:])
    j = start + m.end()
    if m.group(1):
        depth, k = 1, j
        while k < len(text) and depth:
            depth += {"{": 1, "}": -1}.get(text[k], 0)
            k += 1
        return group_heads(text[j:k - 1]), k
    name = re.match(r"\w+", text[j:])
    return ([name.group(0)] if name else []), j


def dependencies(text, layer, layers, direct):
    """(modules used, names of the crate root used) by a file of `layer`; `direct` when the
    file sits directly under the layer folder (so that `super::x` is `layer::x`)."""
    deps, facade = set(), set()
    for prefix in ("crate", "lwt_rust"):
        for m in re.finditer(r"(?<![\w:])%s\s*::" % prefix, text):
            for head in path_heads(text, m.end())[0]:
                rest = text[m.end():]
                if head in layers:
                    sub = re.match(r"\s*%s\s*::\s*" % head, rest)
                    subs = path_heads(rest, sub.end())[0] if sub else []
                    subs = [s for s in subs if s != "self"]
                    deps.update("%s::%s" % (head, s) for s in subs) if subs else deps.add(head)
                elif head != "self":
                    facade.add(head)
    if direct:
        for m in re.finditer(r"(?<![\w:])super\s*::", text):
            for head in path_heads(text, m.end())[0]:
                if head != "self":
                    deps.add("%s::%s" % (layer, head))
    return deps, facade


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
    with open(os.path.join(SRC, "lib.rs"), encoding="utf-8") as fh:
        layers = declared_layers(strip_comments_and_strings(fh.read()))
    rank = {l: i for i, l in enumerate(layers)}
    errors = []
    for entry in sorted(os.listdir(SRC)):
        full = os.path.join(SRC, entry)
        if os.path.isdir(full) and entry not in rank:
            errors.append("src/%s/ is no layer: declare it in src/lib.rs, in layer order" % entry)
    for l in layers:
        if not os.path.isfile(os.path.join(SRC, l, "mod.rs")):
            errors.append("layer %s has no src/%s/mod.rs (its design note)" % (l, l))
    files = []
    for dirpath, _, names in sorted(os.walk(SRC)):
        for f in sorted(names):
            if f.endswith(".rs"):
                files.append(os.path.join(dirpath, f))
    known = {n[1] for n in (node_of(f, rank) for f in files) if n}
    graph, layer_of = {}, {}
    for path in files:
        if True:
            rel = os.path.relpath(path, SRC)
            if rel == "lib.rs":
                continue
            node = node_of(path, rank)
            if node is None:
                errors.append("src/%s belongs to no layer: move it into a layer folder" % rel)
                continue
            layer, module = node
            layer_of[module] = layer
            with open(path, encoding="utf-8") as fh:
                text = strip_comments_and_strings(fh.read())
            deps, facade = dependencies(text, layer, rank, os.path.dirname(rel) == layer)
            for name in sorted(facade):
                errors.append(
                    "src/%s names crate::%s, which is no layer: name the layer's module" % (rel, name)
                )
            # `runtime::with_runtime` is an item of the layer's own mod.rs: an edge to the layer.
            deps = {d if d in known else d.split("::")[0] for d in deps}
            graph.setdefault(module, set()).update(deps - {module})
    for a in list(graph):
        for b in graph[a]:
            layer_of.setdefault(b, b.split("::")[0])
    if "--graph" in sys.argv:
        for l in layers:
            print("layer %d: %s" % (rank[l] + 1, l))
        for a in sorted(graph, key=lambda m: (rank[layer_of[m]], m)):
            print("  %-28s -> %s" % (a, " ".join(sorted(graph[a])) or "-"))
    for a in sorted(graph):
        for b in sorted(graph[a]):
            la, lb = layer_of[a], layer_of[b]
            if rank.get(lb, -1) > rank[la]:
                errors.append("%s (layer %s) uses %s (layer %s, above it)" % (a, la, b, lb))
    cycle = find_cycle(graph)
    if cycle:
        errors.append("cycle: " + " -> ".join(cycle))
    for e in errors:
        print("check_layers: " + e, file=sys.stderr)
    if errors:
        return 1
    print(
        "check_layers: %d layers (%s), %d modules, no cycle, every edge goes down the layers"
        % (len(layers), " < ".join(layers), len(graph))
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
