//! The layers, read from the sources with `syn` (not as text): every module of the core crate
//! (`crates/keyless-core`), the library (`src/lib.rs`: io, ops) and the binary (`src/main.rs`:
//! app), and every path each one names — in `use` trees (grouped, renamed, globbed), in code
//! and types, in macro arguments — resolved through `crate::`, `self::`, `super::` (at any
//! depth), `keyless::` and `keyless_core::` to the module it lands in.
//!
//! Rules, each checked here and each shown to fail on a mutation of the graph:
//! - the layer order, from the bottom: `error` and `release` (which import nothing), `identity`,
//!   `policy`, `config`, `state`, `artifacts` (the core crate), then `io`, `ops`, and the binary's
//!   `app`; a module imports only from its own layer or below;
//! - no cycle between modules anywhere, the binary included (a module's use of its own
//!   ancestors is not an edge: that is the parent's inside);
//! - no command module imports another;
//! - the session names no pipeline step: nothing from `ops` but the account context and the
//!   fan-out, no decision in `state` (plan, drift, GitHub plan, audit, guard, migrate) and no
//!   render call, nothing from `artifacts`, no executor;
//! - the core crate's dependencies (as cargo resolves them) hold no tokio, no AWS SDK and no
//!   HTTP client.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use syn::visit::Visit;

/// The layers from the bottom; a module may import from its own layer or any below it.
const LAYERS: &[&[&str]] = &[
    &["error", "release"],
    &["identity"],
    &["policy"],
    &["config"],
    &["state"],
    &["artifacts"],
    &["io"],
    &["ops"],
    &["app"],
];

/// A module graph: each module (by its path, `state::plan`) and the items it names, each as the
/// module it lands in and the full path (`state::render` and `state::render::render`).
type Graph = BTreeMap<String, BTreeSet<(String, String)>>;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn is_cfg_test(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|a| {
        a.path().is_ident("cfg")
            && a.parse_args::<syn::Meta>()
                .is_ok_and(|m| m.path().is_ident("test"))
    })
}

/// One module's source, found by following `mod` declarations from a crate's entry file.
struct Module {
    path: Vec<String>,
    items: Vec<syn::Item>,
}

/// Every (non-test) module of the crate whose entry file is `entry`, its modules named from
/// `prefix` (the library's re-exports and the binary's `app` share one namespace).
fn modules(entry: &Path, prefix: &[String], out: &mut Vec<Module>) {
    let text =
        std::fs::read_to_string(entry).unwrap_or_else(|e| panic!("{}: {e}", entry.display()));
    let file = syn::parse_file(&text).unwrap_or_else(|e| panic!("{}: {e}", entry.display()));
    // Where `mod x;` in this file looks: beside lib.rs, main.rs and mod.rs; in `foo/` for foo.rs.
    let stem = entry.file_stem().unwrap().to_string_lossy().into_owned();
    let dir = if ["lib", "main", "mod"].contains(&stem.as_str()) {
        entry.parent().unwrap().to_path_buf()
    } else {
        entry.parent().unwrap().join(&stem)
    };
    collect(file.items, prefix.to_vec(), &dir, out);
}

fn collect(items: Vec<syn::Item>, path: Vec<String>, dir: &Path, out: &mut Vec<Module>) {
    let mut own = Vec::new();
    for item in items {
        match item {
            syn::Item::Mod(m) if is_cfg_test(&m.attrs) => {}
            syn::Item::Mod(m) => {
                let mut child = path.clone();
                child.push(m.ident.to_string());
                match m.content {
                    Some((_, inner)) => collect(inner, child, &dir.join(m.ident.to_string()), out),
                    None => {
                        let flat = dir.join(format!("{}.rs", m.ident));
                        let nested = dir.join(m.ident.to_string()).join("mod.rs");
                        let file = if flat.exists() { flat } else { nested };
                        modules(&file, &child, out);
                    }
                }
            }
            other => own.push(other),
        }
    }
    out.push(Module { path, items: own });
}

/// Every module of the core crate and the library, and, with `binary`, of the binary too
/// (the crates' roots included, their path empty).
fn read_modules(binary: bool) -> Vec<Module> {
    let mut mods = Vec::new();
    modules(
        &root().join("crates/keyless-core/src/lib.rs"),
        &[],
        &mut mods,
    );
    modules(&root().join("src/lib.rs"), &[], &mut mods);
    if binary {
        modules(&root().join("src/main.rs"), &[], &mut mods);
    }
    mods
}

