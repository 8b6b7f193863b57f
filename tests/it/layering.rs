//! The layering of `ARCHITECTURE.md`, checked: its table of modules says what each "may use"; every file under
//! `src/<module>/` (or `src/<module>.rs`) may name, through `crate::…` paths (`use` lines and paths in code alike),
//! only those modules and itself. Test modules (`#[cfg(test)] mod … { … }`) are left out: a test may build what
//! it needs from anywhere. `super::…` paths are not followed (they stay inside a module in this tree).
//!
//! A module of `src/` that the table does not name fails too, so the table stays true as the tree changes.
//! Known breaks of the table are listed in [`EXCEPTIONS`], each with why; an exception that is no longer needed
//! fails the test as well, so the list only shrinks: delete its line when the code stops needing it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Uses the table forbids that the code has, allowed for a while: `(module, uses, why)` — none today. Delete a line when
/// its use is gone (the test says when).
const EXCEPTIONS: &[(&str, &str, &str)] = &[];

/// The "may use" table of `ARCHITECTURE.md`: module → the modules it may use (itself always).
pub fn parse_table(markdown: &str) -> BTreeMap<String, BTreeSet<String>> {
    let mut rows = Vec::new();
    let mut in_table = false;
    for line in markdown.lines() {
        let cells: Vec<&str> = line.trim().trim_matches('|').split('|').map(str::trim).collect();
        if line.trim_start().starts_with('|') && cells.len() >= 3 {
            if cells[0] == "module" && cells.last().is_some_and(|c| *c == "may use") {
                in_table = true;
                continue;
            }
            if in_table && !cells[0].starts_with("---") {
                rows.push((cells[0].trim_matches('`').to_string(), cells.last().unwrap().to_string()));
            }
        } else if in_table {
            break;
        }
    }
    let names: BTreeSet<String> = rows.iter().map(|(m, _)| m.clone()).collect();
    rows.into_iter()
        .map(|(module, may)| {
            // Parenthesised notes ("api (state, `blocking`, …)") say which part; the module is what counts.
            let mut plain = String::new();
            let mut depth = 0;
            for c in may.chars() {
                match c {
                    '(' => depth += 1,
                    ')' => depth -= 1,
                    _ if depth == 0 => plain.push(c),
                    _ => {}
                }
            }
            let allowed = plain
                .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .filter(|w| names.contains(*w))
                .map(str::to_string)
                .collect();
            (module, allowed)
        })
        .collect()
}

/// The source with comments, string and character literals blanked (so a path in a doc comment or a message
/// does not count) and `#[cfg(test)] mod … { … }` blocks removed.
fn code_only(src: &str) -> String {
    let b: Vec<char> = src.chars().collect();
    let mut out = String::with_capacity(src.len());
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let next = b.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < b.len() && b[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < b.len() {
                if b[i] == '/' && b.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if b[i] == '*' && b.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
            out.push(' ');
        } else if c == 'r' && (next == Some('"') || next == Some('#')) && !prev_is_ident(&b, i) {
            // A raw string r"…" or r#"…"#.
            let mut j = i + 1;
            let mut hashes = 0;
            while b.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if b.get(j) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            j += 1;
            while j < b.len() {
                if b[j] == '"' && (0..hashes).all(|k| b.get(j + 1 + k) == Some(&'#')) {
                    j += 1 + hashes;
                    break;
                }
                j += 1;
            }
            out.push_str("\"\"");
            i = j;
        } else if c == '"' {
            i += 1;
            while i < b.len() && b[i] != '"' {
                if b[i] == '\\' {
                    i += 1;
                }
                i += 1;
            }
            i += 1;
            out.push_str("\"\"");
        } else if c == '\'' {
            // A character literal ('x', '\n', '\u{7}') or a lifetime ('a).
            if next == Some('\\') {
                i += 2;
                while i < b.len() && b[i] != '\'' {
                    i += 1;
                }
                i += 1;
                out.push_str("' '");
            } else if b.get(i + 2) == Some(&'\'') {
                i += 3;
                out.push_str("' '");
            } else {
                out.push(c);
                i += 1;
            }
        } else {
            out.push(c);
            i += 1;
        }
    }
    strip_test_modules(&out)
}

