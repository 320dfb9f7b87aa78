//! Levels and the critical path.

use super::*;

fn node(id: &str, deps: &[&str]) -> Node {
    Node::new(BatchNode {
        identifier: id.into(),
        depends_on: deps.iter().map(|d| (*d).to_owned()).collect(),
        ignore_failure: false,
        label: None,
    })
}

fn graph(mut nodes: Vec<Node>) -> Vec<Node> {
    let ls = levels(&nodes);
    for (n, l) in nodes.iter_mut().zip(ls) {
        n.level = l;
    }
    nodes
}

#[test]
fn levels_follow_the_deepest_dependency() {
    let nodes = graph(vec![
        node("a", &[]),
        node("b", &["a"]),
        node("c", &[]),
        node("d", &["b", "c"]),
        node("e", &["missing"]),
    ]);
    let ls: Vec<usize> = nodes.iter().map(|n| n.level).collect();
    assert_eq!(ls, [0, 1, 0, 2, 0]);
    // A cycle (validation rejects it) ends with bounded levels.
    let cyclic = graph(vec![node("x", &["y"]), node("y", &["x"])]);
    assert!(cyclic.iter().all(|n| n.level <= 2));
}

#[test]
fn the_critical_path_is_the_longest_chain_by_duration() {
    // a(10) → b(5) → d(1); c(30) → d: c's chain (31) beats a's (16).
    let nodes = graph(vec![
        node("a", &[]),
        node("b", &["a"]),
        node("c", &[]),
        node("d", &["b", "c"]),
    ]);
    assert_eq!(critical_path(&nodes, &[10, 5, 30, 1]), [2, 3]);
    assert_eq!(critical_path(&nodes, &[10, 25, 30, 1]), [0, 1, 3]);
    assert!(critical_path(&nodes, &[0, 0, 0, 0]).is_empty());
    // No edges (a list, a matrix): the longest node alone.
    let list = vec![node("x", &[]), node("y", &[])];
    assert_eq!(critical_path(&list, &[3, 7]), [1]);
}