impl Module {
    /// Every path this module's code names, as written.
    fn paths(&self) -> Vec<Vec<String>> {
        let mut paths = Paths::default();
        for item in &self.items {
            paths.visit_item(item);
        }
        paths.0
    }
}

/// Every path a module's code names, as written (segments).
#[derive(Default)]
struct Paths(Vec<Vec<String>>);

impl Paths {
    fn use_tree(&mut self, prefix: &mut Vec<String>, tree: &syn::UseTree) {
        match tree {
            syn::UseTree::Path(p) => {
                prefix.push(p.ident.to_string());
                self.use_tree(prefix, &p.tree);
                prefix.pop();
            }
            syn::UseTree::Name(n) => self.push_use(prefix, &n.ident),
            syn::UseTree::Rename(r) => self.push_use(prefix, &r.ident),
            syn::UseTree::Glob(_) => self.0.push(prefix.clone()),
            syn::UseTree::Group(g) => {
                for t in &g.items {
                    self.use_tree(prefix, t);
                }
            }
        }
    }

    fn push_use(&mut self, prefix: &[String], ident: &syn::Ident) {
        let mut p = prefix.to_vec();
        // `use foo::{self}` names `foo`.
        if ident != "self" {
            p.push(ident.to_string());
        }
        self.0.push(p);
    }

    /// Paths inside a macro's tokens (`format!("{}", crate::release::HOME)`): runs of
    /// `ident :: ident :: …`.
    fn tokens(&mut self, tokens: proc_macro2::TokenStream) {
        let flat: Vec<proc_macro2::TokenTree> = tokens.into_iter().collect();
        let mut run: Vec<String> = Vec::new();
        let mut i = 0;
        while i < flat.len() {
            match &flat[i] {
                proc_macro2::TokenTree::Group(g) => {
                    self.flush(&mut run);
                    self.tokens(g.stream());
                }
                proc_macro2::TokenTree::Ident(id) => {
                    if run.is_empty() || i >= 2 && is_colons(&flat, i - 2) {
                        run.push(id.to_string());
                    } else {
                        self.flush(&mut run);
                        run.push(id.to_string());
                    }
                }
                proc_macro2::TokenTree::Punct(p) if p.as_char() == ':' => {}
                _ => self.flush(&mut run),
            }
            i += 1;
        }
        self.flush(&mut run);
    }

    fn flush(&mut self, run: &mut Vec<String>) {
        if run.len() > 1 {
            self.0.push(std::mem::take(run));
        }
        run.clear();
    }
}

fn is_colons(t: &[proc_macro2::TokenTree], at: usize) -> bool {
    matches!((t.get(at), t.get(at + 1)),
        (Some(proc_macro2::TokenTree::Punct(a)), Some(proc_macro2::TokenTree::Punct(b)))
            if a.as_char() == ':' && b.as_char() == ':')
}

impl<'ast> Visit<'ast> for Paths {
    fn visit_item_use(&mut self, u: &'ast syn::ItemUse) {
        self.use_tree(&mut Vec::new(), &u.tree);
    }

    fn visit_path(&mut self, p: &'ast syn::Path) {
        self.0
            .push(p.segments.iter().map(|s| s.ident.to_string()).collect());
        syn::visit::visit_path(self, p);
    }

    fn visit_macro(&mut self, m: &'ast syn::Macro) {
        self.tokens(m.tokens.clone());
        syn::visit::visit_macro(self, m);
    }

    fn visit_item_mod(&mut self, m: &'ast syn::ItemMod) {
        // Test modules are not part of the layers.
        if !is_cfg_test(&m.attrs) {
            syn::visit::visit_item_mod(self, m);
        }
    }
}

/// The graph of the given modules.
fn graph_of(mods: &[Module]) -> Graph {
    let known: BTreeSet<Vec<String>> = mods.iter().map(|m| m.path.clone()).collect();
    let mut g = Graph::new();
    for m in mods {
        let mut deps = BTreeSet::new();
        for p in m.paths() {
            let Some(full) = resolve(&m.path, &p, &known) else {
                continue;
            };
            // The longest module the path lands in.
            let Some(target) = (1..=full.len())
                .rev()
                .map(|n| full[..n].to_vec())
                .find(|c| known.contains(c))
            else {
                continue;
            };
            // A module's own inside, and its use of its ancestors, are no edges.
            if target == m.path || m.path.starts_with(&target) {
                continue;
            }
            deps.insert((target.join("::"), full.join("::")));
        }
        g.insert(m.path.join("::"), deps);
    }
    g
}

