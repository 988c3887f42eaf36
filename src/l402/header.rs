//! L402 headers. Challenges (`WWW-Authenticate`) in the form Aperture sends
//! (`L402 macaroon="…", invoice="…"`, with an `LSAT` twin) and in the 2026 form
//! (`L402 version="0", token="…", invoice="…"`); credentials (`Authorization:
//! L402 <token>[,<token>…]:<hex preimage>`). Parsing accepts every form, scheme names in
//! any case, parameters in any order and case, odd spacing, and ignores unknown
//! parameters; anything else is an error, never a panic.

use std::fmt;

/// How a service words its challenge.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ChallengeForm {
    /// `L402 macaroon=…, invoice=…` plus the `LSAT` twin (Aperture today).
    Aperture,
    /// `L402 version="0", token=…, invoice=…` (bLIP-0026 / 2026 spec).
    V0,
}

/// A parsed challenge: the token (base64) and the invoice.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Challenge {
    pub token: String,
    pub invoice: String,
}

/// A parsed credential.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credential {
    pub tokens: Vec<String>,
    pub preimage: [u8; 32],
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeaderError(pub String);

impl fmt::Display for HeaderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn err(msg: impl Into<String>) -> HeaderError {
    HeaderError(msg.into())
}

/// `WWW-Authenticate` header values for a challenge, in the service's form.
pub fn challenge_headers(token: &str, invoice: &str, form: ChallengeForm) -> Vec<String> {
    match form {
        ChallengeForm::Aperture => vec![
            format!("LSAT macaroon=\"{token}\", invoice=\"{invoice}\""),
            format!("L402 macaroon=\"{token}\", invoice=\"{invoice}\""),
        ],
        ChallengeForm::V0 => vec![format!(
            "L402 version=\"0\", token=\"{token}\", invoice=\"{invoice}\""
        )],
    }
}

/// The `Authorization` header value for a token and its preimage.
pub fn authorization(token: &str, preimage: &[u8; 32]) -> String {
    format!("L402 {token}:{}", hex(preimage))
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Split `SCHEME rest` and check the scheme is L402 or LSAT (any case).
fn scheme(value: &str) -> Result<&str, HeaderError> {
    let value = value.trim();
    let (scheme, rest) = value
        .split_once(|c: char| c.is_ascii_whitespace())
        .unwrap_or((value, ""));
    if scheme.eq_ignore_ascii_case("L402") || scheme.eq_ignore_ascii_case("LSAT") {
        Ok(rest.trim())
    } else {
        Err(err(format!("scheme `{scheme}` is not L402 or LSAT")))
    }
}

/// `key="value", key=value, …` (RFC 7235 auth-params); keys lower-cased.
fn params(text: &str) -> Result<Vec<(String, String)>, HeaderError> {
    let mut out = Vec::new();
    let mut rest = text.trim();
    while !rest.is_empty() {
        let (key, after) = rest
            .split_once('=')
            .ok_or_else(|| err(format!("expected key=value at `{rest}`")))?;
        let key = key.trim().to_ascii_lowercase();
        if key.is_empty()
            || !key
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return Err(err(format!("bad parameter name `{key}`")));
        }
        let after = after.trim_start();
        let (value, tail) = if let Some(quoted) = after.strip_prefix('"') {
            let mut value = String::new();
            let mut chars = quoted.char_indices();
            let mut end = None;
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => match chars.next() {
                        Some((_, escaped)) => value.push(escaped),
                        None => return Err(err("unterminated escape in a quoted value")),
                    },
                    '"' => {
                        end = Some(i + 1);
                        break;
                    }
                    c => value.push(c),
                }
            }
            let end = end.ok_or_else(|| err(format!("unterminated quote in `{key}`")))?;
            (value, &quoted[end..])
        } else {
            let end = after.find(',').unwrap_or(after.len());
            (after[..end].trim().to_string(), &after[end..])
        };
        out.push((key, value));
        let tail = tail.trim_start();
        rest = match tail.strip_prefix(',') {
            Some(t) => t.trim_start(),
            None if tail.is_empty() => "",
            None => return Err(err(format!("expected `,` before `{tail}`"))),
        };
    }
    Ok(out)
}

