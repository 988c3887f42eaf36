//! Force-directed layout (placeholder, replaced below).
pub fn force_directed(given: &[Option<(f32, f32)>], _edges: &[(u32, u32)], _seed: u64) -> Vec<(f32, f32)> {
    given.iter().enumerate().map(|(i, p)| p.unwrap_or((i as f32, 0.0))).collect()
}