/// `path` as named in module `me`, made absolute; `None` for what is not keyless's (std,
/// other crates, local items).
fn resolve(me: &[String], path: &[String], known: &BTreeSet<Vec<String>>) -> Option<Vec<String>> {
    let first = path.first()?;
    match first.as_str() {
        "crate" | "keyless" | "keyless_core" => Some(path[1..].to_vec()),
        "self" | "super" => {
            let mut at = me.to_vec();
            let mut rest = path;
            while let Some(s) = rest.first() {
                match s.as_str() {
                    "super" => {
                        at.pop()?;
                    }
                    "self" => {}
                    _ => break,
                }
                rest = &rest[1..];
            }
            at.extend(rest.iter().cloned());
            Some(at)
        }
        // A child module named relative to this one (`role::validate` in `config`).
        _ => {
            let mut child = me.to_vec();
            child.push(first.clone());
            known.contains(&child).then(|| {
                let mut p = me.to_vec();
                p.extend(path.iter().cloned());
                p
            })
        }
    }
}

/// The whole program's graph: the core crate, the library and the binary.
fn graph() -> Graph {
    let mut mods = read_modules(true);
    // The library's and the binary's roots (lib.rs, main.rs) hold re-exports and `main` only.
    mods.retain(|m| !m.path.is_empty());
    graph_of(&mods)
}

fn layer(module: &str) -> usize {
    let top = module.split("::").next().unwrap();
    LAYERS
        .iter()
        .position(|l| l.contains(&top))
        .unwrap_or_else(|| panic!("module {module} is in no layer: add it to LAYERS"))
}

/// Modules whose items are pipeline steps the session must not run.
const STEPS: &[&str] = &[
    "state::plan",
    "state::drift",
    "state::github_plan",
    "state::audit",
    "state::guard",
    "state::migrate",
    "artifacts",
    "io::execute",
    "ops",
];
/// What the session may take from those: the account context and the fan-out.
const SESSION_MAY: &[&str] = &["ops::context", "ops::accounts"];

/// Every rule broken in `g`, one line each.
fn violations(g: &Graph) -> Vec<String> {
    let mut wrong = Vec::new();
    for (m, deps) in g {
        for (d, item) in deps {
            let (from, to) = (layer(m), layer(d));
            if to > from || (from == 0 && d.split("::").next() != m.split("::").next()) {
                wrong.push(format!("layer order: {m} imports {item}"));
            }
            if let (Some(a), Some(b)) = (
                m.strip_prefix("app::commands::"),
                d.strip_prefix("app::commands::"),
            ) && a.split("::").next() != b.split("::").next()
            {
                wrong.push(format!("command imports command: {m} imports {item}"));
            }
            if m == "app::session" {
                let step = STEPS
                    .iter()
                    .any(|s| d == s || d.starts_with(&format!("{s}::")))
                    && !SESSION_MAY
                        .iter()
                        .any(|s| d == s || d.starts_with(&format!("{s}::")));
                if step || item == "state::render::render" {
                    wrong.push(format!("the session runs a pipeline step: {item}"));
                }
            }
        }
    }
    if let Some(cycle) = cycle(g) {
        wrong.push(format!("cycle: {}", cycle.join(" → ")));
    }
    wrong
}

/// A cycle in `g`, if there is one (depth-first, colouring modules in progress).
fn cycle(g: &Graph) -> Option<Vec<String>> {
    fn visit<'a>(
        m: &'a str,
        g: &'a Graph,
        state: &mut BTreeMap<&'a str, u8>,
        stack: &mut Vec<&'a str>,
    ) -> Option<Vec<String>> {
        match state.get(m) {
            Some(2) => return None,
            Some(1) => {
                let at = stack.iter().position(|s| *s == m).unwrap();
                let mut c: Vec<String> = stack[at..].iter().map(|s| s.to_string()).collect();
                c.push(m.to_string());
                return Some(c);
            }
            _ => {}
        }
        state.insert(m, 1);
        stack.push(m);
        for (d, _) in g.get(m).into_iter().flatten() {
            if let Some(c) = visit(d, g, state, stack) {
                return Some(c);
            }
        }
        stack.pop();
        state.insert(m, 2);
        None
    }
    let mut state = BTreeMap::new();
    g.keys()
        .find_map(|m| visit(m, g, &mut state, &mut Vec::new()))
}