fn prev_is_ident(b: &[char], i: usize) -> bool {
    i > 0 && (b[i - 1].is_alphanumeric() || b[i - 1] == '_')
}

/// Removes `#[cfg(test)]` followed by `mod name { … }` (on code already without comments and literals).
fn strip_test_modules(code: &str) -> String {
    let mut out = String::with_capacity(code.len());
    let mut rest = code;
    while let Some(at) = rest.find("#[cfg(test)]") {
        let after = &rest[at + "#[cfg(test)]".len()..];
        let t = after.trim_start();
        let is_mod = t.strip_prefix("mod ").or_else(|| t.strip_prefix("pub mod ")).is_some_and(|m| {
            let m = m.trim_start();
            let name_end = m.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(m.len());
            m[name_end..].trim_start().starts_with('{')
        });
        if !is_mod {
            out.push_str(&rest[..at + "#[cfg(test)]".len()]);
            rest = after;
            continue;
        }
        out.push_str(&rest[..at]);
        let open = after.find('{').unwrap();
        let mut depth = 0usize;
        let mut end = after.len();
        for (k, ch) in after[open..].char_indices() {
            match ch {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = open + k + 1;
                        break;
                    }
                }
                _ => {}
            }
        }
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

/// The first segments of every `crate::…` path in the code, with `use crate::{a::X, b}` groups opened.
pub fn crate_uses(src: &str) -> BTreeSet<String> {
    let code = code_only(src);
    let mut uses = BTreeSet::new();
    let mut rest = code.as_str();
    while let Some(at) = rest.find("crate::") {
        let before_ok = !rest[..at].ends_with(|c: char| c.is_alphanumeric() || c == '_' || c == '$');
        rest = &rest[at + "crate::".len()..];
        if !before_ok {
            continue;
        }
        let t = rest.trim_start();
        if let Some(group) = t.strip_prefix('{') {
            // The group's top-level items: the first segment of each.
            let mut depth = 0;
            let mut item = String::new();
            let mut items = Vec::new();
            for ch in group.chars() {
                match ch {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => items.push(std::mem::take(&mut item)),
                    _ => item.push(ch),
                }
            }
            items.push(item);
            for item in items {
                let first = item.trim().split("::").next().unwrap_or("").trim().to_string();
                let first: String = first.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                if !first.is_empty() && first != "self" {
                    uses.insert(first);
                }
            }
        } else {
            let first: String = t.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            if !first.is_empty() {
                uses.insert(first);
            }
        }
    }
    uses
}

/// The modules `module`'s source names that the table does not let it use (`crate::` items that are not modules
/// of the table, such as a macro at the root, are not judged).
pub fn forbidden(module: &str, src: &str, table: &BTreeMap<String, BTreeSet<String>>) -> BTreeSet<String> {
    let allowed = &table[module];
    crate_uses(src).into_iter().filter(|u| u != module && table.contains_key(u) && !allowed.contains(u)).collect()
}

fn rust_files(path: &Path, out: &mut Vec<PathBuf>) {
    if path.is_dir() {
        let mut entries: Vec<_> = std::fs::read_dir(path).unwrap().map(|e| e.unwrap().path()).collect();
        entries.sort();
        for p in entries {
            rust_files(&p, out);
        }
    } else if path.is_file() && path.extension().is_some_and(|e| e == "rs") {
        out.push(path.to_path_buf());
    }
}

