//! Prefix-subscription tables for the publish/subscribe socket family.
//!
//! ZeroMQ subscriptions are *byte-prefix filters* (29/PUBSUB: "a binary
//! comparison of the subscription against the start of the first frame"):
//! a message matches a subscription when the subscription is a prefix of the
//! message's first frame, and the empty subscription matches every message.
//! This module provides the two tables libzmq builds on top of that rule:
//!
//! * [`SubscriptionTrie`] (libzmq `trie_t` / `radix_tree_t`): the SUB/XSUB
//!   side. A *counted* set of prefixes used to filter incoming messages and to
//!   re-send every subscription after a reconnect.
//! * [`MultiTrie`] (libzmq `mtrie_t`): the PUB/XPUB side. A map from prefix to
//!   the *set* of subscriber pipes, used to fan a message out to exactly the
//!   matching pipes and to tell XPUB when a prefix gains its first / loses its
//!   last subscriber.
//!
//! # Design
//!
//! Both are thin wrappers around one private, generic **radix tree**
//! (a path-compressed byte trie), `RadixTree`:
//!
//! * Every node carries an edge `label` (the bytes from its parent to it,
//!   never empty except at the root) and a value slot (a reference count, or a
//!   pipe set). A node exists only if its slot is occupied or it branches
//!   (>= 2 children); the root is the exception and always exists. This
//!   canonical form is restored after every removal ("pruning"), so a tree
//!   whose prefixes have all been removed is back to a lone, empty root and
//!   memory does not grow with subscribe/unsubscribe churn.
//! * Path compression instead of one node per byte: topics are usually long
//!   ASCII strings (`"sensors.building-7.temperature"`) with long unbranched
//!   runs. A plain byte trie would spend one heap node and one dependent
//!   pointer load per byte; the radix tree spends one per *branching point*
//!   and checks the run with a single `memcmp`. Matching is still bounded by
//!   the bytes of the message: at most `len(data) + 1` nodes are visited and at
//!   most `len(data)` bytes compared, whatever the number of prefixes.
//! * Children are stored compactly in two parallel vectors sorted by the first
//!   label byte: `keys: Vec<u8>` and `nodes: Vec<Node>` (nodes inline, not
//!   boxed). Keeping the keys apart means a lookup scans a few contiguous bytes
//!   instead of chasing a pointer per candidate. Lookup is a linear scan for
//!   up to `LINEAR_MAX` (8) children, a binary search above that, and once a node
//!   has `DENSE_ON` (32) or more children (typically only the first level or two
//!   of a big table) it additionally gets a 256-byte `byte -> position` table
//!   for O(1) lookup. The table needs no "absent" sentinel (which would not fit
//!   in a `u8` with 256 possible children): a hit is confirmed by checking
//!   `keys[pos] == byte`. It is dropped again below `DENSE_OFF` (24) children
//!   (hysteresis, so a node hovering around the threshold does not thrash).
//!   A full 256-slot pointer array per node was rejected: 2 KiB per node is a
//!   poor trade when nearly all nodes have one to three children.
//! * No recursion: insertion, removal, matching, iteration, `remove_pipe` and
//!   `Drop` all run iteratively. Subscriptions come from remote peers, and a
//!   peer subscribing to `a`, `aa`, `aaa`, ... could otherwise build a tree
//!   deep enough to overflow the stack of whichever thread touches it
//!   (libzmq had to fix exactly this in its `mtrie`).
//!
//! Neither structure is internally synchronised; each socket owns its table.

use std::fmt;

/// Up to this many children, a child lookup is a linear scan of the keys.
const LINEAR_MAX: usize = 8;
/// A node with at least this many children gets a 256-entry lookup table.
const DENSE_ON: usize = 32;
/// A node that has a lookup table keeps it until it drops below this many
/// children.
const DENSE_OFF: usize = 24;

// ---------------------------------------------------------------------------
// Generic radix tree
// ---------------------------------------------------------------------------

/// What a tree node stores for the prefix that ends at it. A vacant slot
/// means "nobody subscribed to exactly this prefix".
trait Slot: Default {
    fn is_vacant(&self) -> bool;
}

/// Reference count used by [`SubscriptionTrie`].
impl Slot for usize {
    #[inline]
    fn is_vacant(&self) -> bool {
        *self == 0
    }
}

struct Node<V> {
    /// Bytes leading from the parent to this node; empty only for the root
    /// (and for the transient placeholders of `RadixTree::update_all`).
    label: Box<[u8]>,
    value: V,
    children: Children<V>,
}

impl<V: Default> Node<V> {
    /// A node without value or children. Allocates nothing when `label` is
    /// empty.
    fn new(label: Box<[u8]>) -> Self {
        Node {
            label,
            value: V::default(),
            children: Children::new(),
        }
    }
}

/// The children of a node, see the module documentation for the layout.
struct Children<V> {
    /// First label byte of each child, strictly increasing.
    keys: Vec<u8>,
    /// The children, in the same order as `keys`.
    nodes: Vec<Node<V>>,
    /// Present iff the node is dense: `index[b]` is the position of the child
    /// keyed `b`, valid only if `keys[index[b]] == b`.
    index: Option<Box<[u8; 256]>>,
}

impl<V> Children<V> {
    const fn new() -> Self {
        Children {
            keys: Vec::new(),
            nodes: Vec::new(),
            index: None,
        }
    }

    #[inline]
    fn len(&self) -> usize {
        self.keys.len()
    }

    /// Position of the child whose label starts with `byte`.
    #[inline]
    fn find(&self, byte: u8) -> Option<usize> {
        if let Some(index) = &self.index {
            let pos = usize::from(index[usize::from(byte)]);
            return match self.keys.get(pos) {
                Some(&k) if k == byte => Some(pos),
                _ => None,
            };
        }
        if self.keys.len() <= LINEAR_MAX {
            self.keys.iter().position(|&k| k == byte)
        } else {
            self.keys.binary_search(&byte).ok()
        }
    }

    #[inline]
    fn get(&self, byte: u8) -> Option<&Node<V>> {
        self.find(byte).map(|pos| &self.nodes[pos])
    }

    /// Inserts `node`, whose first label byte must not be used by a sibling;
    /// returns its position.
    fn insert(&mut self, node: Node<V>) -> usize {
        let byte = node.label[0];
        let pos = match self.keys.binary_search(&byte) {
            Ok(_) => panic!("subscription trie: duplicate child key {byte:#04x}"),
            Err(pos) => pos,
        };
        self.keys.insert(pos, byte);
        self.nodes.insert(pos, node);
        self.reindex();
        pos
    }

    /// Removes and returns the child at `pos`.
    fn remove(&mut self, pos: usize) -> Node<V> {
        self.keys.remove(pos);
        let node = self.nodes.remove(pos);
        self.shrink();
        self.reindex();
        node
    }

    /// Keeps only the first `n` children and recomputes the keys from the
    /// labels (used by `update_all`, which compacts children in place).
    fn truncate_and_rekey(&mut self, n: usize) {
        self.nodes.truncate(n);
        self.keys.clear();
        self.keys
            .extend(self.nodes.iter().map(|child| child.label[0]));
        self.shrink();
        self.reindex();
    }

