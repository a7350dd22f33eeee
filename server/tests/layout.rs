//! The module map holds: read from the sources themselves, no module of `server/src` imports
//! another in a circle, `domain` imports nothing of I/O, and the layers only call downwards
//! (`http`, `ws` → `app` → `domain`, `store`, `live`, `identity`, `media`). A change that
//! breaks the map fails here, with the imports that break it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Module path (`app::issues`) → the `crate::…` paths its non-test code names.
fn modules() -> BTreeMap<String, BTreeSet<String>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    walk(&root, &mut files);
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in files {
        let rel = file.strip_prefix(&root).unwrap().with_extension("");
        let mut parts: Vec<String> = rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        if parts.last().is_some_and(|p| p == "mod" || p == "tests") && parts.len() > 1 {
            parts.pop();
        }
        let source = std::fs::read_to_string(&file).unwrap();
        // Unit tests may reach anywhere; the map is about the code that ships.
        let shipped = source.split("#[cfg(test)]").next().unwrap_or_default();
        out.entry(parts.join("::"))
            .or_default()
            .extend(crate_paths(shipped));
    }
    out
}

fn walk(dir: &Path, files: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            walk(&path, files);
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
}

/// Every `crate::a::b` named in `source`, as `a::b`.
fn crate_paths(source: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = source;
    while let Some(at) = rest.find("crate::") {
        rest = &rest[at + "crate::".len()..];
        let path: String = rest
            .chars()
            .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_' || *c == ':')
            .collect();
        out.insert(path.trim_end_matches(':').to_owned());
    }
    out
}

/// The module a path names: its longest prefix that is a module.
fn resolve<'a>(path: &str, modules: &'a BTreeMap<String, BTreeSet<String>>) -> Option<&'a str> {
    let parts: Vec<&str> = path.split("::").collect();
    (1..=parts.len())
        .rev()
        .map(|n| parts[..n].join("::"))
        .find_map(|p| modules.get_key_value(&p).map(|(k, _)| k.as_str()))
}

fn top(module: &str) -> &str {
    module.split("::").next().unwrap_or(module)
}

/// Imports between modules, leaving out a module's own children and parents.
fn edges(modules: &BTreeMap<String, BTreeSet<String>>) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for (from, paths) in modules {
        for path in paths {
            let Some(to) = resolve(path, modules) else {
                continue;
            };
            let nested = to == from
                || to.starts_with(&format!("{from}::"))
                || from.starts_with(&format!("{to}::"));
            if !nested {
                out.insert((from.clone(), to.to_owned()));
            }
        }
    }
    out
}

/// The cycles of a graph, as their sets of nodes (Tarjan's strongly connected components).
fn cycles(edges: &BTreeSet<(String, String)>) -> Vec<BTreeSet<String>> {
    let mut graph: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (a, b) in edges {
        graph.entry(a).or_default().push(b);
        graph.entry(b).or_default();
    }
    struct Walk<'a> {
        graph: &'a BTreeMap<&'a str, Vec<&'a str>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        found: Vec<BTreeSet<String>>,
    }
    impl<'a> Walk<'a> {
        fn visit(&mut self, v: &'a str) {
            let n = self.index.len();
            self.index.insert(v, n);
            self.low.insert(v, n);
            self.stack.push(v);
            for &w in &self.graph[v] {
                if !self.index.contains_key(w) {
                    self.visit(w);
                    let low = self.low[v].min(self.low[w]);
                    self.low.insert(v, low);
                } else if self.stack.contains(&w) {
                    let low = self.low[v].min(self.index[w]);
                    self.low.insert(v, low);
                }
            }
            if self.low[v] == self.index[v] {
                let mut component = BTreeSet::new();
                while let Some(w) = self.stack.pop() {
                    component.insert(w.to_owned());
                    if w == v {
                        break;
                    }
                }
                if component.len() > 1 {
                    self.found.push(component);
                }
            }
        }
    }
    let mut walk = Walk {
        graph: &graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        found: Vec::new(),
    };
    for &v in graph.keys() {
        if !walk.index.contains_key(v) {
            walk.visit(v);
        }
    }
    walk.found
}

fn explain(edges: &BTreeSet<(String, String)>, cycle: &BTreeSet<String>) -> String {
    edges
        .iter()
        .filter(|(a, b)| cycle.contains(a) && cycle.contains(b))
        .map(|(a, b)| format!("  {a} -> {b}\n"))
        .collect()
}

#[test]
fn no_two_modules_import_each_other_in_a_circle() {
    let modules = modules();
    assert!(modules.len() > 50, "the sources were found");
    let edges = edges(&modules);
    let found: String = cycles(&edges).iter().map(|c| explain(&edges, c)).collect();
    assert!(found.is_empty(), "modules in a circle:\n{found}");
    let tops: BTreeSet<(String, String)> = edges
        .iter()
        .map(|(a, b)| (top(a).to_owned(), top(b).to_owned()))
        .filter(|(a, b)| a != b)
        .collect();
    let found: String = cycles(&tops).iter().map(|c| explain(&tops, c)).collect();
    assert!(found.is_empty(), "folders in a circle:\n{found}");
}

#[test]
fn layers_call_only_downwards() {
    let modules = modules();
    // What each folder must never import.
    let above_the_rules = ["app", "http", "ws", "lib", "main"];
    let forbidden: BTreeMap<&str, Vec<&str>> = BTreeMap::from([
        // The rules are pure: nothing with I/O, nothing of the layers that call them.
        (
            "domain",
            vec![
                "app", "http", "ws", "store", "live", "identity", "media", "infra", "config",
                "error", "clock", "lib",
            ],
        ),
        ("store", above_the_rules.to_vec()),
        ("live", above_the_rules.to_vec()),
        ("identity", above_the_rules.to_vec()),
        ("media", above_the_rules.to_vec()),
        ("infra", above_the_rules.to_vec()),
        ("error", above_the_rules.to_vec()),
        ("config", above_the_rules.to_vec()),
        ("clock", above_the_rules.to_vec()),
        // Transport goes through the use-cases for storage and delivery.
        ("http", vec!["store", "live", "lib"]),
        ("ws", vec!["store", "http", "lib"]),
        ("app", vec!["http", "ws", "lib"]),
    ]);
    let mut wrong = Vec::new();
    for (from, to) in edges(&modules) {
        if forbidden
            .get(top(&from))
            .is_some_and(|f| f.contains(&top(&to)))
        {
            wrong.push(format!("  {from} -> {to}"));
        }
    }
    assert!(
        wrong.is_empty(),
        "imports against the map:\n{}",
        wrong.join("\n")
    );
}

/// The checker itself finds a circle and the imports that make it.
#[test]
fn a_circle_is_found() {
    let edges: BTreeSet<(String, String)> = [("a", "b"), ("b", "c"), ("c", "a"), ("c", "d")]
        .into_iter()
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
        .collect();
    let found = cycles(&edges);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0], ["a", "b", "c"].map(String::from).into());
    assert!(crate_paths("use crate::app::issues::{act, submit};").contains("app::issues"));
}