#[test]
fn every_module_uses_only_what_architecture_md_lets_it() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let table = parse_table(&std::fs::read_to_string(root.join("ARCHITECTURE.md")).unwrap());
    assert!(table.len() >= 8 && table.contains_key("model"), "the table of ARCHITECTURE.md is not found: {table:?}");

    // Every module of the tree is in the table.
    let mut modules = BTreeSet::new();
    for e in std::fs::read_dir(root.join("src")).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_stem().unwrap().to_string_lossy().to_string();
        if p.is_dir() || (name != "lib" && name != "main" && p.extension().is_some_and(|e| e == "rs")) {
            modules.insert(name);
        }
    }
    let untabled: Vec<_> = modules.iter().filter(|m| !table.contains_key(*m)).collect();
    assert!(untabled.is_empty(), "modules of src/ missing from ARCHITECTURE.md's table: {untabled:?}");

    // Every use the table forbids, by module, with the files that make it.
    let mut found: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for module in &modules {
        let mut files = Vec::new();
        rust_files(&root.join("src").join(module), &mut files);
        rust_files(&root.join("src").join(format!("{module}.rs")), &mut files);
        for f in files {
            let src = std::fs::read_to_string(&f).unwrap();
            for used in forbidden(module, &src, &table) {
                let rel = f.strip_prefix(&root).unwrap().display().to_string();
                found.entry((module.clone(), used)).or_default().push(rel);
            }
        }
    }
    let mut problems = Vec::new();
    for ((module, used), files) in &found {
        if !EXCEPTIONS.iter().any(|(m, u, _)| m == module && u == used) {
            problems.push(format!(
                "{module} uses {used}, which ARCHITECTURE.md does not allow it ({}); may use: {:?}",
                files.join(", "),
                table[module]
            ));
        }
    }
    for (m, u, why) in EXCEPTIONS {
        if !found.contains_key(&(m.to_string(), u.to_string())) {
            problems.push(format!(
                "the exception {m} → {u} ({why}) is no longer needed: delete it from EXCEPTIONS in tests/it/layering.rs"
            ));
        }
    }
    assert!(problems.is_empty(), "layering:\n  {}", problems.join("\n  "));
}

#[test]
fn the_checker_finds_a_forbidden_use_and_passes_an_allowed_one() {
    let table = parse_table(
        "| module | job | may use |\n|---|---|---|\n| `model` | types | nothing of ours |\n\
         | `crypto` | keys | model |\n| `store` | sled | crypto, model |\n\
         | `web` | pages | crypto (only `ct_eq`), model |\n| `api` | http | store |\n\nafter the table | a | b |\n",
    );
    assert_eq!(table["model"], BTreeSet::new());
    assert_eq!(table["store"], ["crypto", "model"].map(String::from).into());
    assert_eq!(table["web"], ["crypto", "model"].map(String::from).into(), "a note in parentheses is not a module");
    assert_eq!(table.len(), 5);

    // A forbidden `use`, in each of its spellings.
    assert_eq!(forbidden("model", "use crate::store::Store;\n", &table), ["store".to_string()].into());
    assert_eq!(
        forbidden("model", "use crate::{crypto::Keys, store};\n", &table),
        ["crypto", "store"].map(String::from).into()
    );
    assert_eq!(
        forbidden("crypto", "fn f() { let s = crate::store::Store::in_memory(); }", &table),
        ["store".to_string()].into()
    );
    assert_eq!(
        forbidden("crypto", "use crate::{\n    model::{Person, ids::PersonId},\n    api::router,\n};", &table),
        ["api".to_string()].into()
    );

    // Allowed: its own modules, what the table lists, and what is not code.
    let allowed = "use crate::crypto::Keys;\nuse crate::model::Person;\nuse crate::store::kv;\n\
                   //! see crate::api for the router\n/* crate::web */\nfn f() -> &'static str { \"crate::api\" }\n\
                   fn g() -> char { '{' }\nconst R: &str = r#\"crate::web\"#;\n\
                   #[cfg(test)]\nmod tests {\n    use crate::api::router;\n    fn h() { let _ = '}'; }\n}\n\
                   fn after() { let _ = crate::model::Role::Hr; }\n";
    assert_eq!(forbidden("store", allowed, &table), BTreeSet::new());
    assert_eq!(crate_uses(allowed), ["crypto", "model", "store"].map(String::from).into());
    // … but code after a test module still counts.
    assert_eq!(
        forbidden("store", &format!("{allowed}fn late() {{ crate::api::x(); }}\n"), &table),
        ["api".to_string()].into()
    );
}

