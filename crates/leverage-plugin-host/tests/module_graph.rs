//! No module of this crate imports a module that (transitively) imports it.
//!
//! The graph is read from the source: every `crate::…`, `super::…` and `self::…` path outside
//! comments, and every `use child::…` of a module's own child, is an edge to the longest module
//! that prefixes it (an item re-exported by `lib.rs` is an edge to the crate root). A `mod.rs` that re-exports its children therefore forbids
//! them to reach back into it: shared items live in a sibling module.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

type Graph = BTreeMap<String, BTreeSet<String>>;

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("src is readable") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            out.push(path);
        }
    }
}

/// `src/a/b.rs` → `a::b`, `src/a/mod.rs` → `a`, `src/lib.rs` → `` (the root). `None` for the
/// crate's binaries, which are crates of their own.
fn module_of(src: &Path, file: &Path) -> Option<String> {
    let relative = file.strip_prefix(src).ok()?.with_extension("");
    let mut parts: Vec<String> = relative
        .iter()
        .map(|part| part.to_string_lossy().into_owned())
        .collect();
    if parts.first().is_some_and(|first| first == "bin") {
        return None;
    }
    if parts
        .last()
        .is_some_and(|last| last == "mod" || last == "lib")
    {
        parts.pop();
    }
    Some(parts.join("::"))
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// The leading `a::b::c` of `path`, up to the first thing that is not a path segment.
fn segments(path: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = path.trim_start();
    loop {
        let ident: String = rest.chars().take_while(|c| is_ident(*c)).collect();
        if ident.is_empty() {
            break;
        }
        rest = &rest[ident.len()..];
        out.push(ident);
        match rest.strip_prefix("::") {
            Some(next) => rest = next,
            None => break,
        }
    }
    out
}

/// The members of the group `{…}` at the start of `text`, split at its own commas.
fn group_members(text: &str) -> Vec<&str> {
    let mut members = Vec::new();
    let (mut depth, mut start) = (0, 1);
    for (i, c) in text.char_indices() {
        match c {
            '{' => depth += 1,
            '}' | ',' if depth == 1 => {
                members.push(&text[start..i]);
                start = i + 1;
                if c == '}' {
                    break;
                }
            }
            '}' => depth -= 1,
            _ => {}
        }
    }
    members
}

/// The paths after each `crate::`, `super::` or `self::` in `code`, as (anchor, segments); a
/// group (`crate::{a, b::c}`) gives one path per member.
fn paths(code: &str) -> Vec<(&'static str, Vec<String>)> {
    let mut found = Vec::new();
    for anchor in ["crate", "super", "self"] {
        let needle = format!("{anchor}::");
        let mut at = 0;
        while let Some(offset) = code[at..].find(&needle) {
            let start = at + offset;
            at = start + needle.len();
            if code[..start].chars().next_back().is_some_and(is_ident) {
                continue;
            }
            let rest = &code[at..];
            if rest.starts_with('{') {
                for member in group_members(rest) {
                    found.push((anchor, segments(member)));
                }
            } else {
                found.push((anchor, segments(rest)));
            }
        }
    }
    found
}

/// The longest module in `modules` that prefixes `base::segments`.
fn target(modules: &BTreeSet<String>, base: &[String], segments: &[String]) -> String {
    let full: Vec<String> = base.iter().chain(segments).cloned().collect();
    (0..=full.len())
        .rev()
        .map(|n| full[..n].join("::"))
        .find(|candidate| modules.contains(candidate))
        .unwrap_or_default()
}

fn graph(src: &Path) -> Graph {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let sources: Vec<(String, String)> = files
        .iter()
        .filter_map(|file| {
            let module = module_of(src, file)?;
            Some((module, std::fs::read_to_string(file).expect("readable")))
        })
        .collect();
    let modules: BTreeSet<String> = sources.iter().map(|(module, _)| module.clone()).collect();
    let mut graph = Graph::new();
    for (module, text) in &sources {
        let own: Vec<String> = module
            .split("::")
            .filter(|part| !part.is_empty())
            .map(str::to_owned)
            .collect();
        let edges = graph.entry(module.clone()).or_default();
        // Inside an inline module (`mod tests { use super::*; }`), `super` is the file's module.
        let mut inline_depth = 0;
        for line in text.lines() {
            let code = line.split("//").next().unwrap_or("");
            if code.trim_start().starts_with("mod ") && code.trim_end().ends_with('{') {
                inline_depth += 1;
            }
            // `use child::Item;` (2018 paths): relative to this module.
            let statement = code.trim_start();
            let statement = statement
                .strip_prefix("pub(crate) ")
                .or_else(|| statement.strip_prefix("pub "))
                .unwrap_or(statement);
            if let Some(path) = statement.strip_prefix("use ") {
                let child = target(&modules, &own, &segments(path));
                if child.len() > module.len() {
                    edges.insert(child);
                }
            }
            for (anchor, segments) in paths(code) {
                let base: &[String] = match (anchor, inline_depth) {
                    ("crate", _) => &[],
                    ("super", 0) => &own[..own.len().saturating_sub(1)],
                    _ => &own,
                };
                let to = target(&modules, base, &segments);
                if to != *module {
                    edges.insert(to);
                }
            }
        }
    }
    graph
}

/// A cycle, as the modules along it, if there is one.
fn find_cycle(graph: &Graph) -> Option<Vec<String>> {
    fn visit(
        graph: &Graph,
        node: &str,
        stack: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = stack.iter().position(|on| on == node) {
            let mut cycle = stack[at..].to_vec();
            cycle.push(node.to_owned());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        stack.push(node.to_owned());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(graph, next, stack, done) {
                return Some(cycle);
            }
        }
        stack.pop();
        done.insert(node.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|node| visit(graph, node, &mut Vec::new(), &mut done))
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

#[test]
fn no_module_imports_a_module_that_imports_it() {
    let graph = graph(&src());
    if let Some(cycle) = find_cycle(&graph) {
        panic!(
            "import cycle: {}\n{graph:#?}",
            cycle
                .iter()
                .map(|m| if m.is_empty() { "lib" } else { m })
                .collect::<Vec<_>>()
                .join(" → ")
        );
    }
}

#[test]
fn the_graph_is_read_from_the_source() {
    let graph = graph(&src());
    let edges = |from: &str| graph.get(from).cloned().unwrap_or_default();
    // Known imports, so that a parser that reads nothing cannot pass the test above.
    assert!(edges("host").contains("plugin"), "{graph:#?}");
    assert!(edges("").contains("host"), "{graph:#?}");
    assert!(edges("inprocess").contains("load"), "{graph:#?}");
    // The backends build on the plugin's checks, never the reverse.
    assert!(!edges("plugin").iter().any(|to| to.starts_with("sandbox")));
    assert!(!edges("plugin").contains("inprocess"));
}

#[test]
fn a_cycle_is_found_and_named() {
    let mut graph = Graph::new();
    graph.entry("a".into()).or_default().insert("b".into());
    graph.entry("b".into()).or_default().insert("c".into());
    graph.entry("c".into()).or_default().insert("a".into());
    graph.entry("d".into()).or_default().insert("a".into());
    assert_eq!(
        find_cycle(&graph),
        Some(vec!["a".into(), "b".into(), "c".into(), "a".into()])
    );
    graph.get_mut("c").expect("c").clear();
    assert_eq!(find_cycle(&graph), None);
}

#[test]
fn paths_are_read_with_groups_and_anchors() {
    assert_eq!(
        paths("use crate::wire::{self, Init};"),
        vec![("crate", vec!["wire".to_owned()])]
    );
    assert_eq!(
        paths("use crate::{host, plugin::{Plugin, Limits}, sync::lock};"),
        vec![
            ("crate", vec!["host".to_owned()]),
            ("crate", vec!["plugin".to_owned()]),
            ("crate", vec!["sync".to_owned(), "lock".to_owned()]),
        ]
    );
    assert_eq!(
        paths("let x = super::process::start(a);"),
        vec![("super", vec!["process".to_owned(), "start".to_owned()])]
    );
}
