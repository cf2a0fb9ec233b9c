//! The layering rules of `shared/style.md` that a compiler cannot see, checked on the source:
//! a service's `domain/` is plain Rust, naming no protocol, storage or cache crate.

use std::path::{Path, PathBuf};

/// Crates a domain module may not name (as `crate::`, `crate::...` paths or `use` roots).
const FORBIDDEN: &[&str] =
    &["tonic", "prost", "proto", "sea_orm", "sea_query", "axum", "redis", "jsonwebtoken", "sqlx"];

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

/// Every place in `text` where a forbidden crate is named as a path root: `tonic::`, `use sea_orm`.
fn violations(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let code = line.split("//").next().unwrap_or_default();
        for name in FORBIDDEN {
            let named = code.match_indices(name).any(|(at, _)| {
                let before = code[..at].chars().next_back();
                let after = &code[at + name.len()..];
                let starts_a_path = before.is_none_or(|c| !(c.is_alphanumeric() || c == '_' || c == ':'));
                starts_a_path
                    && (after.starts_with("::")
                        || (code.trim_start().starts_with("use ") && after.starts_with([';', ' ', ','])))
            });
            if named {
                found.push(format!("line {}: {}", number + 1, line.trim()));
            }
        }
    }
    found
}

#[test]
fn the_checker_sees_what_it_forbids() {
    assert_eq!(violations("use tonic::Status;").len(), 1);
    assert_eq!(violations("fn f() -> sea_orm::DbErr {}").len(), 1);
    assert_eq!(violations("    let x = proto::registry::v1::User::default();").len(), 1);
    assert!(violations("use crate::domain::prototype::X; // tonic::Status").is_empty());
    assert!(violations("let protocol = 1; let redistribute = 2;").is_empty());
}

#[test]
fn domain_modules_name_no_protocol_storage_or_cache_crate() {
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).join("crates");
    let mut checked = 0;
    let mut problems = Vec::new();
    for service in ["user-registry", "token-service", "context-service", "event-service"] {
        let domain = crates.join(service).join("src/domain");
        let mut files = Vec::new();
        if domain.is_dir() {
            rust_files(&domain, &mut files);
        } else {
            files.push(crates.join(service).join("src/domain.rs"));
        }
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
            checked += 1;
            problems.extend(violations(&text).into_iter().map(|v| format!("{}: {v}", file.display())));
        }
    }
    assert!(checked >= 3, "no domain module found: the rule checks nothing");
    assert!(problems.is_empty(), "domain/ must stay plain Rust:\n{}", problems.join("\n"));
}