    /// Gives memory back after heavy removal so churn cannot pin the peak.
    fn shrink(&mut self) {
        let len = self.keys.len();
        if len == 0 {
            self.keys = Vec::new();
            self.nodes = Vec::new();
        } else if self.nodes.capacity() >= 8 && len * 4 <= self.nodes.capacity() {
            self.keys.shrink_to(len * 2);
            self.nodes.shrink_to(len * 2);
        }
    }

    /// Creates, refreshes or drops the dense lookup table after the key set
    /// changed. Only runs on insert/remove, never on the matching path.
    fn reindex(&mut self) {
        let len = self.keys.len();
        if len >= DENSE_ON || (self.index.is_some() && len >= DENSE_OFF) {
            let index = self.index.get_or_insert_with(|| Box::new([0; 256]));
            for (pos, &key) in self.keys.iter().enumerate() {
                // At most 256 distinct keys, so every position fits in a u8.
                index[usize::from(key)] = pos as u8;
            }
        } else {
            self.index = None;
        }
    }
}

fn common_prefix_len(a: &[u8], b: &[u8]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

/// Splits `node`'s label at `at` (0 < at < label length): `node` becomes a
/// value-less node labelled with the head, whose only child is the old node
/// relabelled with the tail.
fn split<V: Default>(node: &mut Node<V>, at: usize) {
    let head: Box<[u8]> = node.label[..at].into();
    let tail: Box<[u8]> = node.label[at..].into();
    let mut lower = std::mem::replace(node, Node::new(head));
    lower.label = tail;
    node.children.insert(lower);
}

/// Replaces a value-less node that has exactly one child by that child, with
/// the two labels concatenated. The first label byte is unchanged, so the
/// parent's key for this position stays valid.
fn merge_with_only_child<V>(node: &mut Node<V>) {
    let mut only = node.children.remove(0);
    let mut label = Vec::with_capacity(node.label.len() + only.label.len());
    label.extend_from_slice(&node.label);
    label.extend_from_slice(&only.label);
    only.label = label.into_boxed_slice();
    // The replaced node has no children left, so dropping it is shallow.
    *node = only;
}

/// Restores the canonical form of `parent`'s child at `pos` after its value
/// may have become vacant. Returns true if the child was removed.
fn normalize_child<V: Slot>(parent: &mut Node<V>, pos: usize) -> bool {
    let child = &mut parent.children.nodes[pos];
    if !child.value.is_vacant() {
        return false;
    }
    match child.children.len() {
        0 => {
            parent.children.remove(pos);
            true
        }
        1 => {
            merge_with_only_child(child);
            false
        }
        _ => false,
    }
}

/// Moves one node down along `rest`: returns the child whose label is a
/// prefix of `rest` and consumes the label from `rest`.
#[inline]
fn descend<'a, V>(node: &'a Node<V>, rest: &mut &'a [u8]) -> Option<&'a Node<V>> {
    let first = *rest.first()?;
    let child = node.children.get(first)?;
    // The first byte is known to match; compare the remainder of the label.
    let tail = rest.get(1..child.label.len())?;
    if tail != &child.label[1..] {
        return None;
    }
    *rest = &rest[child.label.len()..];
    Some(child)
}

/// Iterator over the occupied slots of the nodes whose key is a prefix of
/// some data, shortest key first. Allocation-free.
struct PathValues<'a, V> {
    node: Option<&'a Node<V>>,
    rest: &'a [u8],
}

impl<'a, V: Slot> Iterator for PathValues<'a, V> {
    type Item = &'a V;

    #[inline]
    fn next(&mut self) -> Option<&'a V> {
        while let Some(node) = self.node {
            self.node = descend(node, &mut self.rest);
            if !node.value.is_vacant() {
                return Some(&node.value);
            }
        }
        None
    }
}

/// Path-compressed byte trie mapping byte strings to slots; the common core
/// of [`SubscriptionTrie`] and [`MultiTrie`].
struct RadixTree<V> {
    root: Node<V>,
}

impl<V: Slot> RadixTree<V> {
    fn new() -> Self {
        RadixTree {
            root: Node::new(Box::default()),
        }
    }

    fn is_empty(&self) -> bool {
        self.root.value.is_vacant() && self.root.children.len() == 0
    }

    /// Returns the slot for `key`, creating (and splitting) nodes as needed.
    /// The caller must leave the slot occupied, or the canonical form is
    /// broken.
    fn slot_mut(&mut self, key: &[u8]) -> &mut V {
        let mut node = &mut self.root;
        let mut rest = key;
        loop {
            let Some(&first) = rest.first() else {
                return &mut node.value;
            };
            let Some(pos) = node.children.find(first) else {
                let pos = node.children.insert(Node::new(rest.into()));
                return &mut node.children.nodes[pos].value;
            };
            let child = &mut node.children.nodes[pos];
            let common = common_prefix_len(&child.label, rest);
            if common < child.label.len() {
                split(child, common);
            }
            node = child;
            rest = &rest[common..];
        }
    }

    /// The child positions leading from the root to the node for exactly
    /// `key`, if that node exists (occupied or not).
    fn locate(&self, key: &[u8]) -> Option<Vec<usize>> {
        let mut path = Vec::new();
        let mut node = &self.root;
        let mut rest = key;
        while let Some(&first) = rest.first() {
            let pos = node.children.find(first)?;
            let child = &node.children.nodes[pos];
            if !rest.starts_with(&child.label) {
                return None;
            }
            rest = &rest[child.label.len()..];
            path.push(pos);
            node = child;
        }
        Some(path)
    }

    fn node_at_mut(&mut self, path: &[usize]) -> &mut Node<V> {
        let mut node = &mut self.root;
        for &pos in path {
            node = &mut node.children.nodes[pos];
        }
        node
    }

    /// Applies `f` to the slot of `key` if a node for `key` exists (the slot
    /// may be vacant if the node only branches), then prunes. Returns `None`
    /// if there is no node for `key`.
    fn modify<R>(&mut self, key: &[u8], f: impl FnOnce(&mut V) -> R) -> Option<R> {
        let path = self.locate(key)?;
        let node = self.node_at_mut(&path);
        let result = f(&mut node.value);
        if node.value.is_vacant() {
            self.prune(&path);
        }
        Some(result)
    }

    /// Restores the canonical form after the node at `path` became vacant.
    /// Only that node and its parent can be affected: removing a leaf can
    /// leave its (non-root) parent value-less with a single child, which is
    /// then merged; merging does not change the grandparent's child count.
    fn prune(&mut self, path: &[usize]) {
        let Some((&pos, up)) = path.split_last() else {
            return; // the root is never removed
        };
        let removed = normalize_child(self.node_at_mut(up), pos);
        if removed {
            if let Some((&parent_pos, up_up)) = up.split_last() {
                normalize_child(self.node_at_mut(up_up), parent_pos);
            }
        }
    }

