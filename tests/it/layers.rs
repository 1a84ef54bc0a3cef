//! The library's layers, read from its sources: the pure core (config, identity, policy,
//! state) imports nothing from io or ops; io imports no ops; the module graph has no cycle; no
//! command module imports another; the binary's session runs no pipeline step.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const CORE: &[&str] = &["config", "identity", "policy", "state"];

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        if p.is_dir() {
            sources(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// A library file's module path: `src/state/plan.rs` → `state::plan`, `src/config/mod.rs` →
/// `config`.
fn module_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).unwrap().with_extension("");
    let parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .filter(|c| c != "mod" && c != "lib")
        .collect();
    parts.join("::")
}

/// The code of a file without comments and without its `#[cfg(test)]` module.
fn code(text: &str) -> String {
    let text = match text.find("#[cfg(test)]\nmod tests") {
        Some(i) => &text[..i],
        None => text,
    };
    text.lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The library's modules and, for each, the modules it names through `crate::`.
fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    for dir in ["config", "identity", "policy", "state", "io", "ops"] {
        sources(&src.join(dir), &mut files);
    }
    files.push(src.join("error.rs"));
    files.push(src.join("release.rs"));
    let modules: BTreeSet<String> = files.iter().map(|f| module_of(&src, f)).collect();
    let mut graph = BTreeMap::new();
    for f in &files {
        let me = module_of(&src, f);
        let text = code(&std::fs::read_to_string(f).unwrap());
        let mut deps = BTreeSet::new();
        for (i, _) in text.match_indices("crate::") {
            let path: String = text[i + 7..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
                .collect();
            // The longest module named by the path.
            let segs: Vec<&str> = path.split("::").filter(|s| !s.is_empty()).collect();
            for n in (1..=segs.len()).rev() {
                let m = segs[..n].join("::");
                if modules.contains(&m) {
                    if m != me && !me.starts_with(&format!("{m}::")) {
                        deps.insert(m);
                    }
                    break;
                }
            }
        }
        graph.insert(me, deps);
    }
    graph
}

fn top(module: &str) -> &str {
    module.split("::").next().unwrap()
}

#[test]
fn the_core_imports_no_io_and_io_imports_no_ops() {
    let g = graph();
    assert!(g.len() > 30, "the graph was read: {g:?}");
    let mut wrong = Vec::new();
    for (m, deps) in &g {
        for d in deps {
            let (from, to) = (top(m), top(d));
            let bad = (CORE.contains(&from) && (to == "io" || to == "ops"))
                || (from == "io" && to == "ops")
                || ((from == "error" || from == "release") && to != from);
            if bad {
                wrong.push(format!("{m} imports {d}"));
            }
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

#[test]
fn usage_errors_are_the_binarys() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    for dir in ["config", "identity", "policy", "state", "io", "ops"] {
        sources(&src.join(dir), &mut files);
    }
    for f in files {
        let text = code(&std::fs::read_to_string(&f).unwrap());
        assert!(
            !text.contains("Error::usage(") && !text.contains("Error::Usage"),
            "{} raises a usage error: the library's errors say what went wrong in its own terms",
            f.display()
        );
    }
}

#[test]
fn the_module_graph_has_no_cycle() {
    let g = graph();
    // Depth-first search, colouring modules in progress.
    fn visit<'a>(
        m: &'a str,
        g: &'a BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<&'a str, u8>,
        stack: &mut Vec<&'a str>,
    ) -> Option<Vec<String>> {
        match state.get(m) {
            Some(2) => return None,
            Some(1) => {
                let at = stack.iter().position(|s| *s == m).unwrap();
                let mut cycle: Vec<String> = stack[at..].iter().map(|s| s.to_string()).collect();
                cycle.push(m.to_string());
                return Some(cycle);
            }
            _ => {}
        }
        state.insert(m, 1);
        stack.push(m);
        for d in g.get(m).into_iter().flatten() {
            if let Some(c) = visit(d, g, state, stack) {
                return Some(c);
            }
        }
        stack.pop();
        state.insert(m, 2);
        None
    }
    let mut state = BTreeMap::new();
    for m in g.keys() {
        let cycle = visit(m, &g, &mut state, &mut Vec::new());
        assert!(cycle.is_none(), "cycle: {}", cycle.unwrap().join(" → "));
    }
}

#[test]
fn no_command_imports_another_and_the_session_runs_no_pipeline_step() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/app/commands");
    let mut files = Vec::new();
    sources(&dir, &mut files);
    let names: Vec<String> = files
        .iter()
        .map(|f| f.file_stem().unwrap().to_string_lossy().into_owned())
        .filter(|n| n != "mod")
        .collect();
    for f in &files {
        let text = code(&std::fs::read_to_string(f).unwrap());
        for n in &names {
            assert!(
                !text.contains(&format!("commands::{n}")),
                "{} imports the command module {n}",
                f.display()
            );
        }
    }
    let session = code(
        &std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/app/session.rs"))
            .unwrap(),
    );
    for step in [
        "render::render(",
        "observe_by(",
        "plan::plan(",
        "plan::destroy(",
        "drift::drift(",
        "execute::execute(",
        "set_variable(",
        "audit_view(",
    ] {
        assert!(!session.contains(step), "session.rs runs {step}");
    }
}
