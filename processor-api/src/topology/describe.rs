//! `describe()`: Kafka Streams' `TopologyDescription` text, byte for byte.
//!
//! Kafka's output depends on Java collection orders, which this module reproduces:
//! - sub-topologies are the node groups in the order of their first node;
//! - nodes print in a `TreeSet` ordered by sub-tree size (descending), then name;
//! - the sizes come from connecting nodes while iterating a `HashMap<String, _>` of the group's
//!   node names, and successor/predecessor lists are `TreeSet`s filled during that iteration,
//!   so both Java's `HashMap` iteration order (`String.hashCode`, table capacity) and a
//!   red-black tree with keys compared at insertion time are emulated;
//! - store and topic lists print in `HashSet` order.

mod tree_set;

use std::fmt;

use super::{NodeKind, Topology};
use tree_set::{compare, TreeSet};

/// A topology's description; `Display` prints Kafka's format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopologyDescription {
    text: String,
}

impl fmt::Display for TopologyDescription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

fn java_hash(s: &str) -> i32 {
    s.encode_utf16().fold(0i32, |h, c| h.wrapping_mul(31).wrapping_add(i32::from(c)))
}

fn bucket(s: &str, capacity: usize) -> usize {
    let h = java_hash(s) as u32;
    ((h ^ (h >> 16)) as usize) & (capacity - 1)
}

/// Table capacity of a `HashMap`/`HashSet` grown one insertion at a time.
fn grown_capacity(n: usize) -> usize {
    let mut cap = 16;
    while n > cap * 3 / 4 {
        cap *= 2;
    }
    cap
}

/// Table capacity of `new HashSet<>(collection)`.
fn copied_capacity(n: usize) -> usize {
    let want = ((n as f32 / 0.75f32) as usize + 1).max(16);
    want.next_power_of_two().max(grown_capacity(n))
}

/// Iteration order of a Java hash set filled with `items` in order.
fn hash_order(items: &[String], capacity: usize) -> Vec<String> {
    let mut v: Vec<(usize, usize, &String)> = items.iter().enumerate().map(|(i, s)| (bucket(s, capacity), i, s)).collect();
    v.sort();
    v.into_iter().map(|(_, _, s)| s.clone()).collect()
}

fn set_string(items: &[String]) -> String {
    format!("[{}]", items.join(", "))
}

fn node_names(set: &TreeSet, names: &[String]) -> String {
    let order = set.in_order();
    if order.is_empty() {
        "none".to_owned()
    } else {
        order.iter().map(|&i| names[i].as_str()).collect::<Vec<_>>().join(", ")
    }
}

fn source_topics(topics: &[String]) -> String {
    set_string(&hash_order(topics, copied_capacity(topics.len())))
}

impl Topology {
    /// The printable description, in Kafka Streams' exact format.
    pub fn describe(&self) -> TopologyDescription {
        describe(self)
    }
}

fn describe(t: &Topology) -> TopologyDescription {
    let mut text = String::from("Topologies:\n ");
    for (id, (group, global)) in t.node_groups().into_iter().enumerate() {
        text.push_str("  ");
        if global {
            describe_global(t, id, &group, &mut text);
        } else {
            describe_subtopology(t, id, &group, &mut text);
        }
    }
    TopologyDescription { text }
}

fn describe_global(t: &Topology, id: usize, group: &[usize], text: &mut String) {
    let source = group.iter().map(|&i| &t.nodes[i]).find(|n| matches!(n.kind, NodeKind::Source { .. }));
    let processor = group.iter().map(|&i| &t.nodes[i]).find(|n| matches!(n.kind, NodeKind::Processor));
    let (Some(source), Some(processor)) = (source, processor) else { return };
    let topic = match &source.kind {
        NodeKind::Source { topics, .. } => topics.first().cloned().unwrap_or_default(),
        _ => String::new(),
    };
    let store = processor.stores.first().cloned().unwrap_or_default();
    text.push_str(&format!(
        "Sub-topology: {id} for global store (will not generate tasks)\n    Source: {} (topics: [{topic}])\n      --> {}\n    Processor: {} (stores: [{store}])\n      --> none\n      <-- {}\n",
        source.name, processor.name, processor.name, source.name
    ));
}

