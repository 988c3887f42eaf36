//! The service side of L402, as Aperture does it: issue a challenge (a fresh root key and
//! token id, an invoice for the price, a token with the service's caveats), remember root
//! keys by `sha256(identifier)` (forgetting one revokes the token), and verify credentials
//! in Aperture's order — decode, preimage against the payment hash, root key, signature
//! chain, caveats — with one distinct outcome for each way a credential can be wrong.
//! Secrets are compared in constant time and never logged.

use super::header::{self, ChallengeForm};
use super::invoice;
use super::token::{self, Identifier};
use bitcoin::hashes::{Hash, sha256};
use bitcoin::secp256k1::SecretKey;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rustc_hash::FxHashMap as HashMap;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// A paid API as a scene describes it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceSpec {
    pub name: String,
    /// Index of the node that runs it (and receives the payments).
    pub node: u32,
    pub price_msat: u64,
    #[serde(default)]
    pub tier: u32,
    pub capabilities: Vec<String>,
    /// Seconds a token stays valid.
    pub token_lifetime_s: u64,
    /// Calls one token may make (None: unlimited until expiry).
    #[serde(default)]
    pub calls_per_token: Option<u32>,
    #[serde(default = "aperture")]
    pub form: ChallengeForm,
    /// Custom constraints issued as `<capability>_<constraint>=<value>` caveats (e.g.
    /// `forecast_max_days=7`). A client may narrow them (a smaller number, or the same
    /// value), never widen them.
    #[serde(default)]
    pub constraints: Vec<(String, String)>,
}

fn aperture() -> ChallengeForm {
    ChallengeForm::Aperture
}

/// Why a request was answered the way it was.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Served,
    /// No usable credential: a fresh 402 challenge.
    Challenge(String),
    WrongPreimage,
    Forged,
    UnknownRootKey,
    Expired,
    ServiceNotGranted,
    CapabilityNotGranted,
    WideningCaveat(String),
    CallLimitReached,
}

impl Outcome {
    pub fn status(&self) -> u16 {
        match self {
            Outcome::Served => 200,
            Outcome::Challenge(_) => 402,
            _ => 401,
        }
    }

    /// Stable name, for reports and events.
    pub fn name(&self) -> &'static str {
        match self {
            Outcome::Served => "served",
            Outcome::Challenge(_) => "challenge",
            Outcome::WrongPreimage => "wrong_preimage",
            Outcome::Forged => "forged",
            Outcome::UnknownRootKey => "unknown_root_key",
            Outcome::Expired => "expired",
            Outcome::ServiceNotGranted => "service_not_granted",
            Outcome::CapabilityNotGranted => "capability_not_granted",
            Outcome::WideningCaveat(_) => "widening_caveat",
            Outcome::CallLimitReached => "call_limit_reached",
        }
    }

    pub fn explain(&self) -> String {
        match self {
            Outcome::Served => "credential valid: serving the call".into(),
            Outcome::Challenge(why) => {
                format!("no usable credential ({why}): pay this invoice first")
            }
            Outcome::WrongPreimage => {
                "the preimage does not hash to the token's payment hash".into()
            }
            Outcome::Forged => "the token's signature does not match: forged or tampered".into(),
            Outcome::UnknownRootKey => "no root key for this token: unknown or revoked".into(),
            Outcome::Expired => "the token's validity has run out".into(),
            Outcome::ServiceNotGranted => "the token does not grant this service".into(),
            Outcome::CapabilityNotGranted => "the token does not grant this capability".into(),
            Outcome::WideningCaveat(c) => format!("caveat `{c}` tries to widen an earlier one"),
            Outcome::CallLimitReached => "the token has used up its calls".into(),
        }
    }
}

/// The result of verifying a request, with the steps taken.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verification {
    pub outcome: Outcome,
    pub steps: Vec<(String, bool)>,
}

/// A challenge as issued.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Issued {
    pub headers: Vec<String>,
    pub token: String,
    pub invoice: String,
    pub payment_hash: [u8; 32],
}

