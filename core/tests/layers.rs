//! The layers of docs/ARCHITECTURE.md only point down: a module of `core/src` may use the
//! modules drawn below it in the diagram, never one drawn above it. The order is read from the
//! document itself, so the picture and the code cannot drift apart silently.
//!
//! Test code (files named `tests.rs` or `*_tests.rs`, and everything after a file's first
//! `#[cfg(test)]`) and comments are not counted. `text` (string helpers) is not a layer: any
//! module may use it.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Upward uses still to be removed, each with its reason. Empty: keep it so.
const KNOWN: &[(&str, &str)] = &[];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_owned()
}

/// The core's layers from the diagram, top first.
fn layers() -> Vec<String> {
    let doc = std::fs::read_to_string(root().join("../docs/ARCHITECTURE.md")).unwrap();
    let mut in_core = false;
    let mut order = Vec::new();
    for line in doc.lines() {
        if line.starts_with(" core/") {
            in_core = true;
            continue;
        }
        if !in_core {
            continue;
        }
        let trimmed = line.trim_start();
        let Some(rest) = trimmed
            .strip_prefix("├─ ")
            .or_else(|| trimmed.strip_prefix("└─ "))
        else {
            break;
        };
        order.push(rest.split_whitespace().next().unwrap().to_owned());
    }
    order
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The module a file of `core/src` belongs to (`sync/inbox.rs` → `sync`).
fn module_of(src: &Path, file: &Path) -> String {
    let relative = file.strip_prefix(src).unwrap();
    let first = relative.components().next().unwrap().as_os_str();
    first.to_string_lossy().trim_end_matches(".rs").to_owned()
}

/// The modules a file's non-test code names as `crate::<module>`.
fn uses(file: &Path) -> BTreeSet<String> {
    let text = std::fs::read_to_string(file).unwrap();
    let code = text.split("#[cfg(test)]").next().unwrap_or("");
    let mut found = BTreeSet::new();
    for line in code.lines() {
        let line = line.split("//").next().unwrap_or("");
        let mut rest = line;
        while let Some(at) = rest.find("crate::") {
            rest = &rest[at + "crate::".len()..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                found.insert(name);
            }
        }
    }
    found
}

#[test]
fn layers_only_point_down() {
    let order = layers();
    assert!(
        order.len() >= 10 && order[0] == "engine" && order.last().unwrap() == "protocol",
        "the diagram's core layers were not found: {order:?}"
    );
    let src = root().join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let rank = |m: &str| order.iter().position(|l| l == m);
    let mut upward = Vec::new();
    let mut known_seen = BTreeSet::new();
    for file in &files {
        let name = file.file_name().unwrap().to_string_lossy();
        if name == "tests.rs" || name.ends_with("_tests.rs") || name == "lib.rs" {
            continue;
        }
        let module = module_of(&src, file);
        let Some(own) = rank(&module) else {
            assert_eq!(module, "text", "{module} is not drawn in ARCHITECTURE.md");
            continue;
        };
        for used in uses(file) {
            let Some(theirs) = rank(&used) else { continue };
            if theirs < own {
                if KNOWN.contains(&(module.as_str(), used.as_str())) {
                    known_seen.insert((module.clone(), used.clone()));
                } else {
                    upward.push(format!(
                        "{} uses {used}, drawn above {module}",
                        file.strip_prefix(&src).unwrap().display()
                    ));
                }
            }
        }
    }
    assert!(upward.is_empty(), "upward uses:\n{}", upward.join("\n"));
    for (module, used) in KNOWN {
        assert!(
            known_seen.contains(&(module.to_string(), used.to_string())),
            "{module} no longer uses {used}: remove it from KNOWN"
        );
    }
}

/// Within a module, the submodules (`closure/load.rs`, `closure/matrix.rs`, ...) use each other
/// through `super::<name>` without a circle, so each can be read from the ones it builds on.
#[test]
fn submodules_form_no_circle() {
    let src = root().join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut circles = Vec::new();
    let mut dirs: BTreeSet<PathBuf> = files
        .iter()
        .map(|f| f.parent().unwrap().to_owned())
        .collect();
    dirs.remove(&src);
    for dir in dirs {
        // A submodule is a file beside the others or a folder with its `mod.rs` (whose own
        // files are checked as a folder of their own).
        let siblings: Vec<(String, PathBuf)> = files
            .iter()
            .filter_map(|f| {
                if f.parent() == Some(dir.as_path()) {
                    let name = f.file_stem()?.to_string_lossy().into_owned();
                    let test = name == "tests" || name.ends_with("_tests") || name == "mod";
                    (!test).then(|| (name, f.clone()))
                } else if f.file_name()? == "mod.rs" && f.parent()?.parent() == Some(dir.as_path())
                {
                    let name = f.parent()?.file_name()?.to_string_lossy().into_owned();
                    Some((name, f.clone()))
                } else {
                    None
                }
            })
            .collect();
        let names: BTreeSet<&str> = siblings.iter().map(|(n, _)| n.as_str()).collect();
        let edges: Vec<(String, BTreeSet<String>)> = siblings
            .iter()
            .map(|(name, file)| {
                let text = std::fs::read_to_string(file).unwrap();
                let code = text.split("#[cfg(test)]").next().unwrap_or("");
                let mut uses = BTreeSet::new();
                for line in code.lines() {
                    let line = line.split("//").next().unwrap_or("");
                    for part in line.split("super::").skip(1) {
                        let used: String = part
                            .chars()
                            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                            .collect();
                        if names.contains(used.as_str()) && used != *name {
                            uses.insert(used);
                        }
                    }
                }
                (name.clone(), uses)
            })
            .collect();
        // Depth-first search for a back edge.
        fn visit(
            node: &str,
            edges: &[(String, BTreeSet<String>)],
            stack: &mut Vec<String>,
            done: &mut BTreeSet<String>,
            found: &mut Vec<String>,
        ) {
            if done.contains(node) {
                return;
            }
            if let Some(at) = stack.iter().position(|n| n == node) {
                found.push(format!("{} -> {node}", stack[at..].join(" -> ")));
                return;
            }
            stack.push(node.to_owned());
            if let Some((_, next)) = edges.iter().find(|(n, _)| n == node) {
                for n in next {
                    visit(n, edges, stack, done, found);
                }
            }
            stack.pop();
            done.insert(node.to_owned());
        }
        let mut done = BTreeSet::new();
        for (name, _) in &edges {
            let mut found = Vec::new();
            visit(name, &edges, &mut Vec::new(), &mut done, &mut found);
            for circle in found {
                circles.push(format!(
                    "{}: {circle}",
                    dir.strip_prefix(&src).unwrap().display()
                ));
            }
        }
    }
    assert!(circles.is_empty(), "circles:\n{}", circles.join("\n"));
}
