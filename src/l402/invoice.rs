//! BOLT11 invoices (regtest, `lnbcrt...`) for L402 prices, built and parsed with
//! `lightning-invoice`. Timestamps come from the simulation clock, so the same run signs
//! the same invoices.

use bitcoin::hashes::{Hash, sha256};
use bitcoin::secp256k1::{Secp256k1, SecretKey};
use lightning_invoice::{Bolt11Invoice, Currency, InvoiceBuilder, PaymentSecret};
use std::time::Duration;

/// What the payer reads from an invoice.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct DecodedInvoice {
    pub amount_msat: Option<u64>,
    pub payment_hash_hex: String,
    pub payee_hex: String,
    pub description: String,
    pub timestamp_unix: u64,
    pub expiry_secs: u64,
}

/// Create a signed invoice for `amount_msat` paying `payment_hash`.
pub fn create(
    payee: &SecretKey,
    amount_msat: u64,
    description: &str,
    payment_hash: [u8; 32],
    payment_secret: [u8; 32],
    timestamp: Duration,
    expiry: Duration,
) -> Result<Bolt11Invoice, String> {
    let secp = Secp256k1::signing_only();
    InvoiceBuilder::new(Currency::Regtest)
        .description(description.to_string())
        .amount_milli_satoshis(amount_msat)
        .payment_hash(sha256::Hash::from_byte_array(payment_hash))
        .payment_secret(PaymentSecret(payment_secret))
        .duration_since_epoch(timestamp)
        .expiry_time(expiry)
        .min_final_cltv_expiry_delta(144)
        .build_signed(|msg| secp.sign_ecdsa_recoverable(msg, payee))
        .map_err(|e| format!("cannot build the invoice: {e}"))
}

/// Parse an invoice string and check its signature.
pub fn parse(text: &str) -> Result<(Bolt11Invoice, DecodedInvoice), String> {
    let invoice: Bolt11Invoice = text
        .trim()
        .parse()
        .map_err(|e| format!("not a BOLT11 invoice: {e}"))?;
    invoice
        .check_signature()
        .map_err(|e| format!("bad invoice signature: {e}"))?;
    let description = match invoice.description() {
        lightning_invoice::Bolt11InvoiceDescriptionRef::Direct(d) => d.to_string(),
        lightning_invoice::Bolt11InvoiceDescriptionRef::Hash(h) => format!("hash {}", h.0),
    };
    let decoded = DecodedInvoice {
        amount_msat: invoice.amount_milli_satoshis(),
        payment_hash_hex: invoice.payment_hash().to_string(),
        payee_hex: invoice.recover_payee_pub_key().to_string(),
        description,
        timestamp_unix: invoice.duration_since_epoch().as_secs(),
        expiry_secs: invoice.expiry_time().as_secs(),
    };
    Ok((invoice, decoded))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::l402::keys::{node_public, node_secret};

    #[test]
    fn an_invoice_round_trips_and_its_signature_checks() {
        let key = node_secret(42, 3);
        let hash = sha256::Hash::hash(&[7u8; 32]).to_byte_array();
        let make = || {
            let (ts, expiry) = (Duration::from_secs(1_700_000_000), Duration::from_secs(600));
            create(&key, 21_000, "weather: 1 call", hash, [9; 32], ts, expiry).unwrap()
        };
        let inv = make();
        let text = inv.to_string();
        assert!(text.starts_with("lnbcrt"), "{text}");
        let (_, d) = parse(&text).unwrap();
        assert_eq!(d.amount_msat, Some(21_000));
        assert_eq!(
            d.payment_hash_hex,
            sha256::Hash::from_byte_array(hash).to_string()
        );
        assert_eq!(d.payee_hex, node_public(42, 3).to_string());
        assert_eq!(d.expiry_secs, 600);
        assert_eq!(d.description, "weather: 1 call");
        // Same inputs, same invoice (deterministic signatures).
        let again = make();
        assert_eq!(again.to_string(), text);
        // A changed character breaks the checksum or the signature.
        let mut bad = text.clone().into_bytes();
        let i = bad.len() - 10;
        bad[i] = if bad[i] == b'q' { b'p' } else { b'q' };
        assert!(parse(std::str::from_utf8(&bad).unwrap()).is_err());
        assert!(parse("lnbc1garbage").is_err());
    }
}
