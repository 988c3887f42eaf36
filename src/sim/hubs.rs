//! Which nodes are the hubs: a ranking by share of the forwarded volume, with fees earned
//! and betweenness centrality (how many shortest paths between other nodes run through a
//! node, Brandes' algorithm on the channel graph, hop counts, normalised to 0..=1) beside
//! it. For inspecting what routing agents learnt: the lab's hubs panel and its state dump.

use super::metrics::Metrics;
use crate::network::{Network, NodeId};
use std::collections::VecDeque;

/// One node of the ranking.
#[derive(Clone, Debug, PartialEq)]
pub struct HubRow {
    pub node: NodeId,
    pub alias: String,
    /// This node's share of everything forwarded (0..=1).
    pub forwarded_share: f64,
    pub fees_earned_msat: u64,
    /// Normalised betweenness centrality (0..=1).
    pub betweenness: f64,
}

/// Betweenness centrality of every node (indexed by node id), over channels that exist
/// now, ignoring direction, balances and fees: where shortest routes would run.
/// O(nodes x channels).
pub fn betweenness(net: &Network) -> Vec<f64> {
    let n = net.node_bound();
    let mut adjacency: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (_, a, b, _) in net.channels() {
        adjacency[a.index()].push(b.index());
        adjacency[b.index()].push(a.index());
    }
    for list in &mut adjacency {
        list.sort_unstable();
        list.dedup();
    }
    let present: Vec<usize> = net.nodes().map(|(id, _)| id.index()).collect();
    let mut centrality = vec![0.0f64; n];
    let mut sigma = vec![0.0f64; n];
    let mut dist = vec![usize::MAX; n];
    let mut delta = vec![0.0f64; n];
    let mut preds: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut order: Vec<usize> = Vec::with_capacity(n);
    let mut queue = VecDeque::new();
    for &s in &present {
        for &v in &order {
            sigma[v] = 0.0;
            dist[v] = usize::MAX;
            delta[v] = 0.0;
            preds[v].clear();
        }
        order.clear();
        sigma[s] = 1.0;
        dist[s] = 0;
        queue.push_back(s);
        while let Some(v) = queue.pop_front() {
            order.push(v);
            for &w in &adjacency[v] {
                if dist[w] == usize::MAX {
                    dist[w] = dist[v] + 1;
                    queue.push_back(w);
                }
                if dist[w] == dist[v] + 1 {
                    sigma[w] += sigma[v];
                    preds[w].push(v);
                }
            }
        }
        for &w in order.iter().rev() {
            for &v in &preds[w] {
                delta[v] += sigma[v] / sigma[w] * (1.0 + delta[w]);
            }
            if w != s {
                centrality[w] += delta[w];
            }
        }
    }
    // Each unordered pair was counted from both ends; normalise by the pairs of others.
    let k = present.len() as f64;
    let pairs = (k - 1.0) * (k - 2.0);
    if pairs > 0.0 {
        for c in &mut centrality {
            *c /= pairs;
        }
    }
    centrality
}

/// Largest graph whose betweenness is computed live (it costs nodes x channels).
pub const LIVE_BETWEENNESS_MAX_NODES: usize = 3_000;

/// [`betweenness`] for graphs up to [`LIVE_BETWEENNESS_MAX_NODES`] nodes, else `None`.
pub fn betweenness_if_small(net: &Network) -> Option<Vec<f64>> {
    (net.node_count() <= LIVE_BETWEENNESS_MAX_NODES).then(|| betweenness(net))
}

/// The `top` nodes by forwarded share (then fees, then id), with their betweenness from
/// `centrality` (as [`betweenness`] returns it).
pub fn ranking(net: &Network, metrics: &Metrics, centrality: &[f64], top: usize) -> Vec<HubRow> {
    let total: u64 = metrics.nodes.iter().map(|s| s.forwarded_msat).sum();
    let stats = |id: NodeId| metrics.nodes.get(id.index()).copied().unwrap_or_default();
    // Rank ids first (the lab asks every frame): aliases only for the rows kept.
    let mut ids: Vec<NodeId> = net.nodes().map(|(id, _)| id).collect();
    ids.sort_by(|&a, &b| {
        let (sa, sb) = (stats(a), stats(b));
        sb.forwarded_msat
            .cmp(&sa.forwarded_msat)
            .then(sb.fees_earned_msat.cmp(&sa.fees_earned_msat))
            .then(a.cmp(&b))
    });
    ids.into_iter()
        .take(top)
        .map(|id| {
            let s = stats(id);
            HubRow {
                node: id,
                alias: net.node(id).map(|n| n.alias.clone()).unwrap_or_default(),
                forwarded_share: if total > 0 {
                    s.forwarded_msat as f64 / total as f64
                } else {
                    0.0
                },
                fees_earned_msat: s.fees_earned_msat,
                betweenness: centrality.get(id.index()).copied().unwrap_or(0.0),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::node::Node;
    use crate::network::{Channel, ChannelPolicy, HalfChannel, ShortChannelId};

    fn network(nodes: usize, edges: &[(u32, u32)]) -> Network {
        let mut net = Network::new();
        for i in 0..nodes {
            net.add_node(Node::router_for_tests(i));
        }
        for (i, &(a, b)) in edges.iter().enumerate() {
            let side = || HalfChannel::new(ChannelPolicy::lnd_default(1_000_000), 500_000_000);
            let ch = Channel::new(
                ShortChannelId::new(1, i as u32, 0),
                1_000_000,
                [side(), side()],
            );
            net.add_channel(NodeId(a), NodeId(b), ch).unwrap();
        }
        net
    }

    #[test]
    fn the_centre_of_a_star_lies_on_every_path_and_a_leaf_on_none() {
        let net = network(5, &[(0, 1), (0, 2), (0, 3), (0, 4)]);
        let c = betweenness(&net);
        assert!((c[0] - 1.0).abs() < 1e-12, "{c:?}");
        assert!(c[1..].iter().all(|&x| x == 0.0), "{c:?}");
    }

    #[test]
    fn on_a_line_the_middle_carries_most() {
        // 0 - 1 - 2 - 3 - 4: node 2 is on the paths of 4 of the 6 pairs of others, node 1
        // on 3 (0-2, 0-3, 0-4).
        let net = network(5, &[(0, 1), (1, 2), (2, 3), (3, 4)]);
        let c = betweenness(&net);
        assert!((c[2] - 4.0 / 6.0).abs() < 1e-12, "{c:?}");
        assert!((c[1] - 3.0 / 6.0).abs() < 1e-12, "{c:?}");
        assert_eq!(c[0], 0.0);
    }

    #[test]
    fn ranking_orders_by_forwarded_share() {
        let net = network(3, &[(0, 1), (1, 2)]);
        let mut m = Metrics::default();
        m.node_mut(NodeId(1)).forwarded_msat = 300;
        m.node_mut(NodeId(1)).fees_earned_msat = 7;
        m.node_mut(NodeId(2)).forwarded_msat = 100;
        let rows = ranking(&net, &m, &betweenness(&net), 2);
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].node, NodeId(1));
        assert!((rows[0].forwarded_share - 0.75).abs() < 1e-12);
        assert_eq!(rows[0].fees_earned_msat, 7);
        assert!((rows[0].betweenness - 1.0).abs() < 1e-12);
        assert_eq!(rows[1].node, NodeId(2));
    }
}
