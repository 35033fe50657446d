#!/usr/bin/env python3
"""Lists import circles between the files of a Rust crate: groups of files (each file is a
module) that reach each other through `use` items and `crate::` / `super::` / `self::` paths.

usage: tools/import_circles.py [--imports-only] CRATE_SRC_DIR...   (e.g. broker/src)
Prints one line per circle (the files, and one path per edge that closes it) and exits 1 when
it found any; prints nothing and exits 0 when there are none.

What counts as an edge A -> B: code in A names an item defined in B, through a `use` item, a
`crate::`/`super::`/`self::` path, or a path starting with one of A's own child modules
(`avro::AvroFormat::new` in `format/mod.rs`; `--imports-only` leaves these out). Resolved through re-exports
(`pub use child::Item` in a mod.rs points at the child's file), so a parent that only declares
and re-exports its children does not depend on them. Not counted: comments, doc links, strings,
test code (`#[cfg(test)]` modules, inline or in their own files), `mod` declarations.
A text-level reader, not a compiler: macros and glob imports of items (`use x::*`) are
followed only as far as the module they name.
"""

import os
import re
import sys

ITEM = re.compile(
    r"^\s*(?:pub(?:\([^)]*\))?\s+)?(?:unsafe\s+|async\s+|const\s+|extern\s+\"C\"\s+)*"
    r"(?:struct|enum|trait|fn|type|const|static|union|macro_rules!)\s+([A-Za-z_][A-Za-z0-9_]*)",
    re.M,
)
MOD_DECL = re.compile(r"((?:#\[[^\]]*\]\s*)*)(?:pub(?:\([^)]*\))?\s+)?mod\s+([A-Za-z_][A-Za-z0-9_]*)\s*;")
USE = re.compile(r"(?:^|[;{}\s])((?:pub(?:\([^)]*\))?\s+)?)use\s+([^;]+);")
INLINE = re.compile(r"\b((?:crate|super|self)(?:::[A-Za-z_][A-Za-z0-9_]*)+)")
# A path whose first segment may be a child module of the file's module (`avro::AvroFormat::new`
# in `format/mod.rs`): counted only when that child exists.
BARE = re.compile(r"(?<![:\w])([a-z_][a-z0-9_]*(?:::[A-Za-z_][A-Za-z0-9_]*)+)")


def strip(src):
    """Removes comments, strings and char literals, keeping line structure."""
    out, i, n = [], 0, len(src)
    while i < n:
        c = src[i]
        if src.startswith("//", i):
            j = src.find("\n", i)
            i = n if j < 0 else j
        elif src.startswith("/*", i):
            depth, i = 1, i + 2
            while i < n and depth:
                if src.startswith("/*", i):
                    depth, i = depth + 1, i + 2
                elif src.startswith("*/", i):
                    depth, i = depth - 1, i + 2
                else:
                    if src[i] == "\n":
                        out.append("\n")
                    i += 1
        elif c == "r" and re.match(r'r#*"', src[i:i + 10]) and (i == 0 or not (src[i - 1].isalnum() or src[i - 1] == "_")):
            m = re.match(r'r(#*)"', src[i:])
            end = src.find('"' + m.group(1), i + len(m.group(0)))
            end = n if end < 0 else end + 1 + len(m.group(1))
            out.append('""' + "\n" * src.count("\n", i, end))
            i = end
        elif c == '"':
            j = i + 1
            while j < n and src[j] != '"':
                j += 2 if src[j] == "\\" else 1
            out.append('""' + "\n" * src.count("\n", i, j))
            i = j + 1
        elif c == "'" and re.match(r"'(\\.|[^\\'])'|'\\u\{[0-9a-fA-F]+\}'|'\\x[0-9a-fA-F]{2}'", src[i:i + 12]):
            m = re.match(r"'(\\.|[^\\'])'|'\\u\{[0-9a-fA-F]+\}'|'\\x[0-9a-fA-F]{2}'", src[i:i + 12])
            out.append("' '")
            i += len(m.group(0))
        else:
            out.append(c)
            i += 1
    return "".join(out)


def drop_test_blocks(src):
    """Removes inline `#[cfg(test)] mod x { ... }` blocks (and other #[cfg(test)] items with a body)."""
    while True:
        m = re.search(r"#\[cfg\(test\)\]\s*(?:#\[[^\]]*\]\s*)*(?:pub(?:\([^)]*\))?\s+)?(?:mod|fn|impl)\b[^;{]*\{", src)
        if not m:
            return src
        depth, j = 1, m.end()
        while j < len(src) and depth:
            depth += {"{": 1, "}": -1}.get(src[j], 0)
            j += 1
        src = src[:m.start()] + "\n" * src.count("\n", m.start(), j) + src[j:]


def expand_use(tree):
    """`a::{b, c::{d, e as f}}` -> ['a::b', 'a::c::d', 'a::c::e']."""
    tree = re.sub(r"\s+as\s+[A-Za-z_][A-Za-z0-9_]*", "", tree)  # `e as f` names e
    tree = re.sub(r"\s+", "", tree)
    def rec(prefix, t):
        res, depth, start, parts = [], 0, 0, []
        if t.startswith("{") and t.endswith("}"):
            inner = t[1:-1]
            for k, ch in enumerate(inner):
                if ch == "{":
                    depth += 1
                elif ch == "}":
                    depth -= 1
                elif ch == "," and depth == 0:
                    parts.append(inner[start:k])
                    start = k + 1
            parts.append(inner[start:])
            for p in parts:
                if p:
                    res += rec(prefix, p)
            return res
        k = t.find("::{")
        if k >= 0:
            return rec(prefix + t[:k] + "::", t[k + 2:])
        return [prefix + t]
    return rec("", tree)


