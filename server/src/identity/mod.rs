//! Who is speaking: signed tokens and password hashes, the login backoff, and the signed-out
//! sessions every node must refuse, and the codes that stand in for a password once.

pub mod codes;
pub mod invite_codes;
pub mod login_guard;
pub mod revocation;
pub mod tokens;