#[test]
fn every_layering_rule_holds_for_the_whole_program() {
    let g = graph();
    for m in [
        "config::role",
        "state::plan",
        "artifacts::workflow",
        "io::aws::read",
        "ops::provision",
        "app::session",
        "app::commands::verify",
    ] {
        assert!(g.contains_key(m), "{m} was read: {:?}", g.keys());
    }
    assert!(g.len() > 80, "the whole program was read: {}", g.len());
    let wrong = violations(&g);
    assert!(wrong.is_empty(), "{wrong:#?}");
}

/// The graph with one more edge, as a mutation of the sources would add.
fn with(g: &Graph, from: &str, item: &str) -> Graph {
    let mut g = g.clone();
    let known: BTreeSet<&String> = g.keys().collect();
    let target = item
        .match_indices("::")
        .map(|(i, _)| &item[..i])
        .chain([item])
        .filter(|c| known.contains(&c.to_string()))
        .last()
        .unwrap()
        .to_string();
    g.get_mut(from).unwrap().insert((target, item.to_string()));
    g
}

#[test]
fn each_rule_fails_on_a_mutation() {
    let g = graph();
    let fails = |from: &str, item: &str, rule: &str| {
        let wrong = violations(&with(&g, from, item));
        assert!(
            wrong.iter().any(|w| w.starts_with(rule)),
            "{from} → {item} should break `{rule}`: {wrong:#?}"
        );
    };
    // The core importing io or ops (the core crate cannot even name them: the compiler refuses).
    fails("state::plan", "io::execute::execute", "layer order");
    // Order inside the core: config below state, policy below config, identity at the bottom.
    fails("config::role", "state::render::render", "layer order");
    fails("policy::lint", "config::Config", "layer order");
    fails(
        "identity::subject",
        "policy::document::statements",
        "layer order",
    );
    fails(
        "state::drift",
        "artifacts::workflow::workflow",
        "layer order",
    );
    // io below ops; error and release import nothing.
    fails("io::github", "ops::context::AccountContext", "layer order");
    fails("error", "release::HOME", "layer order");
    // A command importing another; the session running a step.
    fails(
        "app::commands::check",
        "app::commands::audit::cmd_audit",
        "command imports command",
    );
    fails(
        "app::session",
        "state::render::render",
        "the session runs a pipeline step",
    );
    fails(
        "app::session",
        "ops::provision::plan",
        "the session runs a pipeline step",
    );
    // A circle in the binary, and one inside a layer.
    fails("app::args", "app::session::Session", "cycle");
    fails("state::render", "state::plan::plan", "cycle");
}

/// The module `me` with source `code` in a graph beside the real modules.
fn edges_of(me: &str, code: &str) -> BTreeSet<String> {
    let mut mods = read_modules(false);
    mods.retain(|m| m.path.join("::") != me);
    mods.push(Module {
        path: me.split("::").map(String::from).collect(),
        items: syn::parse_file(code).unwrap().items,
    });
    graph_of(&mods)[me].iter().map(|(d, _)| d.clone()).collect()
}

#[test]
fn the_reader_sees_every_way_of_naming_a_module() {
    // Grouped and nested imports.
    let e = edges_of("config::role", "use crate::{io::{aws, github}, state};");
    assert_eq!(
        e,
        BTreeSet::from(["io::aws".into(), "io::github".into(), "state".into()])
    );
    // super at any depth, self, and a rename.
    let e = edges_of(
        "state::plan",
        "use super::super::io::execute as x; use self::super::drift;",
    );
    assert!(
        e.contains("io::execute") && e.contains("state::drift"),
        "{e:?}"
    );
    // Paths in code, in types and in macro arguments, through either crate name.
    let e = edges_of(
        "policy::explain",
        "fn f(_: keyless_core::config::Config) { let _ = crate::state::render::render; println!(\"{}\", keyless::ops::audit::X); }",
    );
    assert!(
        e.contains("config") && e.contains("state::render") && e.contains("ops::audit"),
        "{e:?}"
    );
    // A glob, and a test module, which is no part of the layers.
    let e = edges_of(
        "identity::names",
        "use crate::io::*; #[cfg(test)] mod tests { use crate::ops::check; }",
    );
    assert_eq!(e, BTreeSet::from(["io".into()]));
}

