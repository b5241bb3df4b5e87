//! The Double Ratchet (Signal specification), shared by both profiles.
//!
//! It follows python's `doubleratchet` (the reference of python-omemo and so
//! of python-twomemo/oldmemo) and libsignal where they matter on the wire:
//! skipped keys of the previous receiving chain are derived at a DH ratchet
//! step from the header's `pn`, and at most
//! [`MAX_SKIPPED_KEYS_PER_MESSAGE`] keys are derived for one message. Where
//! the previous chain would need more, none are derived at that point (as
//! python does) rather than refusing the new chain, so a session recovers
//! from heavy loss instead of being stuck.
//!
//! Unlike python, the last few receiving chains are also kept, as libsignal
//! keeps its receiver chains: libsignal (Conversations, Dino, Monal, …) sends
//! `pn` as the index of its last message on the previous chain, one less
//! than the count the specification and python use, so eager derivation
//! alone would lose that last message whenever it arrives after the ratchet
//! step. A kept chain lets such a message (or one beyond a too-large gap)
//! still be derived when it comes, under the same per-message bound.

use std::collections::VecDeque;

use rand::CryptoRng;

use super::Profile;
use super::curve::{Secret, x25519, x25519_public};
use super::error::{Error, Result};
use super::kdf::{chain_step, root_step};
use super::keys::random_secret;
use super::wire::Header;

/// At most this many message keys are derived (and stored as skipped) for
/// one incoming message, per chain: python-omemo's default, which also bounds
/// the work an unauthenticated header can cause.
pub const MAX_SKIPPED_KEYS_PER_MESSAGE: u32 = 1000;

/// At most this many skipped message keys are kept per session; the oldest
/// go first.
pub const MAX_SKIPPED_KEYS_PER_SESSION: usize = 2000;

/// Remote ratchet keys of past chains remembered per session, to tell a
/// replay of an old message ([`Error::Duplicate`]) from a forged one.
pub(crate) const MAX_OLD_RATCHET_KEYS: usize = 16;

/// Of those, how many keep their chain key (libsignal keeps 5 receiver
/// chains). Older chains forget it, for forward secrecy.
pub(crate) const MAX_OLD_CHAINS: usize = 5;

#[derive(Clone)]
pub(crate) struct Chain {
    pub(crate) key: Secret,
    pub(crate) n: u32,
}

impl Chain {
    fn new(key: Secret) -> Self {
        Self { key, n: 0 }
    }

    /// Advances the chain and returns the message key for index `n`.
    fn step(&mut self) -> Result<Secret> {
        let n = self.n.checked_add(1).ok_or(Error::CounterExhausted)?;
        let (next, message_key) = chain_step(&self.key)?;
        self.key = next;
        self.n = n;
        Ok(message_key)
    }
}

#[derive(Clone)]
pub(crate) struct SkippedKey {
    pub(crate) dh_pub: [u8; 32],
    pub(crate) n: u32,
    pub(crate) key: Secret,
}

/// A past receiving chain: its remote ratchet key and, for the most recent
/// ones, the chain as it was left.
#[derive(Clone)]
pub(crate) struct OldChain {
    pub(crate) dh_pub: [u8; 32],
    pub(crate) chain: Option<Chain>,
}

/// Everything but the skipped keys: small, so decryption works on a copy and
/// commits it only when the message authenticated.
#[derive(Clone)]
pub(crate) struct Core {
    pub(crate) root_key: Secret,
    pub(crate) own_private: Secret,
    pub(crate) own_public: [u8; 32],
    pub(crate) remote_public: [u8; 32],
    pub(crate) sending: Chain,
    pub(crate) receiving: Option<Chain>,
    pub(crate) previous_sending_n: u32,
    /// Oldest first.
    pub(crate) old_chains: Vec<OldChain>,
}

#[derive(Clone)]
pub(crate) struct Ratchet {
    pub(crate) profile: Profile,
    pub(crate) core: Core,
    pub(crate) skipped: VecDeque<SkippedKey>,
}

impl Ratchet {
    /// The initiator's ratchet: its first sending chain comes from a DH with
    /// the responder's signed prekey, which is the responder's first ratchet
    /// key.
    pub(crate) fn active(
        profile: Profile,
        shared_secret: &Secret,
        remote_signed_pre_key: &[u8; 32],
        own_private: Secret,
    ) -> Result<Self> {
        let dh = x25519(&own_private, remote_signed_pre_key)?;
        let (root_key, chain_key) = root_step(profile, shared_secret, &dh)?;
        Ok(Self {
            profile,
            core: Core {
                root_key,
                own_public: x25519_public(&own_private),
                own_private,
                remote_public: *remote_signed_pre_key,
                sending: Chain::new(chain_key),
                receiving: None,
                previous_sending_n: 0,
                old_chains: Vec::new(),
            },
            skipped: VecDeque::new(),
        })
    }

