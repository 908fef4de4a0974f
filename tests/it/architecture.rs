//! The layers of `src/` (DESIGN.md, "Layers"): arrows point down only, and the modules
//! below delivery do not depend on each other in a circle. The check reads the source:
//! every `crate::x` path outside comments, strings and `#[cfg(test)]` modules is an
//! arrow from the file's top-level module to `x`.
//!
//! A new top-level module is a service unless it is named in the table below.

mod source;

use std::collections::{BTreeMap, BTreeSet};

use source::{Import, crate_imports};

/// Pages, JSON, command line, health: the only modules that see the application state.
const DELIVERY: &[&str] = &["web", "api", "cli", "health"];
/// The composition root: settings → pools, clients, state, routes, workers.
const ROOT: &[&str] = &["app"];
/// Parsed values, errors, configuration, database, mail, secrets, logging, display
/// formats.
const FOUNDATION: &[&str] = &[
    "domain",
    "error",
    "config",
    "db",
    "mail",
    "crypto",
    "telemetry",
    "display",
];
/// One module per table.
const MODELS: &[&str] = &["models"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layer {
    Foundation,
    Models,
    Service,
    Root,
    Delivery,
}

impl Layer {
    fn of(module: &str) -> Layer {
        if DELIVERY.contains(&module) {
            Layer::Delivery
        } else if ROOT.contains(&module) {
            Layer::Root
        } else if FOUNDATION.contains(&module) {
            Layer::Foundation
        } else if MODELS.contains(&module) {
            Layer::Models
        } else {
            Layer::Service
        }
    }

    fn name(self) -> &'static str {
        match self {
            Layer::Foundation => "foundation",
            Layer::Models => "models",
            Layer::Service => "a service",
            Layer::Root => "the composition root",
            Layer::Delivery => "delivery",
        }
    }

    /// Why a module of this layer may not import one of `to`'s, if it may not.
    fn refuses(self, to: Layer) -> Option<&'static str> {
        match (self, to) {
            (Layer::Delivery | Layer::Root, _) => None,
            (_, Layer::Root) => Some("only delivery code sees the composition root"),
            (_, Layer::Delivery) => Some("only the composition root sees delivery code"),
            (Layer::Foundation, Layer::Foundation) => None,
            (Layer::Foundation, _) => Some("foundation imports only foundation"),
            (Layer::Models, Layer::Foundation | Layer::Models) => None,
            (Layer::Models, _) => Some("models import only foundation and models"),
            (Layer::Service, _) => None,
        }
    }
}

#[test]
fn imports_point_down_the_layers() {
    let mut wrong = Vec::new();
    for import in crate_imports() {
        let (from, to) = (Layer::of(&import.from), Layer::of(&import.to));
        if let Some(rule) = from.refuses(to) {
            wrong.push(format!(
                "{import}: {} ({}) imports {} ({}): {rule}",
                import.from,
                from.name(),
                import.to,
                to.name()
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} imports point up the layers:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

#[test]
fn modules_below_delivery_import_each_other_in_no_circle() {
    // module -> module it imports -> the imports that make the arrow.
    let mut graph: Graph = BTreeMap::new();
    let below = |m: &str| !matches!(Layer::of(m), Layer::Delivery | Layer::Root);
    for import in crate_imports() {
        if import.from != import.to && below(&import.from) && below(&import.to) {
            graph
                .entry(import.from.clone())
                .or_default()
                .entry(import.to.clone())
                .or_default()
                .push(import);
        }
    }
    let mut report = Vec::new();
    for (group, circle) in circles(&graph) {
        report.push(format!(
            "{} import each other in a circle, e.g. {}; their arrows:",
            group.join(", "),
            circle.join(" -> ")
        ));
        for from in &group {
            for (to, imports) in &graph[from] {
                if group.contains(to) {
                    let more = match imports.len() - 1 {
                        0 => String::new(),
                        n => format!(" (and {n} more)"),
                    };
                    report.push(format!("  {from} -> {to}: {}{more}", imports[0]));
                }
            }
        }
    }
    assert!(
        report.is_empty(),
        "modules below delivery depend on each other in a circle (shared rows belong in \
         models, shared values in foundation):\n{}",
        report.join("\n")
    );
}

#[test]
fn a_circle_is_found_and_named_with_its_members() {
    let arrow = |from: &str, to: &str| Import {
        file: format!("src/{from}.rs"),
        line: 1,
        from: from.into(),
        to: to.into(),
        text: format!("crate::{to}"),
    };
    let mut graph: Graph = BTreeMap::new();
    for (from, to) in [
        ("a", "b"),
        ("b", "c"),
        ("c", "a"),
        ("c", "b"),
        ("d", "a"),
        ("e", "f"),
    ] {
        graph
            .entry(from.into())
            .or_default()
            .insert(to.into(), vec![arrow(from, to)]);
    }
    let found = circles(&graph);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, ["a", "b", "c"]);
    assert_eq!(found[0].1, ["a", "b", "c", "a"]);
}

/// Who imports whom among the modules below delivery, with the imports behind each arrow.
type Graph = BTreeMap<String, BTreeMap<String, Vec<Import>>>;

/// Each group of two or more modules that reach each other, sorted, with one shortest
/// circle through its first module (`a -> b -> a`).
fn circles(graph: &Graph) -> Vec<(Vec<String>, Vec<String>)> {
    let next = |m: &str| -> Vec<String> {
        graph
            .get(m)
            .map(|to| to.keys().cloned().collect())
            .unwrap_or_default()
    };
    let reaches = |from: &str| -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut todo = vec![from.to_string()];
        while let Some(m) = todo.pop() {
            for n in next(&m) {
                if seen.insert(n.clone()) {
                    todo.push(n);
                }
            }
        }
        seen
    };
    let mut done: BTreeSet<String> = BTreeSet::new();
    let mut found = Vec::new();
    for start in graph.keys() {
        let reached = reaches(start);
        if done.contains(start) || !reached.contains(start) {
            continue;
        }
        let group: Vec<String> = reached
            .into_iter()
            .filter(|m| reaches(m).contains(start))
            .collect();
        // Breadth first from `start` until an arrow leads back to it.
        let mut came_from: BTreeMap<String, String> = BTreeMap::new();
        let mut queue = std::collections::VecDeque::from([start.clone()]);
        let mut last = None;
        'search: while let Some(m) = queue.pop_front() {
            for n in next(&m) {
                if n == *start {
                    last = Some(m);
                    break 'search;
                }
                if group.contains(&n) && !came_from.contains_key(&n) {
                    came_from.insert(n.clone(), m.clone());
                    queue.push_back(n);
                }
            }
        }
        let mut circle = vec![start.clone()];
        let mut m = last.expect("start reaches itself");
        while m != *start {
            circle.push(m.clone());
            m = came_from[&m].clone();
        }
        circle.push(start.clone());
        circle.reverse();
        done.extend(group.iter().cloned());
        found.push((group, circle));
    }
    found
}