/// Where content may be read, as the source says it: the gate (`service/access.rs`) is the only code outside the
/// store that calls the store's content reads; the store's one unsealer is taken only by `Archive::new`; a read
/// permit is minted only by the gate; and the benchmarks' reads around the gate exist only under their feature.
/// (The compiler enforces the rest: the gate's unsealer and a permit's material are private fields.)
pub fn content_read_outside_the_gate(path: &str, src: &str) -> Vec<String> {
    let code = code_only(src);
    let mut found = Vec::new();
    for read in [".read_blob(", ".blob_chunks(", ".read_text("] {
        if code.contains(read) && !path.starts_with("src/store/") && path != "src/service/access.rs" {
            found.push(format!("{path} reads content ({read}) around the gate"));
        }
    }
    if code.contains("take_unsealer(") && path != "src/store/mod.rs" && path != "src/service/mod.rs" {
        found.push(format!("{path} takes the store's unsealer"));
    }
    if code.contains("ReadPermit {") && path != "src/service/access.rs" {
        found.push(format!("{path} mints a read permit"));
    }
    let lines: Vec<&str> = src.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        if line.trim_start().starts_with("pub fn bench_")
            && !lines[..i].iter().rev().take(4).any(|l| l.contains("cfg(feature = \"bench-internals\")"))
        {
            found.push(format!("{path}:{}: a benchmark entry point outside the bench-internals feature", i + 1));
        }
    }
    found
}

#[test]
fn content_is_read_only_through_the_gate() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    let mut found = Vec::new();
    for f in &files {
        let rel = f.strip_prefix(&root).unwrap().to_string_lossy().replace('\\', "/");
        found.extend(content_read_outside_the_gate(&rel, &std::fs::read_to_string(f).unwrap()));
    }
    assert!(found.is_empty(), "content read around the access gate:\n{}", found.join("\n"));
    // The checker itself: each way around the gate is caught, the gate's own reads are not.
    let around = "fn f(a: &Archive) { a.store().read_blob(&u, &addr); }";
    assert_eq!(content_read_outside_the_gate("src/service/reports.rs", around).len(), 1);
    assert!(content_read_outside_the_gate("src/service/access.rs", around).is_empty());
    assert_eq!(content_read_outside_the_gate("src/api/persons.rs", "let u = store.take_unsealer();").len(), 1);
    assert_eq!(content_read_outside_the_gate("src/service/search.rs", "ReadPermit { material: id }").len(), 1);
    assert_eq!(content_read_outside_the_gate("src/service/materials.rs", "    pub fn bench_read(&self) {}").len(), 1);
    let gated = "    #[cfg(feature = \"bench-internals\")]\n    pub fn bench_read(&self) {}";
    assert!(content_read_outside_the_gate("src/service/materials.rs", gated).is_empty());
}

/// Methods per service view (`impl Name<'_> { … }` blocks of `src/service/`), summed over its files.
pub fn service_method_counts(files: &[(String, String)]) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for (_, src) in files {
        let mut current: Option<String> = None;
        for line in src.lines() {
            if let Some(rest) = line.strip_prefix("impl ")
                && let Some(name) = rest.strip_suffix("<'_> {")
            {
                current = Some(name.to_string());
            } else if line == "}" {
                current = None;
            } else if let Some(name) = &current {
                let t = line.trim_start();
                let item = line.len() - t.len() == 4;
                if item && (t.starts_with("fn ") || t.starts_with("pub fn ") || t.starts_with("pub(crate) fn ")) {
                    *counts.entry(name.clone()).or_insert(0) += 1;
                }
            }
        }
    }
    counts
}

#[test]
fn no_service_view_grows_past_thirty_methods() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut paths = Vec::new();
    rust_files(&root.join("src/service"), &mut paths);
    let files: Vec<(String, String)> =
        paths.iter().map(|p| (p.display().to_string(), std::fs::read_to_string(p).unwrap())).collect();
    let counts = service_method_counts(&files);
    for view in ["Persons", "Filing", "Materials", "Requests", "Grants", "AuditTrail", "Indexing"] {
        assert!(counts.contains_key(view), "no impl {view}<'_> found: the counter is blind ({counts:?})");
    }
    let large: Vec<_> = counts.iter().filter(|(_, n)| **n > 30).collect();
    assert!(large.is_empty(), "service views over 30 methods (split them by use case): {large:?}");
    let sample = "impl Persons<'_> {\n    pub fn a(&self) {}\n    fn b(&self) {\n        fn inner() {}\n    }\n}\n";
    assert_eq!(service_method_counts(&[("x".into(), sample.into())])["Persons"], 2);
}
