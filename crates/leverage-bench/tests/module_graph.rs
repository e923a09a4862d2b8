//! No module of the bench imports a module that imports it, directly or through others (issue 12:
//! `report` and `soak` once did). Read from the sources: every `crate::`, `super::` and `self::`
//! path outside comments and inline test modules is an edge to the longest module its path names.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// A module's path from the crate root: `[]` for `main.rs`, `["soak", "mix"]` for
/// `soak/mix.rs`, `["soak"]` for `soak/mod.rs`.
type ModPath = Vec<String>;

fn module_of(relative: &Path) -> ModPath {
    let mut parts: Vec<String> = relative
        .with_extension("")
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "main" | "lib")
    ) {
        parts.pop();
    }
    parts
}

/// The text that counts: comments dropped, and inline `#[cfg(test)]` modules, whose `super::`
/// means the file's own module, cut off.
fn code(text: &str) -> String {
    let text = text.split("#[cfg(test)]").next().unwrap_or_default();
    text.lines()
        .map(|l| l.split("//").next().unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\n")
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// The paths after `anchor::` in `code`, each as its segments; a brace group
/// (`crate::{a::B, c}`) gives one path per member.
fn paths_after(code: &str, anchor: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let needle = format!("{anchor}::");
    let mut from = 0;
    while let Some(at) = code[from..].find(&needle) {
        let start = from + at;
        from = start + needle.len();
        if code[..start].chars().next_back().is_some_and(is_ident) {
            continue;
        }
        let rest = &code[from..];
        if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            for member in group[..end].split(',') {
                out.push(segments(member.trim()));
            }
        } else {
            out.push(segments(rest));
        }
    }
    out
}

fn segments(path: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = path;
    loop {
        let end = rest.find(|c: char| !is_ident(c)).unwrap_or(rest.len());
        if end == 0 {
            break;
        }
        out.push(rest[..end].to_owned());
        match rest[end..].strip_prefix("::") {
            Some(next) => rest = next,
            None => break,
        }
    }
    out
}

/// Module → the modules it refers to, for sources given as (path relative to `src`, text).
fn graph(files: &[(String, String)]) -> BTreeMap<ModPath, BTreeSet<ModPath>> {
    let modules: BTreeSet<ModPath> = files.iter().map(|(p, _)| module_of(Path::new(p))).collect();
    let mut edges: BTreeMap<ModPath, BTreeSet<ModPath>> = BTreeMap::new();
    for (path, text) in files {
        let me = module_of(Path::new(path));
        let code = code(text);
        let parent: ModPath = me[..me.len().saturating_sub(1)].to_vec();
        for (anchor, base) in [
            ("crate", Vec::new()),
            ("super", parent),
            ("self", me.clone()),
        ] {
            for segs in paths_after(&code, anchor) {
                let mut target = base.clone();
                target.extend(segs);
                while !modules.contains(&target) {
                    target.pop();
                }
                if target != me {
                    edges.entry(me.clone()).or_default().insert(target);
                }
            }
        }
        edges.entry(me).or_default();
    }
    edges
}

/// A cycle of modules, each importing the next and the last the first, if there is one.
fn find_cycle(edges: &BTreeMap<ModPath, BTreeSet<ModPath>>) -> Option<Vec<ModPath>> {
    fn visit(
        node: &ModPath,
        edges: &BTreeMap<ModPath, BTreeSet<ModPath>>,
        stack: &mut Vec<ModPath>,
        done: &mut BTreeSet<ModPath>,
    ) -> Option<Vec<ModPath>> {
        if let Some(i) = stack.iter().position(|m| m == node) {
            return Some(stack[i..].to_vec());
        }
        if done.contains(node) {
            return None;
        }
        stack.push(node.clone());
        for next in edges.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, edges, stack, done) {
                return Some(cycle);
            }
        }
        stack.pop();
        done.insert(node.clone());
        None
    }
    let mut done = BTreeSet::new();
    edges
        .keys()
        .find_map(|m| visit(m, edges, &mut Vec::new(), &mut done))
}

fn name(m: &ModPath) -> String {
    if m.is_empty() {
        "crate".to_owned()
    } else {
        m.join("::")
    }
}

fn sources(dir: &Path, root: &Path, out: &mut Vec<(String, String)>) {
    for entry in std::fs::read_dir(dir).expect("read src") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            sources(&path, root, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let relative = path.strip_prefix(root).expect("under src");
            let text = std::fs::read_to_string(&path).expect("read source");
            out.push((relative.to_string_lossy().into_owned(), text));
        }
    }
}

#[test]
fn no_module_of_the_bench_imports_a_module_that_imports_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &src, &mut files);
    let edges = graph(&files);
    assert!(edges.contains_key(&vec!["soak".to_owned(), "mix".to_owned()]));
    assert!(
        edges[&vec!["report".to_owned()]].contains(&vec!["table".to_owned()]),
        "the parser no longer sees report's imports: {edges:?}"
    );
    if let Some(cycle) = find_cycle(&edges) {
        let names: Vec<String> = cycle.iter().map(name).collect();
        panic!(
            "import cycle: {} → {}",
            names.join(" → "),
            names.first().map_or("", String::as_str)
        );
    }
}

#[test]
fn the_check_finds_cycles_through_groups_parents_and_other_modules() {
    let files = |list: &[(&str, &str)]| -> Vec<(String, String)> {
        list.iter()
            .map(|(p, t)| ((*p).to_owned(), (*t).to_owned()))
            .collect()
    };
    let two = files(&[
        ("main.rs", "mod a;\nmod b;\nuse crate::a::run;"),
        ("a.rs", "use crate::{stats::median, b::Thing};"),
        ("b.rs", "fn f() -> crate::a::Out { todo!() }"),
        ("stats.rs", "pub fn median() {}"),
    ]);
    let cycle = find_cycle(&graph(&two)).expect("a ⇄ b");
    assert_eq!(cycle.len(), 2, "{cycle:?}");

    let child_uses_parent = files(&[
        ("main.rs", "mod soak;"),
        (
            "soak/mod.rs",
            "mod mix;\nuse self::mix::Kind;\npub struct Config;",
        ),
        (
            "soak/mix.rs",
            "use super::Config;\n// use crate::main_thing;",
        ),
    ]);
    let cycle = find_cycle(&graph(&child_uses_parent)).expect("soak ⇄ soak::mix");
    assert_eq!(cycle.iter().map(name).collect::<Vec<_>>().len(), 2);

    let siblings_and_tests = files(&[
        ("main.rs", "mod soak;\nuse crate::soak::run;"),
        ("soak/mod.rs", "mod mix;\nmod calls;\nuse self::calls::Ctx;"),
        ("soak/calls.rs", "use super::mix::Kind;"),
        (
            "soak/mix.rs",
            "pub enum Kind {}\n#[cfg(test)]\nmod tests {\n    use super::*;\n}",
        ),
    ]);
    assert_eq!(find_cycle(&graph(&siblings_and_tests)), None);
}