    /// The occupied slots whose keys are prefixes of `data`, shortest first.
    fn path_values<'a>(&'a self, data: &'a [u8]) -> PathValues<'a, V> {
        PathValues {
            node: Some(&self.root),
            rest: data,
        }
    }

    /// Calls `f(key, slot)` for every occupied slot, in key order.
    fn for_each_value(&self, mut f: impl FnMut(&[u8], &V)) {
        let mut key = Vec::new();
        if !self.root.value.is_vacant() {
            f(&key, &self.root.value);
        }
        let mut stack: Vec<(&Node<V>, usize)> = vec![(&self.root, 0)];
        while let Some(top) = stack.last_mut() {
            let (node, next) = *top;
            if let Some(child) = node.children.nodes.get(next) {
                top.1 += 1;
                key.extend_from_slice(&child.label);
                if !child.value.is_vacant() {
                    f(&key, &child.value);
                }
                stack.push((child, 0));
            } else {
                stack.pop();
                key.truncate(key.len() - node.label.len());
            }
        }
    }

    /// Calls `f(key, slot)` for every node (pre-order, key order), letting it
    /// modify the slot, and restores the canonical form of the whole tree on
    /// the way back up.
    ///
    /// Safe Rust cannot keep a stack of `&mut` into a tree, so each frame
    /// *owns* the node being visited: a child is moved out of its parent's
    /// vector (leaving an allocation-free placeholder), visited, and moved
    /// back — compacted — into the first free position of that vector when
    /// its subtree is done. Existing vectors are reused, so apart from the
    /// frame stack and the key buffer nothing is allocated.
    ///
    /// If `f` panics, the tree is left empty (but valid).
    fn update_all(&mut self, mut f: impl FnMut(&[u8], &mut V)) {
        struct Frame<V> {
            node: Node<V>,
            children: Children<V>,
            /// Next child to visit.
            next: usize,
            /// Number of surviving children moved back so far.
            kept: usize,
        }
        fn open<V>(mut node: Node<V>) -> Frame<V> {
            let children = std::mem::replace(&mut node.children, Children::new());
            Frame {
                node,
                children,
                next: 0,
                kept: 0,
            }
        }

        let mut key = Vec::new();
        let mut root = std::mem::replace(&mut self.root, Node::new(Box::default()));
        f(&key, &mut root.value);
        let mut stack = vec![open(root)];
        while let Some(top) = stack.last_mut() {
            if top.next < top.children.nodes.len() {
                let mut child =
                    std::mem::replace(&mut top.children.nodes[top.next], Node::new(Box::default()));
                top.next += 1;
                key.extend_from_slice(&child.label);
                f(&key, &mut child.value);
                stack.push(open(child));
                continue;
            }
            let Some(Frame {
                mut node,
                mut children,
                kept,
                ..
            }) = stack.pop()
            else {
                unreachable!("stack is not empty here");
            };
            children.truncate_and_rekey(kept);
            node.children = children;
            let Some(parent) = stack.last_mut() else {
                self.root = node;
                return;
            };
            key.truncate(key.len() - node.label.len());
            if node.value.is_vacant() {
                match node.children.len() {
                    0 => continue, // dropped; it has no children, so shallow
                    1 => merge_with_only_child(&mut node),
                    _ => {}
                }
            }
            // Overwrites an already-visited placeholder (cheap to drop).
            parent.children.nodes[parent.kept] = node;
            parent.kept += 1;
        }
    }
}

impl<V> Drop for RadixTree<V> {
    /// Iterative teardown: the derived, recursive drop would overflow the
    /// stack on a deep (e.g. `a`, `aa`, `aaa`, ...) tree.
    fn drop(&mut self) {
        let mut stack = std::mem::take(&mut self.root.children.nodes);
        while let Some(mut node) = stack.pop() {
            stack.append(&mut node.children.nodes);
        }
    }
}

#[cfg(test)]
impl<V: Slot> RadixTree<V> {
    /// Number of nodes, root excluded (0 for a fully pruned tree).
    fn node_count(&self) -> usize {
        let mut count = 0;
        let mut stack = vec![&self.root];
        while let Some(node) = stack.pop() {
            count += node.children.nodes.len();
            stack.extend(node.children.nodes.iter());
        }
        count
    }

    /// Panics if the tree is not in canonical form.
    fn check_invariants(&self) {
        assert!(self.root.label.is_empty(), "root label must be empty");
        let mut stack = vec![(&self.root, true)];
        while let Some((node, is_root)) = stack.pop() {
            if !is_root {
                assert!(!node.label.is_empty(), "empty label below the root");
                assert!(
                    !node.value.is_vacant() || node.children.len() >= 2,
                    "non-root node with no value and {} children",
                    node.children.len()
                );
            }
            let children = &node.children;
            assert_eq!(children.keys.len(), children.nodes.len());
            assert!(
                children.keys.windows(2).all(|w| w[0] < w[1]),
                "keys unsorted"
            );
            for (pos, (key, child)) in children.keys.iter().zip(&children.nodes).enumerate() {
                assert_eq!(*key, child.label[0], "key does not match label");
                assert_eq!(children.find(*key), Some(pos), "lookup failed");
                if let Some(index) = &children.index {
                    assert_eq!(usize::from(index[usize::from(*key)]), pos);
                }
                stack.push((child, false));
            }
            let len = children.len();
            if len >= DENSE_ON {
                assert!(children.index.is_some(), "dense node without index");
            }
            if len < DENSE_OFF {
                assert!(children.index.is_none(), "sparse node with index");
            }
        }
    }
}

/// Debug helper printing a byte string as `b"..."` with escapes.
struct ByteStr<'a>(&'a [u8]);

impl fmt::Debug for ByteStr<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "b\"{}\"", self.0.escape_ascii())
    }
}

// ---------------------------------------------------------------------------
// SubscriptionTrie (SUB / XSUB)
// ---------------------------------------------------------------------------

/// SUB/XSUB side: the set of prefixes this socket subscribed to, with counts.
///
/// Used to filter incoming messages locally ([`matches`](Self::matches)) and
/// to resend all subscriptions after a reconnect
/// ([`for_each`](Self::for_each)). Subscriptions are reference counted like
/// libzmq's `trie_t`: subscribing twice to the same prefix needs two
/// unsubscribes before the prefix is really gone, and only the first
/// subscribe / last unsubscribe has to be forwarded upstream.
///
/// ```
/// use ferrozmq::routing::subscription_trie::SubscriptionTrie;
/// let mut subs = SubscriptionTrie::new();
/// assert!(subs.add(b"weather."));
/// assert!(subs.matches(b"weather.paris 21C"));
/// assert!(!subs.matches(b"news.today"));
/// assert!(subs.remove(b"weather."));
/// assert!(subs.is_empty());
/// ```
pub struct SubscriptionTrie {
    tree: RadixTree<usize>,
    /// Number of distinct prefixes with a non-zero count.
    distinct: usize,
}