pub struct Server {
    pub spec: ServiceSpec,
    key: SecretKey,
    rng: ChaCha8Rng,
    root_keys: HashMap<[u8; 32], [u8; 32]>,
    preimages: HashMap<[u8; 32], [u8; 32]>,
    calls: HashMap<[u8; 32], u32>,
}

impl Server {
    pub fn new(spec: ServiceSpec, key: SecretKey, rng: ChaCha8Rng) -> Self {
        Server {
            spec,
            key,
            rng,
            root_keys: HashMap::default(),
            preimages: HashMap::default(),
            calls: HashMap::default(),
        }
    }

    /// Issue a challenge at `now_unix` (seconds).
    pub fn challenge(&mut self, now_unix: u64) -> Result<Issued, String> {
        let preimage: [u8; 32] = self.rng.random();
        let payment_hash = sha256::Hash::hash(&preimage).to_byte_array();
        let token_id: [u8; 32] = self.rng.random();
        let root_key: [u8; 32] = self.rng.random();
        let payment_secret: [u8; 32] = self.rng.random();
        let id = Identifier {
            version: 0,
            payment_hash,
            token_id,
        };
        let s = &self.spec;
        let caveats = vec![
            format!("services={}:{}", s.name, s.tier),
            format!("{}_capabilities={}", s.name, s.capabilities.join(",")),
            format!("{}_valid_until={}", s.name, now_unix + s.token_lifetime_s),
        ];
        let mut caveats = caveats;
        caveats.extend(s.constraints.iter().map(|(k, v)| format!("{k}={v}")));
        let mac = token::mint(&root_key, &id, &caveats)?;
        let token = token::encode(&mac)?;
        let invoice = invoice::create(
            &self.key,
            s.price_msat,
            &format!("L402 {}: {}", s.name, s.capabilities.join(",")),
            payment_hash,
            payment_secret,
            Duration::from_secs(now_unix),
            Duration::from_secs(s.token_lifetime_s.max(60)),
        )?
        .to_string();
        self.root_keys
            .insert(sha256::Hash::hash(&id.encode()).to_byte_array(), root_key);
        self.preimages.insert(payment_hash, preimage);
        let headers = header::challenge_headers(&token, &invoice, s.form);
        Ok(Issued {
            headers,
            token,
            invoice,
            payment_hash,
        })
    }

    /// A token with chosen caveats and its preimage (for tests and teaching: how each
    /// kind of bad token looks).
    pub fn issue_with_caveats(&mut self, caveats: &[String]) -> Result<(String, [u8; 32]), String> {
        let preimage: [u8; 32] = self.rng.random();
        let payment_hash = sha256::Hash::hash(&preimage).to_byte_array();
        let id = Identifier {
            version: 0,
            payment_hash,
            token_id: self.rng.random(),
        };
        let root_key: [u8; 32] = self.rng.random();
        let token = token::encode(&token::mint(&root_key, &id, caveats)?)?;
        self.root_keys
            .insert(sha256::Hash::hash(&id.encode()).to_byte_array(), root_key);
        Ok((token, preimage))
    }

    /// The preimage the service reveals when the payment to `payment_hash` settles.
    pub fn settle(&self, payment_hash: &[u8; 32]) -> Option<[u8; 32]> {
        self.preimages.get(payment_hash).copied()
    }

    /// Forget a token's root key: it can no longer be used.
    pub fn revoke(&mut self, token_b64: &str) -> bool {
        let Ok(mac) = token::decode(token_b64) else {
            return false;
        };
        self.root_keys
            .remove(&sha256::Hash::hash(mac.identifier()).to_byte_array())
            .is_some()
    }

    /// The root key of a token (for teaching output only, never logged).
    pub fn root_key_of(&self, token_b64: &str) -> Option<[u8; 32]> {
        let mac = token::decode(token_b64).ok()?;
        self.root_keys
            .get(&sha256::Hash::hash(mac.identifier()).to_byte_array())
            .copied()
    }

