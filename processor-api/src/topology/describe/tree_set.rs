//! Java's `TreeSet` as Kafka's `TopologyDescription` fills it: a red-black tree (the algorithm
//! of `java.util.TreeMap`) whose comparator reads node sizes that change while the set is
//! filled, so the order depends on the sizes at each insertion, as in Kafka.

/// A `TreeSet<Node>` with Kafka's comparator, evaluated against sizes at insertion time.
#[derive(Default)]
pub(super) struct TreeSet {
    nodes: Vec<RbNode>,
    root: Option<usize>,
}

struct RbNode {
    key: usize,
    left: Option<usize>,
    right: Option<usize>,
    parent: Option<usize>,
    red: bool,
}

/// A child's side in the tree.
#[derive(Clone, Copy)]
enum Side {
    Left,
    Right,
}

impl Side {
    fn other(self) -> Side {
        match self {
            Side::Left => Side::Right,
            Side::Right => Side::Left,
        }
    }
}

/// Kafka's node comparator: the larger sub-tree first, then the name's bytes.
pub(super) fn compare(a: usize, b: usize, sizes: &[i64], names: &[String]) -> std::cmp::Ordering {
    if a == b {
        return std::cmp::Ordering::Equal;
    }
    sizes[b].cmp(&sizes[a]).then_with(|| names[a].as_bytes().cmp(names[b].as_bytes()))
}

impl TreeSet {
    pub(super) fn insert(&mut self, key: usize, sizes: &[i64], names: &[String]) {
        let Some(mut t) = self.root else {
            self.nodes.push(RbNode { key, left: None, right: None, parent: None, red: false });
            self.root = Some(self.nodes.len() - 1);
            return;
        };
        let (parent, less) = loop {
            match compare(key, self.nodes[t].key, sizes, names) {
                std::cmp::Ordering::Equal => return,
                std::cmp::Ordering::Less => match self.nodes[t].left {
                    Some(l) => t = l,
                    None => break (t, true),
                },
                std::cmp::Ordering::Greater => match self.nodes[t].right {
                    Some(r) => t = r,
                    None => break (t, false),
                },
            }
        };
        self.nodes.push(RbNode { key, left: None, right: None, parent: Some(parent), red: true });
        let e = self.nodes.len() - 1;
        if less {
            self.nodes[parent].left = Some(e);
        } else {
            self.nodes[parent].right = Some(e);
        }
        self.fix_after_insertion(e);
    }

    fn parent_of(&self, x: Option<usize>) -> Option<usize> {
        x.and_then(|x| self.nodes[x].parent)
    }
    /// Java's `leftOf` / `rightOf`.
    fn child_of(&self, x: Option<usize>, side: Side) -> Option<usize> {
        x.and_then(|x| self.link(x, side))
    }
    fn link(&self, n: usize, side: Side) -> Option<usize> {
        match side {
            Side::Left => self.nodes[n].left,
            Side::Right => self.nodes[n].right,
        }
    }
    fn set_link(&mut self, n: usize, side: Side, to: Option<usize>) {
        match side {
            Side::Left => self.nodes[n].left = to,
            Side::Right => self.nodes[n].right = to,
        }
    }
    fn is_red(&self, x: Option<usize>) -> bool {
        x.is_some_and(|x| self.nodes[x].red)
    }
    fn set_red(&mut self, x: Option<usize>, red: bool) {
        if let Some(x) = x {
            self.nodes[x].red = red;
        }
    }

    /// Java's `rotateLeft` (`side` left) and `rotateRight` (`side` right): `p`'s child on the
    /// other side takes `p`'s place and `p` becomes its child on `side`.
    fn rotate(&mut self, p: Option<usize>, side: Side) {
        let Some(p) = p else { return };
        let other = side.other();
        let c = self.link(p, other).expect("a rotation needs a child on the other side");
        let inner = self.link(c, side);
        self.set_link(p, other, inner);
        if let Some(i) = inner {
            self.nodes[i].parent = Some(p);
        }
        self.nodes[c].parent = self.nodes[p].parent;
        match self.nodes[p].parent {
            None => self.root = Some(c),
            Some(pp) => {
                let at = if self.nodes[pp].left == Some(p) { Side::Left } else { Side::Right };
                self.set_link(pp, at, Some(c));
            }
        }
        self.set_link(c, side, Some(p));
        self.nodes[p].parent = Some(c);
    }