#[test]
fn the_core_crate_depends_on_no_runtime_no_aws_sdk_and_no_http() {
    let out = std::process::Command::new(env!("CARGO"))
        .args([
            "tree",
            "-p",
            "keyless-core",
            "-e",
            "normal",
            "--prefix",
            "none",
            "--offline",
        ])
        .current_dir(root())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "cargo tree: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let tree = String::from_utf8_lossy(&out.stdout);
    let crates: BTreeSet<&str> = tree
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert!(
        crates.contains("serde_json") && crates.contains("tera"),
        "{tree}"
    );
    let banned: Vec<&&str> = crates
        .iter()
        .filter(|c| {
            c.starts_with("tokio")
                || c.starts_with("aws-")
                || c.starts_with("hyper")
                || ["reqwest", "http", "h2", "rustls", "mio", "futures-util"].contains(c)
        })
        .collect();
    assert!(banned.is_empty(), "the core depends on {banned:?}");
}

#[test]
fn usage_errors_are_the_binarys() {
    let mods = raw_paths(false);
    assert!(mods.len() > 60, "the library was read");
    for (m, paths) in mods.iter().filter(|(m, _)| m != "error") {
        for p in paths {
            let tail: Vec<&str> = p.iter().rev().take(2).map(String::as_str).collect();
            assert!(
                tail != ["usage", "Error"] && tail != ["Usage", "Error"],
                "{m} raises a usage error: the library's errors say what went wrong in its own terms"
            );
        }
    }
}

/// Every raw path each module of the library (and, with `binary`, the binary) names, as
/// written, unresolved; the crates' roots under the empty name.
fn raw_paths(binary: bool) -> Vec<(String, Vec<Vec<String>>)> {
    read_modules(binary)
        .iter()
        .map(|m| (m.path.join("::"), m.paths()))
        .collect()
}