    /// Verify a request's `Authorization` header for `capability` at `now_unix`.
    pub fn verify(
        &mut self,
        authorization: Option<&str>,
        capability: &str,
        now_unix: u64,
    ) -> Verification {
        let mut steps: Vec<(String, bool)> = Vec::new();
        let done = |steps: &mut Vec<(String, bool)>, step: &str, ok: bool| {
            steps.push((step.to_string(), ok))
        };
        let finish = |steps, outcome| Verification { outcome, steps };
        let Some(value) = authorization else {
            done(&mut steps, "credential present", false);
            return finish(steps, Outcome::Challenge("no Authorization header".into()));
        };
        let cred = match header::parse_authorization(value) {
            Ok(c) => c,
            Err(e) => {
                done(&mut steps, "parse Authorization header", false);
                return finish(steps, Outcome::Challenge(e.0));
            }
        };
        done(&mut steps, "parse Authorization header", true);
        let mac = match token::decode(&cred.tokens[0]) {
            Ok(m) => m,
            Err(e) => {
                done(&mut steps, "decode macaroon", false);
                return finish(steps, Outcome::Challenge(e));
            }
        };
        let id = match Identifier::decode(mac.identifier()) {
            Ok(id) => id,
            Err(e) => {
                done(&mut steps, "decode identifier", false);
                return finish(steps, Outcome::Challenge(e));
            }
        };
        done(&mut steps, "decode macaroon and identifier", true);
        let hash = sha256::Hash::hash(&cred.preimage).to_byte_array();
        let preimage_ok = super::ct_eq(&hash, &id.payment_hash);
        done(&mut steps, "sha256(preimage) == payment_hash", preimage_ok);
        if !preimage_ok {
            return finish(steps, Outcome::WrongPreimage);
        }
        let Some(root_key) = self
            .root_keys
            .get(&sha256::Hash::hash(&id.encode()).to_byte_array())
            .copied()
        else {
            done(&mut steps, "root key lookup", false);
            return finish(steps, Outcome::UnknownRootKey);
        };
        done(&mut steps, "root key lookup", true);
        // Re-sign the caveats exactly as they are stored, then parse them for satisfiers.
        let predicates = token::predicates(&mac);
        let caveats = token::caveats(&mac);
        let expected = match token::mint(&root_key, &id, &predicates) {
            Ok(m) => m,
            Err(_) => {
                done(&mut steps, "signature chain", false);
                return finish(steps, Outcome::Forged);
            }
        };
        // Every caveat must be one we can re-chain (no third-party caveats).
        let sig_ok = mac.caveats().len() == predicates.len()
            && super::ct_eq(expected.signature().as_ref(), mac.signature().as_ref());
        done(&mut steps, "HMAC signature chain (constant time)", sig_ok);
        if !sig_ok {
            return finish(steps, Outcome::Forged);
        }
        let outcome = self.check_caveats(&caveats, capability, now_unix);
        done(&mut steps, "caveats satisfied", outcome.is_none());
        if let Some(o) = outcome {
            return finish(steps, o);
        }
        if let Some(limit) = self.spec.calls_per_token {
            let used = self.calls.entry(id.token_id).or_insert(0);
            let ok = *used < limit;
            done(&mut steps, "calls left on the token", ok);
            if !ok {
                return finish(steps, Outcome::CallLimitReached);
            }
            *used += 1;
        }
        finish(steps, Outcome::Served)
    }

