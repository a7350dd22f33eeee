//! Making and checking codes: six-digit SMS codes, eight-character reset codes an official
//! reads to a person, each kept at rest only as an HMAC-SHA256 under a key derived from the
//! token secret, with a salt of its own. A stolen database then yields no code: six digits are
//! few enough to try all of them against a plain hash, but not without the key.

use hmac::{Hmac, Mac};
use rand::Rng;
use sha2::{Digest, Sha256};

type HmacSha256 = Hmac<Sha256>;

/// Letters and digits no one mistakes for another when read aloud or off a slip (no 0/O, 1/I/L).
const RESET_ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";

/// The key codes are kept under.
pub struct CodeKey([u8; 32]);

impl CodeKey {
    /// Derived from the token secret, so a deployment has no second secret to keep, and the
    /// key is not the token key itself.
    pub fn derive(secret: &[u8]) -> Self {
        let mut h = Sha256::new();
        h.update(b"hehe verification codes v1\0");
        h.update(secret);
        Self(h.finalize().into())
    }

    fn mac(&self, parts: &[&str]) -> HmacSha256 {
        // HMAC takes a key of any length.
        let mut mac = HmacSha256::new_from_slice(&self.0).unwrap_or_else(|_| unreachable!());
        for part in parts {
            // Each part with its length, so `ab`+`c` and `a`+`bc` differ.
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part.as_bytes());
        }
        mac
    }

    /// The stored form of `code` for `subject` (`signup:+86…`, `account:5`), hex.
    pub fn hash(&self, salt: &str, subject: &str, code: &str) -> String {
        hex(&self.mac(&[salt, subject, code]).finalize().into_bytes())
    }

    /// Whether `code` is the one stored as `stored`, compared in constant time.
    pub fn verify(&self, salt: &str, subject: &str, code: &str, stored: &str) -> bool {
        let Some(expected) = unhex(stored) else {
            return false;
        };
        self.mac(&[salt, subject, code])
            .verify_slice(&expected)
            .is_ok()
    }

    /// A client address as stored for counting: the same address gives the same key, and the
    /// key gives no address back.
    pub fn address_key(&self, address: &str) -> String {
        hex(&self.mac(&["address", address]).finalize().into_bytes()[..16])
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// A fresh salt: 128 random bits, hex.
pub fn new_salt() -> String {
    let mut bytes = [0u8; 16];
    rand::rng().fill(&mut bytes);
    hex(&bytes)
}

/// A six-digit SMS code, each of the million equally likely.
pub fn sms_code() -> String {
    format!("{:06}", rand::rng().random_range(0..1_000_000u32))
}

/// An eight-character reset code, shown as `ABCD-2345`; typed with or without the dash.
pub fn reset_code() -> String {
    let mut rng = rand::rng();
    let chars: String = (0..8)
        .map(|_| RESET_ALPHABET[rng.random_range(0..RESET_ALPHABET.len())] as char)
        .collect();
    format!("{}-{}", &chars[..4], &chars[4..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_verifies_only_with_its_salt_subject_and_key() {
        let key = CodeKey::derive(b"0123456789abcdef0123456789abcdef");
        let salt = new_salt();
        let stored = key.hash(&salt, "signup:+8613812345678", "123456");
        assert_eq!(stored.len(), 64);
        assert!(!stored.contains("123456"));
        assert!(key.verify(&salt, "signup:+8613812345678", "123456", &stored));
        assert!(!key.verify(&salt, "signup:+8613812345678", "123457", &stored));
        assert!(!key.verify(&salt, "reset:+8613812345678", "123456", &stored));
        assert!(!key.verify(&new_salt(), "signup:+8613812345678", "123456", &stored));
        let other = CodeKey::derive(b"another secret of thirty-two byt");
        assert!(!other.verify(&salt, "signup:+8613812345678", "123456", &stored));
        assert!(!key.verify(&salt, "signup:+8613812345678", "123456", "zz"));
        assert_ne!(new_salt(), new_salt());
    }

    #[test]
    fn codes_have_their_shapes() {
        for _ in 0..200 {
            let c = sms_code();
            assert!(c.len() == 6 && c.chars().all(|c| c.is_ascii_digit()), "{c}");
            let r = reset_code();
            assert_eq!(r.len(), 9, "{r}");
            assert_eq!(&r[4..5], "-");
            assert!(
                r.chars()
                    .filter(|c| *c != '-')
                    .all(|c| RESET_ALPHABET.contains(&(c as u8)))
            );
        }
    }

    #[test]
    fn addresses_are_kept_as_keys() {
        let key = CodeKey::derive(b"secret");
        let a = key.address_key("203.0.113.7");
        assert_eq!(a, key.address_key("203.0.113.7"));
        assert_ne!(a, key.address_key("203.0.113.8"));
        assert!(!a.contains("203"));
    }
}
