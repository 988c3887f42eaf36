//! L402 tokens: V2 binary macaroons at location `lsat`, with Aperture's 66-byte identifier
//! (u16 version 0, payment hash, random token id), signed from a per-token root key with
//! libmacaroons' key derivation, carrying first-party caveats. Headers carry them in
//! standard base64 (Aperture decodes `StdEncoding`); libmacaroon writes URL-safe, so this
//! file re-encodes.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use libmacaroon::{Format, Macaroon, MacaroonKey};

pub const LOCATION: &str = "lsat";
pub const IDENTIFIER_LEN: usize = 66;

/// The token identifier.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Identifier {
    pub version: u16,
    pub payment_hash: [u8; 32],
    pub token_id: [u8; 32],
}

impl Identifier {
    pub fn encode(&self) -> [u8; IDENTIFIER_LEN] {
        let mut out = [0u8; IDENTIFIER_LEN];
        out[..2].copy_from_slice(&self.version.to_be_bytes());
        out[2..34].copy_from_slice(&self.payment_hash);
        out[34..].copy_from_slice(&self.token_id);
        out
    }

    pub fn decode(bytes: &[u8]) -> Result<Identifier, String> {
        if bytes.len() != IDENTIFIER_LEN {
            return Err(format!(
                "identifier is {} bytes, expected {IDENTIFIER_LEN}",
                bytes.len()
            ));
        }
        let version = u16::from_be_bytes([bytes[0], bytes[1]]);
        if version != 0 {
            return Err(format!("unknown identifier version {version}"));
        }
        let mut payment_hash = [0u8; 32];
        payment_hash.copy_from_slice(&bytes[2..34]);
        let mut token_id = [0u8; 32];
        token_id.copy_from_slice(&bytes[34..]);
        Ok(Identifier {
            version,
            payment_hash,
            token_id,
        })
    }
}

/// Mint a token: `root_key` goes through libmacaroons' derivation, then the caveats are
/// chained in order.
pub fn mint(
    root_key: &[u8; 32],
    id: &Identifier,
    caveats: &[impl AsRef<[u8]>],
) -> Result<Macaroon, String> {
    let key = MacaroonKey::generate(root_key);
    let mut m = Macaroon::create(Some(LOCATION), &key, id.encode()).map_err(|e| e.to_string())?;
    for c in caveats {
        m.add_first_party_caveat(c.as_ref())
            .map_err(|e| e.to_string())?;
    }
    Ok(m)
}

/// Standard-alphabet base64 of the V2 binary form.
pub fn encode(m: &Macaroon) -> Result<String, String> {
    let url_safe = m.serialize(Format::V2).map_err(|e| e.to_string())?;
    let bytes = base64::engine::general_purpose::URL_SAFE
        .decode(url_safe)
        .map_err(|e| e.to_string())?;
    Ok(STANDARD.encode(bytes))
}

/// Decode a base64 token (either alphabet) into a macaroon.
pub fn decode(text: &str) -> Result<Macaroon, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("empty token".into());
    }
    Macaroon::deserialize(text).map_err(|e| format!("not a macaroon: {e}"))
}

/// A token's first-party caveats exactly as stored (what the signature chain covers).
pub fn predicates(m: &Macaroon) -> Vec<Vec<u8>> {
    m.first_party_caveats()
        .into_iter()
        .filter_map(|c| match c {
            libmacaroon::Caveat::FirstParty(fp) => Some(fp.predicate().to_vec()),
            libmacaroon::Caveat::ThirdParty(_) => None,
        })
        .collect()
}

/// A token's first-party caveats as `(condition, value)` pairs, in order; predicates that
/// are not `condition=value` are left out (unknown caveats are skipped).
pub fn caveats(m: &Macaroon) -> Vec<(String, String)> {
    m.first_party_caveats()
        .into_iter()
        .filter_map(|c| match c {
            libmacaroon::Caveat::FirstParty(fp) => {
                let text = String::from_utf8_lossy(fp.predicate()).into_owned();
                let (k, v) = text.split_once('=')?;
                Some((k.trim().to_string(), v.trim().to_string()))
            }
            libmacaroon::Caveat::ThirdParty(_) => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_and_tokens_round_trip() {
        let id = Identifier {
            version: 0,
            payment_hash: [3; 32],
            token_id: [4; 32],
        };
        assert_eq!(Identifier::decode(&id.encode()).unwrap(), id);
        assert!(Identifier::decode(&[0; 65]).is_err());
        let mut v1 = id.encode();
        v1[1] = 1;
        assert!(Identifier::decode(&v1).is_err());

        let m = mint(
            &[1; 32],
            &id,
            &["services=weather:0", "weather_capabilities=forecast"],
        )
        .unwrap();
        let text = encode(&m).unwrap();
        assert!(
            !text.contains('-') && !text.contains('_'),
            "standard alphabet: {text}"
        );
        let back = decode(&text).unwrap();
        assert_eq!(back, m);
        assert_eq!(back.location(), Some(LOCATION));
        assert_eq!(Identifier::decode(back.identifier()).unwrap(), id);
        assert_eq!(
            caveats(&back)[1],
            ("weather_capabilities".into(), "forecast".into())
        );
        // The V2 binary form starts with version byte 2.
        assert_eq!(STANDARD.decode(&text).unwrap()[0], 2);
    }
}
