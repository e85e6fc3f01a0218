//! The sync message one side sends for a document.
//!
//! When the other side lacks most of a document, Automerge sends the whole document in one
//! message, compressed on its own (deflate per column). Here that document goes uncompressed
//! instead, so the body's compressor sees the visits of a whole sync together and shares their
//! repeated keys and words: a month of visits crosses the wire in about half the bytes.

use automerge::AutoCommit;
use automerge::sync::{Capability, Message, State, SyncDoc};

/// Automerge's chunk magic bytes, then a 4-byte checksum, then the chunk type.
const CHUNK_MAGIC: [u8; 4] = [0x85, 0x6f, 0x4a, 0x83];
const CHUNK_TYPE_AT: usize = 8;
const DOCUMENT_CHUNK: u8 = 0;

/// The next sync message for `doc`, encoded, or `None` if there is nothing to say.
pub fn next_message(doc: &mut AutoCommit, state: &mut State) -> Option<Vec<u8>> {
    let mut message = doc.sync().generate_sync_message(state)?;
    if carries_whole_document(&message) {
        // The same document at the same heads, without the per-column deflate.
        message.changes = doc.save_nocompress().into();
    }
    Some(message.encode())
}

/// Readies a fresh sync state for a document the other side has never acknowledged (a visit
/// made on this device, never synced), so the first message carries the whole document instead
/// of a round of heads and Bloom filters first: one round trip and a few hundred bytes fewer per
/// new visit. If the other side had the document after all (a receipt lost in a cut-short run),
/// Automerge drops what it already has and sync goes on as usual. A state that has seen the other
/// side is left alone.
pub fn presume_peer_lacks(state: &mut State) {
    let untouched = state.shared_heads.is_empty()
        && state.last_sent_heads.is_empty()
        && state.their_heads.is_none()
        && state.sent_hashes.is_empty();
    if untouched {
        state.their_heads = Some(Vec::new());
        state.their_need = Some(Vec::new());
        state.their_have = Some(Vec::new());
        // The other side is this version's server, which reads version 2 messages.
        state.their_capabilities = Some(vec![Capability::MessageV2]);
    }
}

fn carries_whole_document(message: &Message) -> bool {
    let mut chunks = message.changes.iter();
    match (chunks.next(), chunks.next()) {
        (Some(only), None) => {
            only.starts_with(&CHUNK_MAGIC) && only.get(CHUNK_TYPE_AT) == Some(&DOCUMENT_CHUNK)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use automerge::transaction::Transactable;
    use automerge::{ROOT, ReadDoc};

    fn notes(words: usize) -> AutoCommit {
        let mut doc = AutoCommit::new();
        for i in 0..words {
            doc.put(
                ROOT,
                format!("criterion-{i}"),
                format!("note {i} about the home"),
            )
            .unwrap();
            doc.commit();
        }
        doc
    }

    /// Runs sync between two documents until neither has anything to say; returns the bytes
    /// each message carried.
    fn sync(a: &mut AutoCommit, b: &mut AutoCommit) -> Vec<Vec<u8>> {
        sync_from(a, b, &mut State::new(), &mut State::new())
    }

    /// [`sync`] from the given states.
    fn sync_from(
        a: &mut AutoCommit,
        b: &mut AutoCommit,
        sa: &mut State,
        sb: &mut State,
    ) -> Vec<Vec<u8>> {
        let mut sent = Vec::new();
        for _ in 0..10 {
            let m1 = next_message(a, sa);
            if let Some(m) = &m1 {
                b.sync()
                    .receive_sync_message(sb, Message::decode(m).unwrap())
                    .unwrap();
                sent.push(m.clone());
            }
            let m2 = next_message(b, sb);
            if let Some(m) = &m2 {
                a.sync()
                    .receive_sync_message(sa, Message::decode(m).unwrap())
                    .unwrap();
                sent.push(m.clone());
            }
            if m1.is_none() && m2.is_none() {
                break;
            }
        }
        sent
    }

    #[test]
    fn a_whole_document_goes_uncompressed_and_arrives_intact() {
        let mut a = notes(200);
        let mut b = AutoCommit::new();
        let sent = sync(&mut a, &mut b);
        assert_eq!(b.get_heads(), a.get_heads());
        assert_eq!(
            b.get(ROOT, "criterion-199").unwrap().unwrap().0.to_string(),
            "\"note 199 about the home\""
        );
        let whole = sent
            .iter()
            .map(|m| Message::decode(m).unwrap())
            .find(carries_whole_document)
            .expect("the document went whole");
        let chunk = whole.changes.iter().next().unwrap().to_vec();
        assert_eq!(chunk, a.save_nocompress());
        assert!(
            chunk.len() > a.save().len(),
            "sent without Automerge's own deflate"
        );
    }

    #[test]
    fn a_document_the_peer_lacks_goes_whole_at_once_and_one_it_has_does_no_harm() {
        let mut a = notes(100);
        let mut b = AutoCommit::new();
        let mut state = State::new();
        presume_peer_lacks(&mut state);
        let first = Message::decode(&next_message(&mut a, &mut state).unwrap()).unwrap();
        assert!(carries_whole_document(&first), "no round of heads first");
        b.sync()
            .receive_sync_message(&mut State::new(), first)
            .unwrap();
        assert_eq!(b.get_heads(), a.get_heads());

        // The peer had it all along: a presumed state still settles.
        let mut c = a.fork();
        c.put(ROOT, "criterion-0", "edited on a second tablet")
            .unwrap();
        c.commit();
        let (mut sa, mut sc) = (State::new(), State::new());
        presume_peer_lacks(&mut sc);
        sync_from(&mut c, &mut a, &mut sc, &mut sa);
        assert_eq!(a.get_heads(), c.get_heads());

        // A state that has met the other side is not touched.
        let before = sc.encode();
        presume_peer_lacks(&mut sc);
        assert_eq!(sc.encode(), before);
        assert!(sc.their_heads.is_some());
    }

    #[test]
    fn a_few_changes_go_as_changes() {
        let mut a = notes(50);
        let mut b = AutoCommit::new();
        sync(&mut a, &mut b);
        b.put(ROOT, "criterion-3", "changed on the other tablet")
            .unwrap();
        b.commit();
        let sent = sync(&mut b, &mut a);
        assert!(
            sent.iter()
                .map(|m| Message::decode(m).unwrap())
                .all(|m| !carries_whole_document(&m))
        );
        assert_eq!(a.get_heads(), b.get_heads());
    }
}