class Crate:
    def __init__(self, src, children=True):
        self.src = os.path.normpath(src)
        self.children = children  # count paths through a file's own child modules
        self.files = {}  # module path tuple -> file
        self.text = {}  # file -> stripped code
        self.tests = set()  # files that are test modules
        self.reexports = {}  # file -> {name: full path}
        self.items = {}  # file -> set of item names
        self.load(("",), os.path.join(self.src, "lib.rs") if os.path.exists(os.path.join(self.src, "lib.rs")) else os.path.join(self.src, "main.rs"), False)

    def child_file(self, parent_file, parent_mod, name):
        d = os.path.dirname(parent_file)
        base = os.path.basename(parent_file)
        if base not in ("lib.rs", "main.rs", "mod.rs"):
            d = os.path.join(d, base[:-3])
        for cand in (os.path.join(d, name + ".rs"), os.path.join(d, name, "mod.rs")):
            if os.path.exists(cand):
                return cand
        return None

    def load(self, modpath, path, is_test):
        raw = strip(open(path, encoding="utf-8").read())
        self.files[modpath] = path
        if is_test:
            self.tests.add(path)
        for m in MOD_DECL.finditer(raw):
            child = self.child_file(path, modpath, m.group(2))
            if child:
                self.load(modpath + (m.group(2),), child, is_test or "cfg(test)" in m.group(1))
        code = drop_test_blocks(raw)
        self.text[path] = code
        self.items[path] = set(ITEM.findall(code))

    def module_of(self, path):
        return next(k for k, v in self.files.items() if v == path)

    def resolve(self, cur, segs, depth=0):
        """The file defining the item a path names, seen from module `cur`."""
        if depth > 8 or not segs:
            return None
        mod = list(cur)
        if segs[0] == "crate":
            mod, segs = [""], segs[1:]
        elif segs[0] in ("super", "self"):
            while segs and segs[0] in ("super", "self"):
                if segs[0] == "super" and len(mod) > 1:
                    mod.pop()
                segs = segs[1:]
        elif tuple(mod) + (segs[0],) in self.files:
            pass  # a child module, relative
        elif ("", segs[0]) in self.files and mod == [""]:
            pass
        else:
            return None  # an external crate or a local name
        while segs and tuple(mod) + (segs[0],) in self.files:
            mod.append(segs[0])
            segs = segs[1:]
        f = self.files[tuple(mod)]
        if not segs or segs[0] == "*" or segs[0] in self.items[f]:
            return f
        target = self.reexport_map(f).get(segs[0])
        if target:
            return self.resolve(tuple(mod), target.split("::") + segs[1:], depth + 1)
        return f

    def reexport_map(self, f):
        if f not in self.reexports:
            m = {}
            for u in USE.finditer(self.text[f]):
                if u.group(1).strip():
                    for p in expand_use(u.group(2)):
                        m[p.split("::")[-1]] = p
            self.reexports[f] = m
        return self.reexports[f]

    def edges(self):
        out = {}
        for modpath, f in self.files.items():
            if f in self.tests:
                continue
            code = self.text[f]
            paths = []
            for u in USE.finditer(code):
                paths += [(p, bool(u.group(1).strip())) for p in expand_use(u.group(2))]
            rest = USE.sub(" ", code)
            paths += [(m.group(1), False) for m in INLINE.finditer(rest)]
            if self.children:
                paths += [(m.group(1), False) for m in BARE.finditer(rest) if modpath + (m.group(1).split("::")[0],) in self.files]
            for p, reexport in paths:
                segs = [s for s in p.split("::") if s]
                if segs and segs[0] == "self" and len(segs) == 1:
                    continue
                t = self.resolve(modpath, segs)
                if not t or t == f or t in self.tests:
                    continue
                if reexport and self.module_of(t)[:len(modpath)] == modpath:
                    continue  # a module re-exporting its own descendants: a facade, not a use
                out.setdefault(f, {}).setdefault(t, p)
        return out


def circles(edges):
    index, low, stack, on, res, n = {}, {}, [], set(), [], [0]
    nodes = set(edges) | {t for ts in edges.values() for t in ts}
    sys.setrecursionlimit(10000)
    def visit(v):
        index[v] = low[v] = n[0]
        n[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges.get(v, {}):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                res.append(sorted(comp))
    for v in sorted(nodes):
        if v not in index:
            visit(v)
    return res


def main(args):
    children = "--imports-only" not in args
    dirs = [a for a in args if a != "--imports-only"]
    found = 0
    for d in dirs:
        c = Crate(d, children)
        e = c.edges()
        for comp in circles(e):
            found += 1
            rel = lambda f: os.path.relpath(f, c.src)
            print(f"{d}: circle of {len(comp)} files: " + ", ".join(rel(f) for f in comp))
            for a in comp:
                for b, p in sorted(e.get(a, {}).items()):
                    if b in comp:
                        print(f"    {rel(a)} -> {rel(b)}  ({p})")
    return 1 if found else 0


if __name__ == "__main__":
    if len(sys.argv) < 2:
        print(__doc__.strip().split("\n\n")[1], file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1:]))