impl SubscriptionTrie {
    /// Creates an empty table (no subscription: [`matches`](Self::matches)
    /// is false for every message, as for a fresh SUB socket).
    pub fn new() -> Self {
        SubscriptionTrie {
            tree: RadixTree::new(),
            distinct: 0,
        }
    }

    /// Adds one reference to `prefix`; returns true if the prefix was not
    /// subscribed before (so the caller must send SUBSCRIBE upstream).
    pub fn add(&mut self, prefix: &[u8]) -> bool {
        let count = self.tree.slot_mut(prefix);
        *count += 1;
        if *count == 1 {
            self.distinct += 1;
            true
        } else {
            false
        }
    }

    /// Removes one reference; returns true if that was the last one (caller
    /// sends CANCEL). Removing an absent prefix returns false and changes
    /// nothing.
    pub fn remove(&mut self, prefix: &[u8]) -> bool {
        let last = self.tree.modify(prefix, |count| match *count {
            0 => false, // a branching node, not a subscription
            _ => {
                *count -= 1;
                *count == 0
            }
        });
        if last == Some(true) {
            self.distinct -= 1;
            true
        } else {
            false
        }
    }

    /// True if some subscribed prefix is a prefix of `data` (so the message
    /// must be delivered). Visits only the nodes along `data`'s path and never
    /// allocates. An empty subscription matches everything, including an
    /// empty message.
    pub fn matches(&self, data: &[u8]) -> bool {
        self.tree.path_values(data).next().is_some()
    }

    /// Calls `f` once per distinct subscribed prefix (for re-sending
    /// subscriptions on reconnect), in lexicographic byte order. The counts
    /// are not reported: upstream only needs each prefix once.
    pub fn for_each(&self, mut f: impl FnMut(&[u8])) {
        self.tree.for_each_value(|prefix, _| f(prefix));
    }

    /// True if there is no subscription at all (every message is filtered
    /// out).
    pub fn is_empty(&self) -> bool {
        self.tree.is_empty()
    }

    /// Number of distinct prefixes (a prefix added twice counts once).
    pub fn len(&self) -> usize {
        self.distinct
    }
}

impl Default for SubscriptionTrie {
    /// Same as [`SubscriptionTrie::new`].
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for SubscriptionTrie {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut map = f.debug_map();
        self.tree.for_each_value(|prefix, count| {
            map.entry(&ByteStr(prefix), count);
        });
        map.finish()
    }
}

// ---------------------------------------------------------------------------
// MultiTrie (PUB / XPUB)
// ---------------------------------------------------------------------------

/// The subscribers of one prefix: a sorted vector used as a set. Sorted so
/// membership is a binary search and duplicate reports can be filtered
/// without hashing.
struct PipeSet<P>(Vec<P>);

impl<P> Default for PipeSet<P> {
    fn default() -> Self {
        PipeSet(Vec::new())
    }
}

impl<P> Slot for PipeSet<P> {
    #[inline]
    fn is_vacant(&self) -> bool {
        self.0.is_empty()
    }
}

impl<P: Ord> PipeSet<P> {
    /// Removes `pipe`; returns true if it was present.
    fn remove(&mut self, pipe: &P) -> bool {
        match self.0.binary_search(pipe) {
            Ok(pos) => {
                self.0.remove(pos);
                if self.0.is_empty() {
                    self.0 = Vec::new();
                } else if self.0.capacity() >= 8 && self.0.len() * 4 <= self.0.capacity() {
                    self.0.shrink_to(self.0.len() * 2);
                }
                true
            }
            Err(_) => false,
        }
    }
}

/// Number of matching prefixes whose pipe sets `for_each_match` remembers on
/// the stack before spilling to the heap.
const MATCH_INLINE: usize = 16;

/// PUB/XPUB side: prefix -> set of subscriber ids (pipes).
///
/// Used to fan a message out to exactly the matching subscribers
/// ([`for_each_match`](Self::for_each_match)) and to de-duplicate
/// subscription messages for XPUB: [`add`](Self::add) reports when a prefix
/// gets its first subscriber and [`remove`](Self::remove) /
/// [`remove_pipe`](Self::remove_pipe) when it loses its last one, which is
/// when XPUB forwards the (un)subscription.
///
/// Following libzmq's `mtrie_t`, each prefix holds a **set** of pipes, not a
/// count: adding the same `(prefix, pipe)` pair twice stores it once (the
/// second `add` returns false), and a single [`remove`](Self::remove) undoes
/// it. `P` is any small copyable pipe identifier (an index or id).
///
/// ```
/// use ferrozmq::routing::subscription_trie::MultiTrie;
/// let mut fan_out: MultiTrie<u32> = MultiTrie::new();
/// fan_out.add(b"a", 1);
/// fan_out.add(b"ab", 2);
/// let mut to = Vec::new();
/// fan_out.for_each_match(b"abc", |pipe| to.push(pipe));
/// to.sort();
/// assert_eq!(to, [1, 2]);
/// ```
pub struct MultiTrie<P> {
    tree: RadixTree<PipeSet<P>>,
    /// Prefixes with at least one subscriber (ZMQ_TOPICS_COUNT).
    distinct: usize,
}

impl<P: Copy + Eq + std::hash::Hash + Ord + fmt::Debug> MultiTrie<P> {
    /// Creates an empty table: no pipe is subscribed to anything, so a message
    /// reaches nobody.
    pub fn new() -> Self {
        MultiTrie {
            tree: RadixTree::new(),
            distinct: 0,
        }
    }

    /// Subscribes `pipe` to `prefix`; returns true if `prefix` had no
    /// subscriber at all before (XPUB then passes the subscription upstream).
    ///
    /// The pipes of a prefix form a set, as in libzmq's `mtrie_t`: adding a
    /// `(prefix, pipe)` pair that is already present changes nothing and
    /// returns false, and one [`remove`](Self::remove) undoes any number of
    /// identical adds.
    pub fn add(&mut self, prefix: &[u8], pipe: P) -> bool {
        let set = &mut self.tree.slot_mut(prefix).0;
        match set.binary_search(&pipe) {
            Ok(_) => false,
            Err(pos) => {
                set.insert(pos, pipe);
                let first = set.len() == 1;
                self.distinct += first as usize;
                first
            }
        }
    }

    /// Number of prefixes somebody is subscribed to (ZMQ_TOPICS_COUNT).
    pub fn topics(&self) -> usize {
        self.distinct
    }

    /// Unsubscribes `pipe` from `prefix`; returns true if `prefix` now has no
    /// subscribers at all (XPUB then passes the unsubscription upstream). An
    /// absent pair returns false and changes nothing.
    pub fn remove(&mut self, prefix: &[u8], pipe: P) -> bool {
        let last = self
            .tree
            .modify(prefix, |set| set.remove(&pipe) && set.is_vacant())
            .unwrap_or(false);
        self.distinct -= last as usize;
        last
    }

