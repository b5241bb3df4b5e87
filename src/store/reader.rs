//! The front ends' view of the store: reads only, on a connection of its
//! own opened `query_only`, so the compiler (no write methods here) and
//! SQLite (a write would fail) both keep front ends from changing what the
//! engine owns.

use super::{
    ChatEncryption, ConversationSummary, Cursor, SearchHit, Store, StoreError, StoredDevice,
    StoredMessage, StoredPushInfo,
};
use crate::model::Contact;
use crate::omemo::{DeviceId, IdentityKey, Profile};

/// Our own OMEMO device as others see it: no secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnIdentity {
    pub device_id: DeviceId,
    /// Its identity key in each namespace's form (each has its own
    /// fingerprint), legacy first.
    pub keys: Vec<IdentityKey>,
    pub created_at: i64,
}

/// Cheap to clone; safe to use from any thread.
#[derive(Clone, Debug)]
pub struct Reader(Store);

impl Reader {
    pub(super) fn new(store: Store) -> Self {
        Self(store)
    }

    /// Conversations, most recent first, with the last message.
    pub fn conversations(
        &self,
        account: Option<&str>,
    ) -> Result<Vec<ConversationSummary>, StoreError> {
        self.0.conversations(account)
    }

    /// Up to `limit` messages older than `before` (or the newest), in
    /// chronological order.
    pub fn messages_before(
        &self,
        account: &str,
        peer: &str,
        before: Option<Cursor>,
        limit: usize,
    ) -> Result<Vec<StoredMessage>, StoreError> {
        self.0.messages_before(account, peer, before, limit)
    }

    /// Up to `limit` messages newer than `after`, in chronological order.
    pub fn messages_after(
        &self,
        account: &str,
        peer: &str,
        after: Cursor,
        limit: usize,
    ) -> Result<Vec<StoredMessage>, StoreError> {
        self.0.messages_after(account, peer, after, limit)
    }

    /// Full-text search over bodies, best matches first.
    pub fn search(
        &self,
        account: Option<&str>,
        input: &str,
        limit: usize,
    ) -> Result<Vec<SearchHit>, StoreError> {
        self.0.search(account, input, limit)
    }

    /// The account's contacts as last seen.
    pub fn contacts(&self, account: &str) -> Result<Vec<Contact>, StoreError> {
        self.0.contacts(account)
    }

    /// The rooms the account is in or was in.
    pub fn rooms(&self, account: &str) -> Result<Vec<super::StoredRoom>, StoreError> {
        self.0.rooms(account)
    }

    /// Every account's rooms, with the account's address.
    pub fn all_rooms(&self) -> Result<Vec<(String, super::StoredRoom)>, StoreError> {
        self.0.all_rooms()
    }

    /// A contact's push info, with how the last knock went.
    pub fn push_info(
        &self,
        account: &str,
        contact: &str,
    ) -> Result<Option<StoredPushInfo>, StoreError> {
        self.0.push_info(account, contact)
    }

    /// Every message of an account, oldest first, for export.
    pub fn all_messages(&self, account: &str) -> Result<Vec<StoredMessage>, StoreError> {
        self.0.all_messages(account)
    }

    /// The account's messages still to be sent, oldest first.
    pub fn outbox(&self, account: &str) -> Result<Vec<super::Queued>, StoreError> {
        self.0.outbox(account)
    }

    /// The OMEMO devices known of `jid` (a contact, or the account itself
    /// for its other devices), active first.
    pub fn omemo_devices(&self, account: &str, jid: &str) -> Result<Vec<StoredDevice>, StoreError> {
        self.0.omemo_devices(account, jid)
    }

    /// The account's own OMEMO device, once one was made (on its first
    /// connection).
    pub fn omemo_own_identity(&self, account: &str) -> Result<Option<OwnIdentity>, StoreError> {
        Ok(self.0.omemo_own_device(account)?.map(|own| OwnIdentity {
            device_id: own.device_id,
            keys: [Profile::Legacy, Profile::Omemo2]
                .into_iter()
                .map(|p| own.identity.public_key(p))
                .collect(),
            created_at: own.created_at,
        }))
    }

    /// A chat's encryption setting.
    pub fn chat_encryption(&self, account: &str, peer: &str) -> Result<ChatEncryption, StoreError> {
        self.0.chat_encryption(account, peer)
    }
}

#[cfg(test)]
mod tests {
    use crate::store::{NewIncoming, Placement, Store, StoreKey};

    #[test]
    fn a_reader_sees_writes_and_cannot_write() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store =
            Store::open(&dir.path().join("db"), &StoreKey::from_bytes([4; 32])).expect("open");
        let reader = store.reader().expect("reader");
        store
            .insert_incoming(&NewIncoming {
                account: "me@x",
                peer: "bob@x",
                sender: "bob@x/p",
                body: "seen by the reader",
                sent_at: 1,
                placement: Placement::AsStamped,
                origin_id: None,
                stanza_id: Some("s1"),
                archive_id: None,
                count_unread: true,
                wire_id: None,
                markable: false,
                encrypted: false,
                omemo_notice: false,
            })
            .expect("insert");
        let page = reader
            .messages_before("me@x", "bob@x", None, 5)
            .expect("read");
        assert_eq!(page[0].body, "seen by the reader");
        // Even through the inner handle, SQLite refuses a write.
        let err = reader.0.set_secret("k", "v").expect_err("read-only");
        assert!(
            err.to_string().contains("readonly")
                || err.to_string().contains("read-only")
                || err.to_string().contains("query_only")
                || err.to_string().contains("attempt to write"),
            "{err}"
        );
    }
}
