//! Keeps the code true to the layering table in the crate's top doc comment: every
//! `crate::X` path in a module's non-test code must name a module that the table lets it
//! import. The table is parsed from `lib.rs` itself, so the documentation is the rule.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The table: module -> the modules it may import (`*` for any).
fn allowed(lib_rs: &str) -> BTreeMap<String, BTreeSet<String>> {
    let mut table = BTreeMap::new();
    for line in lib_rs.lines() {
        let Some(row) = line.strip_prefix("//! |") else {
            continue;
        };
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        if cells.len() < 2 || !cells[0].starts_with('`') {
            continue;
        }
        let names = |cell: &str| -> Vec<String> {
            cell.split(',')
                .filter_map(|c| c.trim().strip_prefix('`')?.strip_suffix('`'))
                .map(str::to_string)
                .collect()
        };
        let may: BTreeSet<String> = if cells[1].contains("anything") {
            ["*".to_string()].into()
        } else {
            names(cells[1]).into_iter().collect()
        };
        for module in names(cells[0]) {
            table.insert(module, may.clone());
        }
    }
    table
}

/// The crate modules a source text names through `crate::` paths, test modules excluded.
fn imports(source: &str) -> BTreeSet<String> {
    // Test modules come last in a file.
    let code = source.split("#[cfg(test)]\nmod ").next().unwrap_or("");
    let code: String = code
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    let mut found = BTreeSet::new();
    let mut rest = code.as_str();
    while let Some(at) = rest.find("crate::") {
        rest = &rest[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            // `crate::{a::b, c}`: the first identifier of each top-level item.
            let mut depth = 0;
            let mut start = 0;
            for (i, ch) in group.char_indices() {
                match ch {
                    '{' => depth += 1,
                    '}' if depth == 0 => {
                        found.insert(ident(&group[start..i]));
                        break;
                    }
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        found.insert(ident(&group[start..i]));
                        start = i + 1;
                    }
                    _ => {}
                }
            }
        } else {
            found.insert(ident(rest));
        }
    }
    found.remove("");
    found
}

fn ident(s: &str) -> String {
    s.trim_start()
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect()
}

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs")
            && path.file_name().is_some_and(|n| n != "tests.rs")
        {
            out.push(path);
        }
    }
}

#[test]
fn every_module_imports_only_what_the_layering_table_allows() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let table = allowed(&std::fs::read_to_string(src.join("lib.rs")).unwrap());
    assert!(
        table.len() >= 10,
        "the table in lib.rs did not parse: {table:?}"
    );
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut broken = Vec::new();
    for path in files {
        let rel = path.strip_prefix(&src).unwrap();
        let module = rel
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy()
            .trim_end_matches(".rs")
            .to_string();
        if module == "lib" || module == "main" || module == "layering" {
            continue;
        }
        let may = table
            .get(&module)
            .unwrap_or_else(|| panic!("module `{module}` is missing from the table in lib.rs"));
        let text = std::fs::read_to_string(&path).unwrap();
        for target in imports(&text) {
            if target != module && !may.contains("*") && !may.contains(&target) {
                broken.push(format!("{} imports `{target}`", rel.display()));
            }
        }
    }
    assert!(broken.is_empty(), "layering broken:\n{}", broken.join("\n"));
}

#[test]
fn imports_are_read_from_paths_and_groups() {
    let text = "use crate::{network::{A, B}, sim::engine::Engine};\nfn f() { crate::rng::rng_for(1, 2); }\n// crate::cli in a comment\n#[cfg(test)]\nmod tests { use crate::ecs; }";
    let found: Vec<String> = imports(text).into_iter().collect();
    assert_eq!(found, ["network", "rng", "sim"]);
}