fn describe_subtopology(t: &Topology, id: usize, group: &[usize], text: &mut String) {
    // Local indexes 0..n over the group, in the group's HashSet iteration order (which is also
    // the iteration order of Kafka's `nodesByName` HashMap filled from it).
    let names_in_insertion: Vec<String> = group.iter().map(|&i| t.nodes[i].name.clone()).collect();
    let order = hash_order(&names_in_insertion, grown_capacity(group.len()));
    let names: Vec<String> = order.clone();
    let global_index = |name: &str| group.iter().copied().find(|&i| t.nodes[i].name == name).expect("group member");
    let local = |name: &str| names.iter().position(|n| n == name);
    let n = names.len();
    let mut sizes = vec![1i64; n];
    let mut preds: Vec<TreeSet> = (0..n).map(|_| TreeSet::default()).collect();
    let mut succs: Vec<TreeSet> = (0..n).map(|_| TreeSet::default()).collect();
    let mut pred_lists: Vec<Vec<usize>> = vec![Vec::new(); n];
    for node in 0..n {
        let def = &t.nodes[global_index(&names[node])];
        for p in &def.parents {
            let Some(pred) = local(p) else { continue };
            preds[node].insert(pred, &sizes, &names);
            if !pred_lists[node].contains(&pred) {
                pred_lists[node].push(pred);
            }
            succs[pred].insert(node, &sizes, &names);
            // updateSize(predecessor, node.size): adds to every node upstream of pred.
            let delta = sizes[node];
            let mut stack = vec![pred];
            while let Some(x) = stack.pop() {
                sizes[x] += delta;
                for &pp in preds_in_order(&preds[x]).iter() {
                    stack.push(pp);
                }
            }
        }
    }
    let mut sorted: Vec<usize> = (0..n).collect();
    sorted.sort_by(|&a, &b| compare(a, b, &sizes, &names));
    text.push_str(&format!("Sub-topology: {id}\n"));
    for i in sorted {
        let def = &t.nodes[global_index(&names[i])];
        text.push_str("    ");
        match &def.kind {
            NodeKind::Source { topics, pattern, .. } => {
                let topics = match pattern {
                    Some(p) if topics.is_empty() => p.as_str().to_owned(),
                    _ => source_topics(topics),
                };
                text.push_str(&format!("Source: {} (topics: {topics})\n      --> {}", def.name, node_names(&succs[i], &names)));
            }
            NodeKind::Processor => {
                let stores = hash_order(&hash_order(&def.stores, grown_capacity(def.stores.len())), copied_capacity(def.stores.len()));
                text.push_str(&format!(
                    "Processor: {} (stores: {})\n      --> {}\n      <-- {}",
                    def.name,
                    set_string(&stores),
                    node_names(&succs[i], &names),
                    node_names(&preds[i], &names)
                ));
            }
            NodeKind::Sink { topic, extractor } => {
                let target = match (topic, extractor) {
                    (Some(topic), _) => format!("topic: {topic}"),
                    (None, Some(x)) => format!("extractor class: {x}"),
                    (None, None) => "topic: null".to_owned(),
                };
                text.push_str(&format!("Sink: {} ({target})\n      <-- {}", def.name, node_names(&preds[i], &names)));
            }
        }
        text.push('\n');
    }
    text.push('\n');
}

fn preds_in_order(set: &TreeSet) -> Vec<usize> {
    set.in_order()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_string_hash() {
        assert_eq!(java_hash(""), 0);
        assert_eq!(java_hash("a"), 97);
        assert_eq!(java_hash("hello"), 99_162_322);
        assert_eq!(java_hash("KSTREAM-SOURCE-0000000000"), "KSTREAM-SOURCE-0000000000".encode_utf16().fold(0i32, |h, c| h.wrapping_mul(31).wrapping_add(c as i32)));
    }

    #[test]
    fn hash_set_order_follows_buckets() {
        // "b" (98 -> bucket 2) before "a" would be wrong: 97 -> 1, 98 -> 2.
        let v = hash_order(&["b".to_owned(), "a".to_owned()], 16);
        assert_eq!(v, vec!["a".to_owned(), "b".to_owned()]);
        assert_eq!(grown_capacity(12), 16);
        assert_eq!(grown_capacity(13), 32);
        assert_eq!(copied_capacity(3), 16);
    }
}
