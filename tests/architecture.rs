//! The rooms' rules, checked on the source: every import points down the layers
//! of docs/ARCHITECTURE.md, and no two files import each other. Imports are the
//! `crate::` and `super::` paths of a file (outside its `#[cfg(test)]` part),
//! resolved to the file of the longest module prefix that exists.
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Lowest first. A room may import rooms of lower layers only (docs/ARCHITECTURE.md).
const LAYERS: &[&[&str]] = &[
    &["domain"],
    &["filter", "protocol"],
    &["config"],
    &["connectors", "store", "policy", "reference"],
    &["actions", "sync", "scan", "findings", "home", "detail", "audit"],
    &["context"],
    &["tui"],
    &["bench"],
    &["cli"],
];

/// A module path (`["store", "sqlite"]`) for a file under src/.
fn module_of(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).expect("under src").with_extension("");
    let mut parts: Vec<String> = rel.iter().map(|p| p.to_string_lossy().into_owned()).collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    if parts.len() == 1 && (parts[0] == "lib" || parts[0] == "main") {
        parts.clear();
    }
    parts
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The code that ships: comments and the `#[cfg(test)]` tail dropped.
fn shipped_code(text: &str) -> String {
    let text = text.find("#[cfg(test)]").map_or(text, |i| &text[..i]);
    text.lines().map(|l| l.split("//").next().unwrap_or("")).collect::<Vec<_>>().join("\n")
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Every path written after `crate::` or `super::` (groups `{a, b::c}` expanded), with its root.
fn paths(code: &str) -> Vec<(String, Vec<String>)> {
    let chars: Vec<char> = code.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let rest: String = chars[i..chars.len().min(i + 7)].iter().collect();
        let root = ["crate::", "super::"].into_iter().find(|r| rest.starts_with(r));
        let boundary = i == 0 || !(is_ident(chars[i - 1]) || chars[i - 1] == ':');
        match root {
            Some(r) if boundary => {
                let (items, end) = path_tail(&chars, i + r.len());
                out.extend(items.into_iter().map(|p| (r.trim_end_matches(':').to_string(), p)));
                i = end;
            }
            _ => i += 1,
        }
    }
    out
}

/// Reads `a::b::{c, d::e}` from `at`; returns each full path and where it ended.
fn path_tail(chars: &[char], mut at: usize) -> (Vec<Vec<String>>, usize) {
    let mut prefix = Vec::new();
    loop {
        while chars.get(at).is_some_and(|c| c.is_whitespace()) {
            at += 1;
        }
        let start = at;
        while at < chars.len() && is_ident(chars[at]) {
            at += 1;
        }
        if at > start {
            prefix.push(chars[start..at].iter().collect::<String>());
        } else if chars.get(at) == Some(&'{') {
            let mut depth = 0;
            let mut items = Vec::new();
            let mut item_start = at + 1;
            while at < chars.len() {
                match chars[at] {
                    '{' => depth += 1,
                    '}' | ',' if depth == 1 => {
                        let (mut found, _) = path_tail(&chars[item_start..at], 0);
                        for f in &mut found {
                            let mut full = prefix.clone();
                            full.extend(f.drain(..).filter(|s| s != "self"));
                            items.push(full);
                        }
                        if found.is_empty() {
                            items.push(prefix.clone());
                        }
                        if chars[at] == '}' {
                            return (items, at + 1);
                        }
                        item_start = at + 1;
                    }
                    '}' => depth -= 1,
                    _ => {}
                }
                at += 1;
            }
            return (items, at);
        } else if chars.get(at) == Some(&'*') {
            return (vec![prefix], at + 1);
        }
        if chars.get(at) == Some(&':') && chars.get(at + 1) == Some(&':') {
            at += 2;
        } else {
            return (vec![prefix], at);
        }
    }
}

struct Tree {
    src: PathBuf,
    modules: BTreeMap<Vec<String>, PathBuf>,
}

