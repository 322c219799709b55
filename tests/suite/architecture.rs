//! The library's import graph has no cycle and no upward import: every
//! top-level module uses only modules of lower layers (ARCHITECTURE.md
//! draws the same order). Read from the source text, so a new `use` that
//! climbs a layer fails here, naming the file and the import.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The layers, bottom first: a module may use only those before it.
const LAYERS: &[&str] = &[
    "io",
    "lock",
    "rng",
    "metrics",
    "stats",
    "data",
    "optim",
    "model",
    "embedding",
    "config",
    "train",
    "checkpoint",
    "run",
    "serve",
    "experiment",
];

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

/// The source without `//` comments (doc links may name any module).
fn code_of(text: &str) -> String {
    text.lines()
        .map(|l| match l.find("//") {
            Some(i) => &l[..i],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Top-level modules named by `crate::x` and `crate::{x, y::z}` paths.
fn crate_imports(code: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = code;
    while let Some(i) = rest.find("crate::") {
        rest = &rest[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            for item in group[..end].split(',') {
                let name: String = item
                    .trim()
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() {
                    found.push(name);
                }
            }
        } else {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            // `crate::outln!` is a macro exported at the root, not a module.
            let is_macro = rest[name.len()..].starts_with('!');
            if !name.is_empty() && !is_macro {
                found.push(name);
            }
        }
    }
    found
}

#[test]
fn no_module_imports_a_higher_layer() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let rank: BTreeMap<&str, usize> = LAYERS.iter().enumerate().map(|(i, m)| (*m, i)).collect();
    let mut violations = Vec::new();
    for file in files {
        let rel = file.strip_prefix(&src).unwrap();
        let first = rel
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy();
        let top = first.trim_end_matches(".rs").to_string();
        if top == "main" || top == "lib" || top == "cli" {
            continue; // the crate root and the command-line edge (the top)
        }
        let Some(&own) = rank.get(top.as_str()) else {
            violations.push(format!(
                "src/{}: module `{top}` has no layer in LAYERS",
                rel.display()
            ));
            continue;
        };
        let code = code_of(&std::fs::read_to_string(&file).unwrap());
        for used in crate_imports(&code) {
            if used == top {
                continue;
            }
            match rank.get(used.as_str()) {
                Some(&r) if r < own => {}
                _ => violations.push(format!(
                    "src/{}: `{top}` imports crate::{used}, which is not below it",
                    rel.display()
                )),
            }
        }
    }
    assert!(
        violations.is_empty(),
        "layering violations:\n{}",
        violations.join("\n")
    );
}

#[test]
fn the_import_scanner_sees_grouped_and_plain_paths() {
    let code = "use crate::{data::Batch, optim};\nlet x = crate::io::write_atomic(p); crate::outln!(\"x\");";
    assert_eq!(crate_imports(code), ["data", "optim", "io"]);
    assert_eq!(code_of("use crate::a; // crate::b"), "use crate::a; ");
}
