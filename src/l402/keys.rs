//! Node keys: every simulated node gets a secp256k1 key derived from the scene seed and
//! its index (SHA-256 of a tag, the seed and the index), so invoices are signed by a real
//! key that the same scene and seed always reproduce.

use bitcoin::hashes::{Hash, sha256};
use bitcoin::secp256k1::{PublicKey, Secp256k1, SecretKey};

/// The secret key of node `index` under `seed`.
pub fn node_secret(seed: u64, index: u32) -> SecretKey {
    let mut counter = 0u32;
    loop {
        let mut data = b"lnlab-node-key".to_vec();
        data.extend_from_slice(&seed.to_be_bytes());
        data.extend_from_slice(&index.to_be_bytes());
        data.extend_from_slice(&counter.to_be_bytes());
        let digest = sha256::Hash::hash(&data);
        // Invalid only if the digest is zero or above the curve order: astronomically rare.
        if let Ok(key) = SecretKey::from_slice(digest.as_byte_array()) {
            return key;
        }
        counter += 1;
    }
}

pub fn node_public(seed: u64, index: u32) -> PublicKey {
    PublicKey::from_secret_key(&Secp256k1::signing_only(), &node_secret(seed, index))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_deterministic_and_distinct() {
        assert_eq!(node_secret(1, 2), node_secret(1, 2));
        assert_ne!(node_public(1, 2), node_public(1, 3));
        assert_ne!(node_public(1, 2), node_public(2, 2));
    }
}