impl Tree {
    fn load() -> Tree {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = Vec::new();
        rust_files(&src, &mut files);
        let modules = files.iter().map(|f| (module_of(&src, f), f.clone())).filter(|(m, _)| !m.is_empty()).collect();
        Tree { src, modules }
    }

    fn resolve(&self, path: &[String]) -> Option<&PathBuf> {
        (1..=path.len()).rev().find_map(|n| self.modules.get(&path[..n]))
    }

    /// file -> the files it imports.
    fn imports(&self) -> BTreeMap<PathBuf, BTreeSet<PathBuf>> {
        let mut graph = BTreeMap::new();
        for (module, file) in &self.modules {
            let code = shipped_code(&std::fs::read_to_string(file).expect("read"));
            let mut targets = BTreeSet::new();
            for (root, path) in paths(&code) {
                let mut full = if root == "crate" { Vec::new() } else { module[..module.len() - 1].to_vec() };
                let mut rest = path.as_slice();
                while rest.first().is_some_and(|s| s == "super") {
                    full.pop();
                    rest = &rest[1..];
                }
                full.extend(rest.iter().cloned());
                if let Some(target) = self.resolve(&full).filter(|t| *t != file) {
                    targets.insert(target.clone());
                }
            }
            // A module's file that names a child module (`child::x`) imports that child.
            for (child, child_file) in self.modules.iter().filter(|(m, _)| m.len() == module.len() + 1 && m.starts_with(module)) {
                let name = format!("{}::", child[module.len()]);
                if code.match_indices(&name).any(|(i, _)| i == 0 || !code[..i].ends_with(|c: char| is_ident(c) || c == ':')) {
                    targets.insert(child_file.clone());
                }
            }
            graph.insert(file.clone(), targets);
        }
        graph
    }

    fn room(&self, file: &Path) -> String {
        module_of(&self.src, file).first().cloned().unwrap_or_default()
    }
}

fn layer(room: &str) -> usize {
    LAYERS.iter().position(|l| l.contains(&room)).unwrap_or_else(|| panic!("room '{room}' is in no layer of LAYERS"))
}

#[test]
fn imports_point_down_the_layers() {
    let tree = Tree::load();
    let graph = tree.imports();
    let mut upward = Vec::new();
    let mut edges = 0;
    for (file, targets) in &graph {
        for target in targets {
            let (from, to) = (tree.room(file), tree.room(target));
            if from != to {
                edges += 1;
                if layer(&to) >= layer(&from) {
                    upward.push(format!("{} imports {} ({from} -> {to})", file.display(), target.display()));
                }
            }
        }
    }
    // The checker sees the real flow, so it cannot pass by seeing nothing.
    assert!(edges > 50, "only {edges} imports across rooms found: the checker is broken");
    let effects = tree.src.join("tui/effects.rs");
    assert!(graph[&effects].contains(&tree.src.join("store/mod.rs")), "tui/effects.rs uses the store");
    assert!(upward.is_empty(), "imports that do not point down:\n{}", upward.join("\n"));
}

#[test]
fn no_two_files_import_each_other() {
    let tree = Tree::load();
    let graph = tree.imports();
    let mut mutual = Vec::new();
    for (a, targets) in &graph {
        for b in targets {
            if a < b && graph.get(b).is_some_and(|t| t.contains(a)) {
                mutual.push(format!("{} <-> {}", a.display(), b.display()));
            }
        }
    }
    assert!(mutual.is_empty(), "files that import each other:\n{}", mutual.join("\n"));
}

#[test]
fn the_checker_reads_groups_globs_and_super() {
    let found = paths("use crate::store::{Store, rows::{Key, Sort}};\nuse super::*;\nlet x = crate::domain::fmt_ts(&t);");
    let flat: Vec<String> = found.iter().map(|(r, p)| format!("{r}::{}", p.join("::"))).collect();
    assert_eq!(flat, ["crate::store::Store", "crate::store::rows::Key", "crate::store::rows::Sort", "super::", "crate::domain::fmt_ts"]);
}