    /// Removes `pipe` from every prefix (the peer disconnected); calls
    /// `on_last(prefix)` exactly once for each prefix that `pipe` was the
    /// only subscriber of, i.e. each prefix left with no subscriber (XPUB
    /// turns these into unsubscriptions). Prefixes are reported in
    /// lexicographic byte order. Visits the whole table (O(number of nodes)),
    /// without recursion.
    ///
    /// If `on_last` panics, the table is left empty.
    pub fn remove_pipe(&mut self, pipe: P, mut on_last: impl FnMut(&[u8])) {
        let mut emptied = 0;
        self.tree.update_all(|prefix, set| {
            if set.remove(&pipe) && set.is_vacant() {
                emptied += 1;
                on_last(prefix);
            }
        });
        self.distinct -= emptied;
    }

    /// Calls `f(pipe)` once for each distinct pipe subscribed to any prefix of
    /// `data` (a pipe matching through several prefixes is reported once).
    /// The order of the reports is unspecified.
    ///
    /// Only the nodes along `data`'s path are visited. De-duplication: the
    /// matching pipe sets are met shortest prefix first, and a pipe of the
    /// k-th set is reported only if a binary search does not find it in any of
    /// the k-1 earlier (sorted) sets. In the common case of one matching
    /// prefix this costs nothing beyond the iteration. The earlier sets are
    /// remembered as slices in a fixed array on the stack; only a message
    /// matched by more than `MATCH_INLINE` (16) nested prefixes spills to a
    /// heap vector. So this never allocates when there are no matches (nor
    /// in practice otherwise), needs no `&mut self` scratch buffer (the hot
    /// path stays callable through `&self`, unlike a reusable seen-set), and
    /// needs no hashing.
    pub fn for_each_match(&self, data: &[u8], mut f: impl FnMut(P)) {
        let mut earlier: [&[P]; MATCH_INLINE] = [&[]; MATCH_INLINE];
        let mut spilled: Vec<&[P]> = Vec::new(); // does not allocate until pushed
        for (seen, set) in self.tree.path_values(data).enumerate() {
            let pipes = set.0.as_slice();
            if seen == 0 {
                pipes.iter().for_each(|&pipe| f(pipe));
            } else {
                let before = &earlier[..seen.min(MATCH_INLINE)];
                for &pipe in pipes {
                    let duplicate = before
                        .iter()
                        .chain(spilled.iter())
                        .any(|set| set.binary_search(&pipe).is_ok());
                    if !duplicate {
                        f(pipe);
                    }
                }
            }
            if seen < MATCH_INLINE {
                earlier[seen] = pipes;
            } else {
                spilled.push(pipes);
            }
        }
    }

    /// True if no pipe is subscribed to anything.
    pub fn is_empty(&self) -> bool {
        self.tree.is_empty()
    }
}

impl<P: Copy + Eq + std::hash::Hash + Ord + fmt::Debug> Default for MultiTrie<P> {
    /// Same as [`MultiTrie::new`].
    fn default() -> Self {
        Self::new()
    }
}

