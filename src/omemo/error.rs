//! The one error type of the OMEMO core.
//!
//! Everything that reaches the core from the network (bundles, key exchanges,
//! messages, payloads) or from the store (state blobs) is untrusted; every way
//! it can be wrong has a variant here, so the app can tell the user what
//! happened ("not for this device", "duplicate", "broken session") instead of
//! a generic failure, and decide whether to repair the session.

/// Errors of the OMEMO protocol core.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A field had the wrong length.
    #[error("{what} is {actual} bytes long, expected {expected}")]
    InvalidLength {
        /// Which field.
        what: &'static str,
        /// The length the profile requires.
        expected: usize,
        /// The length received.
        actual: usize,
    },
    /// A public key is not usable: wrong type byte, not on the curve, of small
    /// order, or it gave an all-zero Diffie-Hellman result.
    #[error("invalid public key: {0}")]
    InvalidPublicKey(&'static str),
    /// A signature (on a signed prekey) does not verify.
    #[error("signature verification failed")]
    BadSignature,
    /// A protobuf structure could not be decoded.
    #[error("malformed {0}")]
    Malformed(&'static str),
    /// A protobuf structure lacks a field the protocol requires.
    #[error("{message} lacks the required field {field}")]
    MissingField {
        /// The protobuf message.
        message: &'static str,
        /// The missing field.
        field: &'static str,
    },
    /// A legacy message starts with a version byte other than 3.
    #[error("unsupported message version byte {0:#04x}")]
    UnsupportedVersion(u8),
    /// The message's MAC does not match: tampered, or not made with this
    /// session (for example after the sender reset its session).
    #[error("message authentication failed")]
    MacMismatch,
    /// The ratchet ciphertext authenticated but does not decrypt (bad
    /// padding or length): the sender is broken.
    #[error("message decryption failed")]
    BadCiphertext,
    /// The message was already decrypted (replay, carbon and MAM copy of the
    /// same message), or its skipped key was discarded. The session is
    /// unchanged.
    #[error("duplicate message (already decrypted, or its key was discarded)")]
    Duplicate,
    /// The message would need more skipped message keys than allowed.
    #[error("message skips {skipped} message keys, more than the limit of {limit}")]
    TooManySkipped {
        /// How many keys it would skip.
        skipped: u64,
        /// The limit.
        limit: u32,
    },
    /// A chain counter would overflow.
    #[error("message counter exhausted")]
    CounterExhausted,
    /// A message arrived on a chain this side cannot have: the initiator has
    /// no receiving chain for the responder's signed prekey.
    #[error("message on a chain that does not exist")]
    NoReceivingChain,
    /// The key exchange names a signed prekey we no longer have.
    #[error("signed prekey {0} is not known")]
    UnknownSignedPreKey(u32),
    /// The key exchange names a one-time prekey we no longer have (already
    /// used, or never ours).
    #[error("prekey {0} is not known")]
    UnknownPreKey(u32),
    /// The chosen prekey id is not in the bundle.
    #[error("prekey {0} is not in the bundle")]
    PreKeyNotInBundle(u32),
    /// OMEMO 2 key exchanges always carry a one-time prekey.
    #[error("this profile needs a one-time prekey")]
    PreKeyRequired,
    /// Keys or messages of the two profiles were mixed.
    #[error("keys or messages of different profiles were mixed")]
    ProfileMismatch,
    /// The key exchange was not the one this session was built from.
    #[error("the key exchange belongs to a different session")]
    KeyExchangeMismatch,
    /// The payload (message body or SCE envelope) failed authentication.
    #[error("payload authentication failed")]
    PayloadAuthentication,
    /// The payload authenticated but is not well-formed ciphertext.
    #[error("malformed payload")]
    MalformedPayload,
    /// The key material from the ratchet has a length this profile cannot use.
    #[error("key material of {0} bytes cannot decrypt a payload")]
    InvalidKeyMaterial(usize),
    /// The payload IV has an unsupported length, or an IV was given (or
    /// missing) where the profile has none (or needs one).
    #[error("payload IV of {0} bytes is not supported")]
    InvalidIv(usize),
    /// A stored state blob is damaged.
    #[error("stored state is corrupt: {0}")]
    CorruptState(&'static str),
    /// A stored state blob has a format this build does not know.
    #[error("stored state format {0} is not supported")]
    UnsupportedStateFormat(u8),
    /// A primitive refused its input (cannot happen with the fixed sizes
    /// used; kept so no code path needs to panic).
    #[error("cryptographic primitive failure: {0}")]
    Crypto(&'static str),
}

/// Result alias of the OMEMO core.
pub type Result<T> = core::result::Result<T, Error>;
