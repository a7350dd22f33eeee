//! Invite codes: 160 random bits a person can paste or follow as a link, kept at rest only as
//! their SHA-256. A code that is guessed is worth an account, so it is long rather than short
//! and typed; a slow hash would add nothing to 160 bits of entropy.

use rand::RngCore;
use sha2::{Digest, Sha256};

/// Crockford's base 32, lowercase: no i, l, o or u, which are misread for 1, 0 or v when a
/// code is read aloud or copied by hand.
const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";

/// A new code: 32 characters of 5 bits each.
pub fn new_code() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    bytes
        .iter()
        .map(|b| ALPHABET[usize::from(b & 31)] as char)
        .collect()
}

/// What the store keeps of a code, and looks it up by. Surrounding spaces, which a copy and
/// paste may add, are not part of it.
pub fn hash(code: &str) -> String {
    Sha256::digest(code.trim().as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_long_random_and_hashed() {
        let a = new_code();
        let b = new_code();
        assert_eq!(a.len(), 32);
        assert_ne!(a, b);
        assert!(a.bytes().all(|c| ALPHABET.contains(&c)));
        assert_eq!(hash(&a), hash(&format!(" {a}\n")));
        assert_ne!(hash(&a), hash(&b));
        assert_eq!(hash(&a).len(), 64);
        assert!(!hash(&a).contains(&a));
    }
}