    /// Aperture's satisfiers: services, capabilities, expiry; a later caveat of the same
    /// condition may only narrow an earlier one; unknown caveats are skipped.
    fn check_caveats(
        &self,
        caveats: &[(String, String)],
        capability: &str,
        now_unix: u64,
    ) -> Option<Outcome> {
        let name = &self.spec.name;
        let caps_key = format!("{name}_capabilities");
        let until_key = format!("{name}_valid_until");
        let set = |v: &str| -> Vec<String> {
            v.split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect()
        };
        let mut services: Option<Vec<String>> = None;
        let mut caps: Option<Vec<String>> = None;
        let mut until: Option<u64> = None;
        let mut constraints: std::collections::BTreeMap<&str, String> = Default::default();
        for (k, v) in caveats {
            if k == "services" {
                let names: Vec<String> = set(v)
                    .iter()
                    .map(|s| s.split(':').next().unwrap_or("").to_string())
                    .collect();
                if services
                    .as_ref()
                    .is_some_and(|prev| names.iter().any(|n| !prev.contains(n)))
                {
                    return Some(Outcome::WideningCaveat(format!("{k}={v}")));
                }
                services = Some(names);
            } else if *k == caps_key {
                let c = set(v);
                if caps
                    .as_ref()
                    .is_some_and(|prev| c.iter().any(|x| !prev.contains(x)))
                {
                    return Some(Outcome::WideningCaveat(format!("{k}={v}")));
                }
                caps = Some(c);
            } else if *k == until_key {
                let Ok(t) = v.parse::<u64>() else {
                    return Some(Outcome::Expired);
                };
                if until.is_some_and(|prev| t > prev) {
                    return Some(Outcome::WideningCaveat(format!("{k}={v}")));
                }
                until = Some(t);
            } else if self.spec.constraints.iter().any(|(name, _)| name == k) {
                // Custom constraint: a repeat must not loosen the first value.
                if let Some(prev) = constraints.get(k.as_str()) {
                    let narrower = match (v.parse::<f64>(), prev.parse::<f64>()) {
                        (Ok(new), Ok(old)) => new <= old,
                        _ => v == prev,
                    };
                    if !narrower {
                        return Some(Outcome::WideningCaveat(format!("{k}={v}")));
                    }
                }
                constraints.insert(k.as_str(), v.clone());
            }
        }
        if !services.as_ref().is_some_and(|s| s.contains(name)) {
            return Some(Outcome::ServiceNotGranted);
        }
        if caps
            .as_ref()
            .is_some_and(|c| !c.iter().any(|x| x == capability))
        {
            return Some(Outcome::CapabilityNotGranted);
        }
        if until.is_some_and(|t| now_unix >= t) {
            return Some(Outcome::Expired);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::l402::header::authorization;
    use rand::SeedableRng;

    const NOW: u64 = 1_700_000_000;

    fn server(calls: Option<u32>) -> Server {
        let spec = ServiceSpec {
            name: "weather".into(),
            node: 0,
            price_msat: 20_000,
            tier: 0,
            capabilities: vec!["forecast".into()],
            token_lifetime_s: 3_600,
            calls_per_token: calls,
            form: ChallengeForm::V0,
            constraints: Vec::new(),
        };
        Server::new(
            spec,
            crate::l402::keys::node_secret(1, 0),
            ChaCha8Rng::seed_from_u64(5),
        )
    }

    fn paid(s: &mut Server) -> (String, [u8; 32]) {
        let issued = s.challenge(NOW).unwrap();
        let c = header::parse_challenge(&issued.headers[0]).unwrap();
        (c.token, s.settle(&issued.payment_hash).unwrap())
    }

    fn outcome(s: &mut Server, token: &str, preimage: &[u8; 32], cap: &str, now: u64) -> Outcome {
        s.verify(Some(&authorization(token, preimage)), cap, now)
            .outcome
    }

    #[test]
    fn every_verification_outcome_from_its_own_bad_credential() {
        let mut s = server(None);
        let (tok, pre) = paid(&mut s);
        let v = s.verify(Some(&authorization(&tok, &pre)), "forecast", NOW + 1);
        assert_eq!(v.outcome, Outcome::Served);
        assert!(v.steps.iter().all(|(_, ok)| *ok), "{:?}", v.steps);

        assert!(matches!(
            s.verify(None, "forecast", NOW).outcome,
            Outcome::Challenge(_)
        ));
        assert!(matches!(
            s.verify(Some("L402 garbage"), "forecast", NOW).outcome,
            Outcome::Challenge(_)
        ));
        assert_eq!(s.verify(None, "forecast", NOW).outcome.status(), 402);

        assert_eq!(
            outcome(&mut s, &tok, &[0x11; 32], "forecast", NOW),
            Outcome::WrongPreimage
        );

        // Same identifier and caveats, wrong root key: a forgery.
        let mac = token::decode(&tok).unwrap();
        let id = Identifier::decode(mac.identifier()).unwrap();
        let preds: Vec<String> = token::caveats(&mac)
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let forged = token::encode(&token::mint(&[0x42; 32], &id, &preds).unwrap()).unwrap();
        assert_eq!(
            outcome(&mut s, &forged, &pre, "forecast", NOW),
            Outcome::Forged
        );

        assert_eq!(
            outcome(&mut s, &tok, &pre, "forecast", NOW + 3_600),
            Outcome::Expired
        );

        // A client may narrow its token (still valid) but not widen it.
        let mut narrowed = token::decode(&tok).unwrap();
        narrowed
            .add_first_party_caveat("weather_valid_until = 1700000100")
            .unwrap();
        let narrowed = token::encode(&narrowed).unwrap();
        assert_eq!(
            outcome(&mut s, &narrowed, &pre, "forecast", NOW + 50),
            Outcome::Served
        );
        assert_eq!(
            outcome(&mut s, &narrowed, &pre, "forecast", NOW + 200),
            Outcome::Expired
        );
        let mut widened = token::decode(&tok).unwrap();
        widened
            .add_first_party_caveat("weather_capabilities=forecast,history")
            .unwrap();
        let widened = token::encode(&widened).unwrap();
        assert!(matches!(
            outcome(&mut s, &widened, &pre, "history", NOW),
            Outcome::WideningCaveat(_)
        ));

        let (other, other_pre) = s.issue_with_caveats(&["services=maps:0".into()]).unwrap();
        assert_eq!(
            outcome(&mut s, &other, &other_pre, "forecast", NOW),
            Outcome::ServiceNotGranted
        );
        let (cap, cap_pre) = s
            .issue_with_caveats(&[
                "services=weather:0".into(),
                "weather_capabilities=history".into(),
            ])
            .unwrap();
        assert_eq!(
            outcome(&mut s, &cap, &cap_pre, "forecast", NOW),
            Outcome::CapabilityNotGranted
        );

        // Custom constraints narrow but never widen.
        s.spec.constraints = vec![("forecast_max_days".into(), "7".into())];
        let (ctok, cpre) = paid(&mut s);
        let mut fewer = token::decode(&ctok).unwrap();
        fewer.add_first_party_caveat("forecast_max_days=3").unwrap();
        assert_eq!(
            outcome(
                &mut s,
                &token::encode(&fewer).unwrap(),
                &cpre,
                "forecast",
                NOW
            ),
            Outcome::Served
        );
        let mut more = token::decode(&ctok).unwrap();
        more.add_first_party_caveat("forecast_max_days=30").unwrap();
        let more = token::encode(&more).unwrap();
        assert!(matches!(
            outcome(&mut s, &more, &cpre, "forecast", NOW),
            Outcome::WideningCaveat(_)
        ));

        assert!(s.revoke(&tok));
        assert_eq!(
            outcome(&mut s, &tok, &pre, "forecast", NOW),
            Outcome::UnknownRootKey
        );
        for o in [
            Outcome::WrongPreimage,
            Outcome::Forged,
            Outcome::UnknownRootKey,
            Outcome::Expired,
        ] {
            assert_eq!(o.status(), 401);
        }
    }

    #[test]
    fn a_token_serves_only_its_calls() {
        let mut s = server(Some(2));
        let (tok, pre) = paid(&mut s);
        assert_eq!(
            outcome(&mut s, &tok, &pre, "forecast", NOW),
            Outcome::Served
        );
        assert_eq!(
            outcome(&mut s, &tok, &pre, "forecast", NOW),
            Outcome::Served
        );
        assert_eq!(
            outcome(&mut s, &tok, &pre, "forecast", NOW),
            Outcome::CallLimitReached
        );
    }

    #[test]
    fn both_challenge_forms_carry_a_real_invoice_for_the_price() {
        let mut s = server(None);
        for form in [ChallengeForm::Aperture, ChallengeForm::V0] {
            s.spec.form = form;
            let issued = s.challenge(NOW).unwrap();
            for h in &issued.headers {
                let c = header::parse_challenge(h).unwrap();
                let (_, d) = invoice::parse(&c.invoice).unwrap();
                assert_eq!(d.amount_msat, Some(20_000));
                assert_eq!(
                    d.payment_hash_hex,
                    sha256::Hash::from_byte_array(issued.payment_hash).to_string()
                );
            }
            assert_eq!(
                issued.headers.len(),
                if form == ChallengeForm::Aperture {
                    2
                } else {
                    1
                }
            );
        }
    }
}