#[test]
fn the_core_reads_no_clock_and_files_only_where_the_config_says() {
    // What the core may not name at all, and where it may read files: the config and the
    // policy files it names (config), a templates_dir (policy::template).
    const NEVER: &[&[&str]] = &[
        &["std", "time", "SystemTime"],
        &["std", "time", "Instant"],
        &["SystemTime", "now"],
        &["Instant", "now"],
        &["std", "env"],
        &["std", "process"],
        // Addresses are plain values (IpAddress conditions); sockets are I/O.
        &["std", "net", "TcpStream"],
        &["std", "net", "TcpListener"],
        &["std", "net", "UdpSocket"],
        &["std", "net", "ToSocketAddrs"],
    ];
    const FILES: &[&str] = &["config", "config::role", "policy::template"];
    let mut wrong = Vec::new();
    // The crates' roots declare modules and re-export: no layer of their own.
    for (m, paths) in raw_paths(false).into_iter().filter(|(m, _)| !m.is_empty()) {
        if layer(&m) >= layer("io") {
            continue;
        }
        for p in &paths {
            let p: Vec<&str> = p.iter().map(String::as_str).collect();
            if NEVER.iter().any(|n| p.starts_with(n)) {
                wrong.push(format!("{m} names {}", p.join("::")));
            }
            if p.starts_with(&["std", "fs"]) && !FILES.contains(&m.as_str()) {
                wrong.push(format!("{m} reads files: {}", p.join("::")));
            }
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

#[test]
fn partial_and_interrupted_come_from_the_executors_and_the_guards_apply() {
    // io::execute makes them; ops::provision adds the IAM writes made before a GitHub failure;
    // ops::guard's apply makes its own (Organizations has no executor).
    let makers: BTreeSet<String> = raw_paths(false)
        .into_iter()
        .filter(|(_, paths)| {
            paths.iter().any(|p| {
                let tail: Vec<&str> = p.iter().rev().take(2).map(String::as_str).collect();
                tail == ["Partial", "Error"] || tail == ["Interrupted", "Error"]
            })
        })
        .map(|(m, _)| m)
        .filter(|m| m != "error")
        .collect();
    assert_eq!(
        makers,
        BTreeSet::from([
            "io::execute".to_string(),
            "ops::guard".to_string(),
            "ops::provision".to_string()
        ])
    );
}

/// README's layout table, generated from the sources: each folder's crate, layer, modules and
/// lines (to the nearest hundred, so small edits do not churn it).
fn layout_table() -> String {
    let rows: &[(&str, &str, &str)] = &[
        ("crates/keyless-core/src/identity", "keyless-core", "core 1"),
        ("crates/keyless-core/src/policy", "keyless-core", "core 2"),
        ("crates/keyless-core/src/config", "keyless-core", "core 3"),
        ("crates/keyless-core/src/state", "keyless-core", "core 4"),
        (
            "crates/keyless-core/src/artifacts",
            "keyless-core",
            "core 5",
        ),
        ("src/io", "keyless", "edges"),
        ("src/ops", "keyless", "pipeline"),
        ("src/app", "keyless (bin)", "binary"),
        ("src/app/commands", "keyless (bin)", "binary"),
        ("src/app/report", "keyless (bin)", "binary"),
    ];
    let mut out =
        String::from("| folder | crate | layer | modules | lines |\n|---|---|---|---|---|\n");
    for (dir, krate, layer) in rows {
        let full = root().join(dir);
        let mut files = Vec::new();
        for e in std::fs::read_dir(&full).unwrap() {
            let p = e.unwrap().path();
            let nested = p.join("mod.rs");
            if p.extension().is_some_and(|x| x == "rs") {
                files.push(p);
            } else if nested.exists()
                && !["commands", "report"].contains(&p.file_name().unwrap().to_str().unwrap())
            {
                // A nested module folder (policy/lint, io/aws) counts with its parent.
                let mut inner = Vec::new();
                for e in std::fs::read_dir(&p).unwrap() {
                    let q = e.unwrap().path();
                    if q.extension().is_some_and(|x| x == "rs") {
                        inner.push(q);
                    }
                }
                files.extend(inner);
            }
        }
        let lines: usize = files
            .iter()
            .map(|f| std::fs::read_to_string(f).unwrap().lines().count())
            .sum();
        let mut names: Vec<String> = files
            .iter()
            .map(|f| {
                let rel = f.strip_prefix(&full).unwrap().with_extension("");
                rel.to_string_lossy().replace('\\', "/")
            })
            .filter(|n| n != "mod")
            .map(|n| n.trim_end_matches("/mod").to_string())
            .collect();
        names.sort();
        let rounded = (lines + 50) / 100 * 100;
        out.push_str(&format!(
            "| `{dir}/` | {krate} | {layer} | {} | ≈{} |\n",
            names.join(", "),
            thousands(rounded)
        ));
    }
    out
}

fn thousands(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[test]
fn readmes_layout_table_is_generated_from_the_sources() {
    const START: &str = "<!-- layout: generated by tests/it/layers.rs -->\n";
    const END: &str = "<!-- /layout -->";
    let path = root().join("README.md");
    let readme = std::fs::read_to_string(&path).unwrap();
    let (Some(a), Some(b)) = (readme.find(START), readme.find(END)) else {
        panic!("README.md has no generated layout table ({START:?} … {END:?})");
    };
    let table = layout_table();
    let current = &readme[a + START.len()..b];
    if current != table {
        if std::env::var_os("KEYLESS_BLESS").is_some() {
            let fresh = format!("{}{START}{table}{}", &readme[..a], &readme[b..]);
            std::fs::write(&path, fresh).unwrap();
            return;
        }
        panic!(
            "README.md's layout table is out of date; regenerate it with\n  KEYLESS_BLESS=1 cargo test --test integration layers::readmes_layout\n--- generated\n{table}"
        );
    }
}

#[test]
fn only_io_aws_calls_aws_and_only_main_builds_a_runtime() {
    let mut sdk = BTreeSet::new();
    let mut runtimes = BTreeSet::new();
    for (name, paths) in raw_paths(true) {
        for p in &paths {
            let first = p.first().map(String::as_str).unwrap_or("");
            if first.starts_with("aws_sdk_") || first == "aws_config" {
                sdk.insert(name.clone());
            }
            // Building one (tokio::runtime::Builder, Runtime::new), not naming the type.
            let builds =
                p.iter().any(|s| s == "Builder") || p.ends_with(&["Runtime".into(), "new".into()]);
            if first == "tokio" && p.iter().any(|s| s == "runtime") && builds {
                runtimes.insert(name.clone());
            }
        }
    }
    assert!(!sdk.is_empty(), "the SDK's users were found");
    let outside: Vec<&String> = sdk
        .iter()
        .filter(|m| *m != "io::aws" && !m.starts_with("io::aws::"))
        .collect();
    assert!(
        outside.is_empty(),
        "AWS SDK named outside io::aws: {outside:?}"
    );
    assert_eq!(
        runtimes,
        BTreeSet::from(["app".to_string()]),
        "the runtime is built in app::main"
    );
}
