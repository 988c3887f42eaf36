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

/// Compare two secrets in constant time (`subtle`; lengths are public).
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.ct_eq(b).into()
}