/// Parse a `WWW-Authenticate` value in any of the forms.
pub fn parse_challenge(value: &str) -> Result<Challenge, HeaderError> {
    let params = params(scheme(value)?)?;
    let get = |k: &str| {
        params
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
    };
    if let Some(v) = get("version")
        && v != "0"
    {
        return Err(err(format!("unsupported L402 version `{v}`")));
    }
    let token = get("token")
        .or_else(|| get("macaroon"))
        .ok_or_else(|| err("no token or macaroon parameter"))?;
    let invoice = get("invoice").ok_or_else(|| err("no invoice parameter"))?;
    if token.is_empty() || invoice.is_empty() {
        return Err(err("empty token or invoice"));
    }
    Ok(Challenge { token, invoice })
}

/// Parse an `Authorization` value: `L402 <token>[,<token>…]:<64 lowercase hex>`.
pub fn parse_authorization(value: &str) -> Result<Credential, HeaderError> {
    let rest = scheme(value)?;
    let (tokens, preimage) = rest
        .rsplit_once(':')
        .ok_or_else(|| err("expected <token>:<preimage>"))?;
    let preimage = preimage.trim();
    if preimage.len() != 64
        || !preimage
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return Err(err("the preimage must be 64 lowercase hex digits"));
    }
    let mut bytes = [0u8; 32];
    for (i, b) in bytes.iter_mut().enumerate() {
        *b = u8::from_str_radix(&preimage[2 * i..2 * i + 2], 16)
            .map_err(|_| err("bad preimage hex"))?;
    }
    let tokens: Vec<String> = tokens.split(',').map(|t| t.trim().to_string()).collect();
    if tokens.iter().any(String::is_empty) {
        return Err(err("empty token"));
    }
    Ok(Credential {
        tokens,
        preimage: bytes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn every_form_parses_with_odd_spacing_and_case() {
        for form in [ChallengeForm::Aperture, ChallengeForm::V0] {
            for h in challenge_headers("AgEEbHNhdA==", "lnbcrt1x", form) {
                let c = parse_challenge(&h).unwrap();
                assert_eq!(
                    (c.token.as_str(), c.invoice.as_str()),
                    ("AgEEbHNhdA==", "lnbcrt1x"),
                    "{h}"
                );
            }
        }
        let odd = "  l402   INVOICE = \"lnbcrt1y\" ,  Macaroon=\"AbC=\",future=\"x, y\"  ";
        assert_eq!(
            parse_challenge(odd).unwrap(),
            Challenge {
                token: "AbC=".into(),
                invoice: "lnbcrt1y".into()
            }
        );
        assert!(parse_challenge("L402 version=\"1\", token=\"a\", invoice=\"b\"").is_err());
        assert!(parse_challenge("Bearer token=\"a\"").is_err());
        assert!(parse_challenge("L402 token=\"a\"").is_err());
        assert!(parse_challenge("L402 token=\"a, invoice=\"b\"").is_err());

        let pre = [0xab; 32];
        let a = authorization("tok1", &pre);
        assert_eq!(
            parse_authorization(&a).unwrap(),
            Credential {
                tokens: vec!["tok1".into()],
                preimage: pre
            }
        );
        let multi = format!("lsat  a1==, b2== :{}", hex(&pre));
        assert_eq!(
            parse_authorization(&multi).unwrap().tokens,
            vec!["a1==", "b2=="]
        );
        assert!(parse_authorization(&format!("L402 t:{}", hex(&pre).to_uppercase())).is_err());
        assert!(parse_authorization("L402 t:abcd").is_err());
        assert!(parse_authorization("L402 :").is_err());
    }

    proptest! {
        #[test]
        fn garbage_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
            let s = String::from_utf8_lossy(&bytes);
            let _ = parse_challenge(&s);
            let _ = parse_authorization(&s);
            let _ = parse_challenge(&format!("L402 {s}"));
            let _ = parse_authorization(&format!("L402 {s}"));
            let _ = crate::l402::token::decode(&s);
        }
    }
}