    /// The responder's ratchet, built when the first message arrives: its
    /// receiving chain from the signed prekey and the initiator's ratchet
    /// key, then a fresh key pair and the sending chain.
    pub(crate) fn passive(
        profile: Profile,
        shared_secret: &Secret,
        signed_pre_key_private: &[u8; 32],
        remote_ratchet: &[u8; 32],
        own_private: Secret,
    ) -> Result<Self> {
        let dh = x25519(signed_pre_key_private, remote_ratchet)?;
        let (root_key, receiving_key) = root_step(profile, shared_secret, &dh)?;
        let dh = x25519(&own_private, remote_ratchet)?;
        let (root_key, sending_key) = root_step(profile, &root_key, &dh)?;
        Ok(Self {
            profile,
            core: Core {
                root_key,
                own_public: x25519_public(&own_private),
                own_private,
                remote_public: *remote_ratchet,
                sending: Chain::new(sending_key),
                receiving: Some(Chain::new(receiving_key)),
                previous_sending_n: 0,
                old_chains: Vec::new(),
            },
            skipped: VecDeque::new(),
        })
    }

    /// The header and message key for the next outgoing message.
    pub(crate) fn next_sending(&mut self) -> Result<(Header, Secret)> {
        let header = Header {
            dh_pub: self.core.own_public,
            n: self.core.sending.n,
            pn: self.core.previous_sending_n,
        };
        let message_key = self.core.sending.step()?;
        Ok((header, message_key))
    }

    /// Finds the message key for `header` and hands it to `open`, which
    /// authenticates and decrypts. State changes (new chains, skipped keys,
    /// the used skipped key's removal) are kept only if `open` succeeds, so a
    /// forged, tampered or replayed message leaves the session as it was.
    pub(crate) fn decrypt<R, T, F>(&mut self, rng: &mut R, header: &Header, open: F) -> Result<T>
    where
        R: CryptoRng + ?Sized,
        F: FnOnce(&Secret) -> Result<T>,
    {
        if let Some(pos) = self
            .skipped
            .iter()
            .position(|k| k.n == header.n && k.dh_pub == header.dh_pub)
        {
            let out = match self.skipped.get(pos) {
                Some(skipped) => open(&skipped.key)?,
                None => return Err(Error::Crypto("skipped key index")),
            };
            self.skipped.remove(pos);
            return Ok(out);
        }

        let profile = self.profile;
        let mut core = self.core.clone();
        let mut new_skipped = Vec::new();
        if header.dh_pub != core.remote_public {
            if let Some(old) = core
                .old_chains
                .iter_mut()
                .find(|c| c.dh_pub == header.dh_pub)
            {
                // A late message on a past chain.
                let chain = old.chain.as_mut().ok_or(Error::Duplicate)?;
                let message_key = advance(chain, header, &mut new_skipped)?;
                let out = open(&message_key)?;
                self.commit(core, new_skipped);
                return Ok(out);
            }
            let old_remote = core.remote_public;
            let mut previous = core.receiving.take();
            if let Some(receiving) = previous.as_mut() {
                let lost = header.pn.saturating_sub(receiving.n);
                if lost <= MAX_SKIPPED_KEYS_PER_MESSAGE {
                    skip(receiving, old_remote, lost, &mut new_skipped)?;
                }
            }
            core.old_chains.push(OldChain {
                dh_pub: old_remote,
                chain: previous,
            });
            if core.old_chains.len() > MAX_OLD_RATCHET_KEYS {
                core.old_chains.remove(0);
            }
            let forget = core.old_chains.len().saturating_sub(MAX_OLD_CHAINS);
            for old in core.old_chains.iter_mut().take(forget) {
                old.chain = None;
            }
            core.remote_public = header.dh_pub;
            let dh = x25519(&core.own_private, &core.remote_public)?;
            let (root_key, receiving_key) = root_step(profile, &core.root_key, &dh)?;
            core.receiving = Some(Chain::new(receiving_key));
            core.own_private = random_secret(rng);
            core.own_public = x25519_public(&core.own_private);
            core.previous_sending_n = core.sending.n;
            let dh = x25519(&core.own_private, &core.remote_public)?;
            let (root_key, sending_key) = root_step(profile, &root_key, &dh)?;
            core.root_key = root_key;
            core.sending = Chain::new(sending_key);
        }

        let receiving = core.receiving.as_mut().ok_or(Error::NoReceivingChain)?;
        let message_key = advance(receiving, header, &mut new_skipped)?;
        let out = open(&message_key)?;
        self.commit(core, new_skipped);
        Ok(out)
    }

    fn commit(&mut self, core: Core, new_skipped: Vec<SkippedKey>) {
        self.core = core;
        self.skipped.extend(new_skipped);
        while self.skipped.len() > MAX_SKIPPED_KEYS_PER_SESSION {
            self.skipped.pop_front();
        }
    }
}

/// Moves `chain` to the header's index, keeping the keys it passes as
/// skipped, and returns that message's key.
fn advance(chain: &mut Chain, header: &Header, into: &mut Vec<SkippedKey>) -> Result<Secret> {
    if header.n < chain.n {
        return Err(Error::Duplicate);
    }
    let gap = header.n - chain.n;
    if gap > MAX_SKIPPED_KEYS_PER_MESSAGE {
        return Err(Error::TooManySkipped {
            skipped: u64::from(gap),
            limit: MAX_SKIPPED_KEYS_PER_MESSAGE,
        });
    }
    skip(chain, header.dh_pub, gap, into)?;
    chain.step()
}

fn skip(chain: &mut Chain, dh_pub: [u8; 32], count: u32, into: &mut Vec<SkippedKey>) -> Result<()> {
    for _ in 0..count {
        let n = chain.n;
        let key = chain.step()?;
        into.push(SkippedKey { dh_pub, n, key });
    }
    Ok(())
}
