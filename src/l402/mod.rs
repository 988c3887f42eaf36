//! L402 (formerly LSAT): HTTP 402 Payment Required with a Lightning invoice and a macaroon,
//! paid through the simulated network. Real formats throughout: BOLT11 invoices signed
//! with node keys derived from the scene seed, V2 macaroons with Aperture's identifier
//! layout and caveats, and both header forms. Plain Rust, no Bevy.

pub mod demo;
pub mod header;
pub mod invoice;
pub mod keys;
pub mod market;
pub mod server;
pub mod token;

/// Compare two byte strings in constant time (no early exit on the first difference).
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