impl<P: fmt::Debug> fmt::Debug for MultiTrie<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut map = f.debug_map();
        self.tree.for_each_value(|prefix, set| {
            map.entry(&ByteStr(prefix), &set.0);
        });
        map.finish()
    }
}

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::{BTreeMap, BTreeSet, HashMap};

    /// Deterministic xorshift generator for the randomised unit tests.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }

        /// A prefix over a small alphabet so that prefixes share paths.
        fn prefix(&mut self, alphabet: &[u8], max_len: usize) -> Vec<u8> {
            let len = self.below(max_len + 1);
            (0..len)
                .map(|_| alphabet[self.below(alphabet.len())])
                .collect()
        }
    }

    fn prefixes_of(trie: &SubscriptionTrie) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        trie.for_each(|p| out.push(p.to_vec()));
        out
    }

    fn matches_of<P: Copy + Eq + std::hash::Hash + Ord + fmt::Debug>(
        trie: &MultiTrie<P>,
        data: &[u8],
    ) -> Vec<P> {
        let mut out = Vec::new();
        trie.for_each_match(data, |p| out.push(p));
        out.sort();
        out
    }

    fn check_sub(trie: &SubscriptionTrie) {
        trie.tree.check_invariants();
        let mut occupied = 0;
        trie.tree.for_each_value(|_, _| occupied += 1);
        assert_eq!(occupied, trie.len());
        assert_eq!(trie.is_empty(), occupied == 0);
    }

    fn check_multi<P: Copy + Eq + std::hash::Hash + Ord + fmt::Debug>(trie: &MultiTrie<P>) {
        trie.tree.check_invariants();
        trie.tree.for_each_value(|prefix, set| {
            assert!(
                set.0.windows(2).all(|w| w[0] < w[1]),
                "pipe set of {:?} not strictly sorted",
                ByteStr(prefix)
            );
        });
    }

    // ----- SubscriptionTrie -------------------------------------------------

    #[test]
    fn empty_trie_matches_nothing() {
        let trie = SubscriptionTrie::new();
        assert!(trie.is_empty());
        assert_eq!(trie.len(), 0);
        assert!(!trie.matches(b""));
        assert!(!trie.matches(b"anything"));
        assert!(prefixes_of(&trie).is_empty());
        assert_eq!(trie.tree.node_count(), 0);
        check_sub(&trie);
    }

    #[test]
    fn empty_prefix_matches_everything() {
        let mut trie = SubscriptionTrie::new();
        assert!(trie.add(b""));
        assert!(trie.matches(b""));
        assert!(trie.matches(b"a"));
        assert!(trie.matches(&[0u8, 255, 7]));
        assert_eq!(trie.len(), 1);
        assert!(!trie.is_empty());
        assert_eq!(prefixes_of(&trie), vec![Vec::<u8>::new()]);
        assert_eq!(trie.tree.node_count(), 0, "empty prefix lives in the root");
        assert!(trie.remove(b""));
        assert!(!trie.matches(b"a"));
        assert!(trie.is_empty());
    }

    #[test]
    fn prefix_semantics() {
        let mut trie = SubscriptionTrie::new();
        assert!(trie.add(b"abc"));
        assert!(trie.matches(b"abc"), "exact");
        assert!(trie.matches(b"abcdef"), "longer message");
        assert!(!trie.matches(b"ab"), "message shorter than prefix");
        assert!(!trie.matches(b""), "empty message");
        assert!(!trie.matches(b"abd"), "diverges in last byte");
        assert!(!trie.matches(b"xbc"), "diverges in first byte");
        assert!(trie.add(b"abd"));
        assert!(trie.add(b"a"));
        assert!(trie.matches(b"ax"));
        assert!(trie.matches(b"abdz"));
        assert!(trie.remove(b"a"));
        assert!(!trie.matches(b"ax"));
        assert!(trie.matches(b"abd"));
        check_sub(&trie);
    }

    #[test]
    fn binary_prefixes() {
        let mut trie = SubscriptionTrie::new();
        assert!(trie.add(&[0]));
        assert!(trie.add(&[255, 0, 255]));
        assert!(trie.matches(&[0, 1]));
        assert!(trie.matches(&[255, 0, 255, 255]));
        assert!(!trie.matches(&[255, 0]));
        assert!(!trie.matches(&[1]));
        assert_eq!(prefixes_of(&trie), vec![vec![0], vec![255, 0, 255]]);
    }

    #[test]
    fn subscriptions_are_counted() {
        let mut trie = SubscriptionTrie::new();
        assert!(trie.add(b"topic"), "first add must be sent upstream");
        assert!(!trie.add(b"topic"), "second add is local only");
        assert!(!trie.add(b"topic"));
        assert_eq!(trie.len(), 1, "distinct prefixes");
        assert!(!trie.remove(b"topic"));
        assert!(!trie.remove(b"topic"));
        assert!(trie.matches(b"topic.x"), "one reference still left");
        assert!(trie.remove(b"topic"), "last reference: send CANCEL");
        assert!(!trie.matches(b"topic.x"));
        assert!(!trie.remove(b"topic"), "already gone");
        assert!(trie.is_empty());
        assert_eq!(trie.tree.node_count(), 0);
    }

    #[test]
    fn removing_absent_prefix_changes_nothing() {
        let mut trie = SubscriptionTrie::new();
        trie.add(b"abc");
        trie.add(b"abd");
        trie.add(b"xyz");
        let nodes = trie.tree.node_count();
        let before = prefixes_of(&trie);
        // "ab" exists as a branching node but is not a subscription.
        for absent in [&b"ab"[..], b"a", b"x", b"xy", b"xyzz", b"abcd", b"q", b""] {
            assert!(!trie.remove(absent), "{:?}", ByteStr(absent));
            assert_eq!(trie.tree.node_count(), nodes);
            assert_eq!(prefixes_of(&trie), before);
            assert_eq!(trie.len(), 3);
            check_sub(&trie);
        }
        assert!(!SubscriptionTrie::new().remove(b"nothing"));
        assert!(!SubscriptionTrie::new().remove(b""));
    }

    #[test]
    fn for_each_reports_each_distinct_prefix_once() {
        let mut trie = SubscriptionTrie::new();
        for p in [&b"b"[..], b"", b"abc", b"ab", b"abc", b"b", b"abd"] {
            trie.add(p);
        }
        let expected: Vec<Vec<u8>> = [&b""[..], b"ab", b"abc", b"abd", b"b"]
            .iter()
            .map(|p| p.to_vec())
            .collect();
        assert_eq!(prefixes_of(&trie), expected);
        assert_eq!(trie.len(), 5);
    }

    #[test]
    fn split_and_merge_keep_canonical_form() {
        let mut trie = SubscriptionTrie::new();
        trie.add(b"abc");
        assert_eq!(trie.tree.node_count(), 1, "one compressed node");
        trie.add(b"abd");
        assert_eq!(trie.tree.node_count(), 3, "ab -> {{c, d}}");
        trie.add(b"ab");
        assert_eq!(trie.tree.node_count(), 3, "ab becomes occupied");
        trie.remove(b"ab");
        assert_eq!(trie.tree.node_count(), 3, "ab still branches");
        trie.remove(b"abd");
        assert_eq!(trie.tree.node_count(), 1, "merged back into abc");
        assert!(trie.matches(b"abc"));
        assert!(!trie.matches(b"ab"));
        check_sub(&trie);
        trie.remove(b"abc");
        assert_eq!(trie.tree.node_count(), 0);
    }

    #[test]
    fn churn_prunes_back_to_zero_nodes() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let mut trie = SubscriptionTrie::new();
        let mut model: HashMap<Vec<u8>, usize> = HashMap::new();
        for round in 0..20_000 {
            let prefix = rng.prefix(b"abc\0\xff", 8);
            if rng.below(3) == 0 {
                let expected = match model.get_mut(&prefix) {
                    Some(n) if *n == 1 => {
                        model.remove(&prefix);
                        true
                    }
                    Some(n) => {
                        *n -= 1;
                        false
                    }
                    None => false,
                };
                assert_eq!(trie.remove(&prefix), expected);
            } else {
                assert_eq!(trie.add(&prefix), !model.contains_key(&prefix));
                *model.entry(prefix).or_insert(0) += 1;
            }
            if round % 1000 == 0 {
                check_sub(&trie);
            }
        }
        assert_eq!(trie.len(), model.len());
        let mut all: Vec<_> = model.into_iter().collect();
        all.sort();
        for (prefix, count) in all.iter().rev() {
            for i in 0..*count {
                assert_eq!(trie.remove(prefix), i + 1 == *count);
            }
        }
        assert!(trie.is_empty());
        assert_eq!(trie.len(), 0);
        assert_eq!(trie.tree.node_count(), 0, "all nodes pruned");
        assert_eq!(
            trie.tree.root.children.nodes.capacity(),
            0,
            "memory released"
        );
    }

    #[test]
    fn wide_nodes_switch_to_dense_lookup_and_back() {
        let mut trie = SubscriptionTrie::new();
        let mut bytes: Vec<u8> = (0..=255).collect();
        let mut rng = Rng(42);
        for i in (1..bytes.len()).rev() {
            bytes.swap(i, rng.below(i + 1));
        }
        for &b in &bytes {
            assert!(trie.add(&[b]));
            assert!(trie.add(&[b'k', b]));
            check_sub(&trie);
        }
        assert!(trie.tree.root.children.index.is_some());
        for b in 0..=255u8 {
            assert!(trie.matches(&[b, 1, 2]));
            assert!(trie.matches(&[b'k', b]));
        }
        for &b in &bytes {
            assert!(trie.remove(&[b]));
            if b != b'k' {
                assert!(!trie.matches(&[b]));
            }
            check_sub(&trie);
        }
        assert!(trie.tree.root.children.index.is_none());
        for &b in &bytes {
            assert!(trie.remove(&[b'k', b]));
            check_sub(&trie);
        }
        assert_eq!(trie.tree.node_count(), 0);
    }

    /// Runs `f` on a thread with a small stack, so that any recursion over
    /// the depth of the tree would overflow.
    fn on_small_stack(f: impl FnOnce() + Send + 'static) {
        std::thread::Builder::new()
            .stack_size(256 * 1024)
            .spawn(f)
            .unwrap()
            .join()
            .unwrap();
    }

    #[test]
    fn deep_trees_need_no_recursion() {
        const DEPTH: usize = 5_000;
        on_small_stack(|| {
            let mut trie = SubscriptionTrie::new();
            let mut multi = MultiTrie::new();
            for len in 1..=DEPTH {
                let prefix = vec![b'a'; len];
                trie.add(&prefix);
                multi.add(&prefix, (len % 3) as u32);
            }
            assert_eq!(trie.tree.node_count(), DEPTH);
            assert!(trie.matches(&vec![b'a'; DEPTH + 1]));
            let mut seen = 0;
            trie.for_each(|_| seen += 1);
            assert_eq!(seen, DEPTH);
            assert_eq!(matches_of(&multi, &vec![b'a'; DEPTH]), vec![0, 1, 2]);
            let mut last = 0;
            multi.remove_pipe(1, |_| last += 1);
            assert_eq!(last, DEPTH / 3 + 1);
            assert!(trie.remove(&vec![b'a'; DEPTH / 2]));
            drop(trie);
            drop(multi);
        });
    }

    #[test]
    fn debug_output_lists_prefixes() {
        let mut trie = SubscriptionTrie::default();
        trie.add(b"a\n");
        trie.add(b"a\n");
        assert_eq!(format!("{trie:?}"), r#"{b"a\n": 2}"#);
        let mut multi = MultiTrie::default();
        multi.add(b"", 3u8);
        multi.add(b"x", 1u8);
        assert_eq!(format!("{multi:?}"), r#"{b"": [3], b"x": [1]}"#);
    }

    // ----- MultiTrie --------------------------------------------------------

    #[test]
    fn empty_multi_trie() {
        let trie: MultiTrie<u32> = MultiTrie::new();
        assert!(trie.is_empty());
        assert!(matches_of(&trie, b"").is_empty());
        assert!(matches_of(&trie, b"abc").is_empty());
        let mut trie = trie;
        assert!(!trie.remove(b"abc", 1));
        trie.remove_pipe(1, |_| panic!("nothing to report"));
        assert!(trie.is_empty());
    }

    #[test]
    fn multi_add_reports_first_subscriber_only() {
        let mut trie = MultiTrie::new();
        assert!(trie.add(b"a", 1u32), "first subscriber of a");
        assert!(!trie.add(b"a", 2), "a already had a subscriber");
        assert!(!trie.add(b"a", 1), "duplicate pair");
        assert!(trie.add(b"ab", 1), "ab is a different prefix");
        assert!(trie.add(b"", 3));
        assert!(!trie.is_empty());
        assert_eq!(matches_of(&trie, b"a"), vec![1, 2, 3]);
        assert_eq!(matches_of(&trie, b""), vec![3]);
        assert_eq!(matches_of(&trie, b"b"), vec![3]);
        check_multi(&trie);
    }

    #[test]
    fn multi_duplicate_pair_is_stored_once() {
        let mut trie = MultiTrie::new();
        assert!(trie.add(b"t", 7u32));
        assert!(!trie.add(b"t", 7));
        assert!(!trie.add(b"t", 7));
        assert_eq!(matches_of(&trie, b"t"), vec![7]);
        assert!(
            trie.remove(b"t", 7),
            "a set, not a count: one remove undoes it"
        );
        assert!(matches_of(&trie, b"t").is_empty());
        assert!(!trie.remove(b"t", 7));
        assert!(trie.is_empty());
        assert_eq!(trie.tree.node_count(), 0);
    }

    #[test]
    fn multi_remove_semantics() {
        let mut trie = MultiTrie::new();
        trie.add(b"abc", 1u32);
        trie.add(b"abc", 2);
        trie.add(b"abd", 1);
        let nodes = trie.tree.node_count();
        assert!(!trie.remove(b"abc", 3), "pipe not subscribed");
        assert!(!trie.remove(b"ab", 1), "branching node, not a prefix");
        assert!(!trie.remove(b"abcd", 1), "absent prefix");
        assert!(!trie.remove(b"", 1), "absent empty prefix");
        assert_eq!(trie.tree.node_count(), nodes, "nothing changed");
        assert_eq!(matches_of(&trie, b"abc"), vec![1, 2]);
        assert!(!trie.remove(b"abc", 1), "2 still subscribed to abc");
        assert!(trie.remove(b"abc", 2), "abc now has no subscriber");
        assert!(trie.remove(b"abd", 1));
        assert!(trie.is_empty());
        assert_eq!(trie.tree.node_count(), 0);
    }

    #[test]
    fn remove_pipe_reports_exactly_the_orphaned_prefixes() {
        let mut trie = MultiTrie::new();
        // Pipe 1 is the sole subscriber of "", "abc", "x" and "xyz";
        // shares "ab" and "q" with pipe 2; pipe 2 alone has "abd".
        for p in [&b""[..], b"abc", b"x", b"xyz", b"ab", b"q"] {
            trie.add(p, 1u32);
            trie.add(p, 1u32); // duplicates must not cause double reports
        }
        for p in [&b"ab"[..], b"q", b"abd"] {
            trie.add(p, 2u32);
        }
        let mut reported = Vec::new();
        trie.remove_pipe(1, |p| reported.push(p.to_vec()));
        let expected: Vec<Vec<u8>> = [&b""[..], b"abc", b"x", b"xyz"]
            .iter()
            .map(|p| p.to_vec())
            .collect();
        assert_eq!(reported, expected, "each orphaned prefix exactly once");
        check_multi(&trie);
        assert!(matches_of(&trie, b"xyz").is_empty());
        assert_eq!(matches_of(&trie, b"abc"), vec![2]);
        assert_eq!(matches_of(&trie, b"abd"), vec![2]);
        assert_eq!(matches_of(&trie, b"q"), vec![2]);

        // Removing a pipe that is subscribed nowhere reports nothing.
        trie.remove_pipe(1, |p| panic!("unexpected report {:?}", ByteStr(p)));
        trie.remove_pipe(9, |p| panic!("unexpected report {:?}", ByteStr(p)));

        let mut reported = Vec::new();
        trie.remove_pipe(2, |p| reported.push(p.to_vec()));
        assert_eq!(
            reported,
            vec![b"ab".to_vec(), b"abd".to_vec(), b"q".to_vec()]
        );
        assert!(trie.is_empty());
        assert_eq!(trie.tree.node_count(), 0);
    }

    #[test]
    fn pipe_matching_through_several_prefixes_is_reported_once() {
        let mut trie = MultiTrie::new();
        for p in [&b""[..], b"a", b"ab", b"abc", b"abcd"] {
            trie.add(p, 1u32);
        }
        trie.add(b"ab", 2);
        trie.add(b"abcd", 2);
        trie.add(b"abc", 3);
        trie.add(b"abx", 4);
        let mut got = Vec::new();
        trie.for_each_match(b"abcdef", |p| got.push(p));
        got.sort();
        assert_eq!(got, vec![1, 2, 3]);
        assert_eq!(matches_of(&trie, b"abx"), vec![1, 2, 4]);
        assert_eq!(matches_of(&trie, b"z"), vec![1]);
    }

    #[test]
    fn report_once_beyond_the_inline_capacity() {
        // More nested matching prefixes than the on-stack array holds.
        let mut trie = MultiTrie::new();
        let depth = MATCH_INLINE * 3;
        for len in 0..depth {
            let prefix = vec![b'z'; len];
            trie.add(&prefix, 0u32);
            trie.add(&prefix, len as u32 % 5);
            trie.add(&prefix, 100 + len as u32);
        }
        let got = matches_of(&trie, &vec![b'z'; depth]);
        let mut expected: Vec<u32> = (0..5).chain((0..depth as u32).map(|l| 100 + l)).collect();
        expected.sort();
        assert_eq!(got, expected);
    }

    #[test]
    fn multi_churn_prunes_back_to_zero_nodes() {
        let mut rng = Rng(7);
        let mut trie = MultiTrie::new();
        let mut live: BTreeSet<(Vec<u8>, u8)> = BTreeSet::new();
        for round in 0..20_000 {
            let prefix = rng.prefix(b"ab.", 6);
            let pipe = rng.below(8) as u8;
            match rng.below(10) {
                0 => {
                    trie.remove_pipe(pipe, |_| {});
                    live.retain(|(_, p)| *p != pipe);
                }
                1..=4 => {
                    trie.remove(&prefix, pipe);
                    live.remove(&(prefix, pipe));
                }
                _ => {
                    trie.add(&prefix, pipe);
                    live.insert((prefix, pipe));
                }
            }
            if round % 1000 == 0 {
                check_multi(&trie);
            }
        }
        for (prefix, pipe) in &live {
            trie.remove(prefix, *pipe);
        }
        assert!(trie.is_empty());
        assert_eq!(trie.tree.node_count(), 0);
    }

    // ----- Model-based property tests ---------------------------------------

    /// Prefixes over a 3-letter alphabet (including 0x00) so that random
    /// operations collide, share paths and exercise splits and merges.
    fn small_bytes(max_len: usize) -> impl Strategy<Value = Vec<u8>> {
        prop::collection::vec(prop::sample::select(vec![b'a', b'b', 0u8]), 0..=max_len)
    }

    #[derive(Debug, Clone)]
    enum SubOp {
        Add(Vec<u8>),
        Remove(Vec<u8>),
        Match(Vec<u8>),
    }

    fn sub_op() -> impl Strategy<Value = SubOp> {
        prop_oneof![
            4 => small_bytes(4).prop_map(SubOp::Add),
            3 => small_bytes(4).prop_map(SubOp::Remove),
            2 => small_bytes(6).prop_map(SubOp::Match),
        ]
    }

    #[derive(Debug, Clone)]
    enum MultiOp {
        Add(Vec<u8>, u8),
        Remove(Vec<u8>, u8),
        RemovePipe(u8),
        Match(Vec<u8>),
    }

    fn multi_op() -> impl Strategy<Value = MultiOp> {
        prop_oneof![
            5 => (small_bytes(4), 0..4u8).prop_map(|(p, q)| MultiOp::Add(p, q)),
            3 => (small_bytes(4), 0..4u8).prop_map(|(p, q)| MultiOp::Remove(p, q)),
            1 => (0..4u8).prop_map(MultiOp::RemovePipe),
            3 => small_bytes(6).prop_map(MultiOp::Match),
        ]
    }

    proptest! {
        #[test]
        fn subscription_trie_behaves_like_a_counted_prefix_list(
            ops in prop::collection::vec(sub_op(), 0..200),
            probes in prop::collection::vec(small_bytes(6), 0..20),
        ) {
            let mut trie = SubscriptionTrie::new();
            let mut model: HashMap<Vec<u8>, usize> = HashMap::new();
            for op in ops {
                match op {
                    SubOp::Add(p) => {
                        let expected = !model.contains_key(&p);
                        *model.entry(p.clone()).or_insert(0) += 1;
                        prop_assert_eq!(trie.add(&p), expected);
                    }
                    SubOp::Remove(p) => {
                        let expected = match model.get_mut(&p) {
                            Some(1) => {
                                model.remove(&p);
                                true
                            }
                            Some(n) => {
                                *n -= 1;
                                false
                            }
                            None => false,
                        };
                        prop_assert_eq!(trie.remove(&p), expected);
                    }
                    SubOp::Match(data) => {
                        let expected = model.keys().any(|p| data.starts_with(p));
                        prop_assert_eq!(trie.matches(&data), expected);
                    }
                }
                check_sub(&trie);
                prop_assert_eq!(trie.len(), model.len());
                prop_assert_eq!(trie.is_empty(), model.is_empty());
            }
            for data in &probes {
                let expected = model.keys().any(|p| data.starts_with(p));
                prop_assert_eq!(trie.matches(data), expected);
            }
            let mut expected: Vec<Vec<u8>> = model.keys().cloned().collect();
            expected.sort();
            prop_assert_eq!(prefixes_of(&trie), expected);
            // Unsubscribing everything prunes the tree back to a bare root.
            for (p, n) in model {
                for i in 0..n {
                    prop_assert_eq!(trie.remove(&p), i + 1 == n);
                }
            }
            prop_assert!(trie.is_empty());
            prop_assert_eq!(trie.tree.node_count(), 0);
        }

        #[test]
        fn multi_trie_behaves_like_a_prefix_to_pipe_set_map(
            ops in prop::collection::vec(multi_op(), 0..200),
        ) {
            let mut trie = MultiTrie::new();
            let mut model: BTreeMap<Vec<u8>, BTreeSet<u8>> = BTreeMap::new();
            for op in ops {
                match op {
                    MultiOp::Add(p, pipe) => {
                        let first = model.get(&p).is_none_or(|s| s.is_empty());
                        model.entry(p.clone()).or_default().insert(pipe);
                        prop_assert_eq!(trie.add(&p, pipe), first);
                    }
                    MultiOp::Remove(p, pipe) => {
                        let removed = model.get_mut(&p).is_some_and(|set| set.remove(&pipe));
                        let expected = removed && model[&p].is_empty();
                        if expected {
                            model.remove(&p);
                        }
                        prop_assert_eq!(trie.remove(&p, pipe), expected);
                    }
                    MultiOp::RemovePipe(pipe) => {
                        let expected: Vec<Vec<u8>> = model
                            .iter()
                            .filter(|(_, set)| set.len() == 1 && set.contains(&pipe))
                            .map(|(p, _)| p.clone())
                            .collect();
                        for set in model.values_mut() {
                            set.remove(&pipe);
                        }
                        model.retain(|_, set| !set.is_empty());
                        let mut reported = Vec::new();
                        trie.remove_pipe(pipe, |p| reported.push(p.to_vec()));
                        // Same order too: both are lexicographic.
                        prop_assert_eq!(reported, expected);
                    }
                    MultiOp::Match(data) => {
                        let expected: BTreeSet<u8> = model
                            .iter()
                            .filter(|(p, _)| data.starts_with(p))
                            .flat_map(|(_, set)| set.iter().copied())
                            .collect();
                        let mut got = Vec::new();
                        trie.for_each_match(&data, |pipe| got.push(pipe));
                        got.sort();
                        // Sorted vector equal to the set: no pipe reported twice.
                        prop_assert_eq!(got, expected.into_iter().collect::<Vec<_>>());
                    }
                }
                check_multi(&trie);
                prop_assert_eq!(trie.is_empty(), model.is_empty());
            }
            // Disconnecting every pipe empties the table completely.
            let mut orphaned = BTreeSet::new();
            for pipe in 0..4u8 {
                trie.remove_pipe(pipe, |p| {
                    assert!(orphaned.insert(p.to_vec()), "prefix reported twice");
                });
            }
            prop_assert_eq!(orphaned, model.keys().cloned().collect::<BTreeSet<_>>());
            prop_assert!(trie.is_empty());
            prop_assert_eq!(trie.tree.node_count(), 0);
        }
    }
}