    /// Java's `TreeMap.fixAfterInsertion`, its two mirrored branches written once over the
    /// side of the grandparent the parent is on.
    fn fix_after_insertion(&mut self, e: usize) {
        let mut x = Some(e);
        self.set_red(x, true);
        while x.is_some() && x != self.root && self.is_red(self.parent_of(x)) {
            let px = self.parent_of(x);
            let ppx = self.parent_of(px);
            let side = if px == self.child_of(ppx, Side::Left) { Side::Left } else { Side::Right };
            let y = self.child_of(ppx, side.other());
            if self.is_red(y) {
                self.set_red(px, false);
                self.set_red(y, false);
                self.set_red(ppx, true);
                x = ppx;
            } else {
                if x == self.child_of(px, side.other()) {
                    x = px;
                    self.rotate(x, side);
                }
                let px = self.parent_of(x);
                let ppx = self.parent_of(px);
                self.set_red(px, false);
                self.set_red(ppx, true);
                self.rotate(ppx, side.other());
            }
        }
        let root = self.root;
        self.set_red(root, false);
    }

    pub(super) fn in_order(&self) -> Vec<usize> {
        let mut out = Vec::new();
        let mut stack = Vec::new();
        let mut cur = self.root;
        while cur.is_some() || !stack.is_empty() {
            while let Some(c) = cur {
                stack.push(c);
                cur = self.nodes[c].left;
            }
            let c = stack.pop().expect("non-empty");
            out.push(self.nodes[c].key);
            cur = self.nodes[c].right;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tree_set_sorts_consistent_keys() {
        let names: Vec<String> = (0..10).map(|i| format!("n{i}")).collect();
        let sizes = vec![1i64; 10];
        let mut t = TreeSet::default();
        for i in [5, 2, 8, 1, 9, 0, 3, 7, 4, 6] {
            t.insert(i, &sizes, &names);
        }
        assert_eq!(t.in_order(), (0..10).collect::<Vec<_>>());
    }

    /// Black nodes on every path from `n` down to a leaf, checking on the way that a red node
    /// has no red child and that children point back at their parent.
    fn black_height(t: &TreeSet, n: Option<usize>) -> usize {
        let Some(n) = n else { return 1 };
        let node = &t.nodes[n];
        for c in [node.left, node.right].into_iter().flatten() {
            assert_eq!(t.nodes[c].parent, Some(n));
            assert!(!(node.red && t.nodes[c].red), "red node {n} has a red child");
        }
        let (l, r) = (black_height(t, node.left), black_height(t, node.right));
        assert_eq!(l, r, "unequal black heights under {n}");
        l + usize::from(!node.red)
    }

    #[test]
    fn tree_set_stays_a_red_black_tree_in_both_rotation_directions() {
        let n = 300;
        let names: Vec<String> = (0..n).map(|i| format!("n{i:03}")).collect();
        let sizes = vec![1i64; n];
        // Ascending, descending and scattered insertions: right- and left-leaning fix-ups.
        let scattered: Vec<usize> = (0..n).map(|i| (i * 7919) % n).collect();
        for order in [(0..n).collect::<Vec<_>>(), (0..n).rev().collect(), scattered] {
            let mut t = TreeSet::default();
            for &i in &order {
                t.insert(i, &sizes, &names);
                t.insert(i, &sizes, &names);
            }
            assert_eq!(t.in_order(), (0..n).collect::<Vec<_>>());
            let root = t.root.expect("not empty");
            assert!(!t.nodes[root].red && t.nodes[root].parent.is_none());
            assert!(black_height(&t, t.root) <= 2 * (n as f64).log2().ceil() as usize);
        }
    }
}
