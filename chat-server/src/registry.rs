//! Who is connected: names (unique case-insensitively), addresses and outboxes, in join order.
//!
//! Membership changes and the lines that announce them are decided and queued under one lock, so
//! every client sees one consistent story: a newcomer's `USERS` lists exactly those whose `LEAVE`
//! it may later get, a `JOIN` never goes to someone already listed in the joiner's own `USERS`,
//! and joins and leaves reach everyone in the same order. Queueing never blocks (see
//! [`Outbox`]), so holding the lock for it is cheap. Chat lines copy one `Arc` of the member
//! list and deliver outside the lock.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use batepapo_protocol::{name_key, ServerMessage};

use crate::outbox::{Line, Outbox};

/// A registered user.
#[derive(Clone)]
pub struct Member {
    /// Connection id, unique for the server's lifetime.
    pub id: u64,
    /// The name as the user wrote it.
    pub name: String,
    /// The user's address as the server sees it (RF12).
    pub addr: SocketAddr,
    /// Where lines for this user go.
    pub outbox: Arc<Outbox>,
}

/// Encodes a message once into a line shareable by all recipients.
pub fn encode(msg: &ServerMessage) -> Line {
    Arc::from(msg.encode().into_bytes())
}

#[derive(Default)]
struct Inner {
    by_key: HashMap<String, u64>,
    /// Members in join order; replaced, never mutated, so readers can hold a snapshot.
    members: Arc<[Member]>,
}

/// The set of registered users.
#[derive(Default)]
pub struct Registry {
    inner: Mutex<Inner>,
}

/// The name is taken (RF2).
#[derive(Debug, PartialEq, Eq)]
pub struct NameTaken;

impl Registry {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds a member if its name is free. Under the lock it queues `WELCOME` and `USERS` to the
    /// newcomer and `JOIN` to everyone else, so that every client sees joins and leaves in the
    /// one order the registry decided them. Returns everyone now registered.
    pub fn register(&self, member: Member) -> Result<Arc<[Member]>, NameTaken> {
        let key = name_key(&member.name);
        let mut inner = self.lock();
        if inner.by_key.contains_key(&key) {
            return Err(NameTaken);
        }
        let mut members: Vec<Member> = inner.members.to_vec();
        members.push(member.clone());
        inner.members = members.into();
        inner.by_key.insert(key, member.id);

        let welcome = ServerMessage::Welcome {
            name: member.name.clone(),
            addr: member.addr,
        };
        // One write for both lines: as two small writes, Nagle's algorithm would hold the second
        // until the client's delayed ACK of the first, some 40 ms later.
        let mut greeting = welcome.encode();
        greeting.push_str(&users_message(&inner.members).encode());
        member.outbox.push(&Arc::from(greeting.into_bytes()));
        let join = encode(&ServerMessage::Join {
            name: member.name.clone(),
            addr: member.addr,
        });
        broadcast(&inner.members, member.id, &join);
        Ok(inner.members.clone())
    }

    /// Removes a member and, under the lock, queues its `LEAVE` to everyone still present (so a
    /// newcomer reusing the name can never be announced before it). Returns the member and
    /// those still present, or `None` if it was not registered.
    pub fn unregister(&self, id: u64) -> Option<(Member, Arc<[Member]>)> {
        let mut inner = self.lock();
        let gone = inner.members.iter().find(|m| m.id == id)?.clone();
        inner.by_key.remove(&name_key(&gone.name));
        let rest: Vec<Member> = inner
            .members
            .iter()
            .filter(|m| m.id != id)
            .cloned()
            .collect();
        inner.members = rest.into();
        let leave = encode(&ServerMessage::Leave {
            name: gone.name.clone(),
            addr: gone.addr,
        });
        broadcast(&inner.members, id, &leave);
        Some((gone, inner.members.clone()))
    }

    /// Finds a member by name, case-insensitively.
    pub fn lookup(&self, name: &str) -> Option<Member> {
        let inner = self.lock();
        let id = *inner.by_key.get(&name_key(name))?;
        inner.members.iter().find(|m| m.id == id).cloned()
    }

    /// Everyone registered, in join order.
    pub fn snapshot(&self) -> Arc<[Member]> {
        self.lock().members.clone()
    }
}

/// The `USERS` line for a member list.
pub fn users_message(members: &[Member]) -> ServerMessage {
    ServerMessage::Users(members.iter().map(|m| m.name.clone()).collect())
}

/// Sends one line to every member but `except`.
pub fn broadcast(members: &[Member], except: u64, line: &Line) {
    for m in members.iter().filter(|m| m.id != except) {
        m.outbox.push(line);
    }
}

/// A short, readable list of names for the console log.
pub fn describe(members: &[Member]) -> String {
    const SHOWN: usize = 10;
    let mut names: Vec<&str> = members
        .iter()
        .take(SHOWN)
        .map(|m| m.name.as_str())
        .collect();
    let more = members.len().saturating_sub(SHOWN);
    let extra = format!("and {more} more");
    if more > 0 {
        names.push(&extra);
    }
    if names.is_empty() {
        "nobody".to_string()
    } else {
        names.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{TcpListener, TcpStream};

    fn member(id: u64, name: &str) -> (Member, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, addr) = listener.accept().unwrap();
        let outbox = Arc::new(Outbox::new(
            Arc::new(server),
            16,
            crate::flusher::Flusher::start(1).unwrap(),
        ));
        let m = Member {
            id,
            name: name.into(),
            addr,
            outbox,
        };
        (m, client)
    }

    #[test]
    fn names_are_unique_ignoring_case() {
        let reg = Registry::default();
        let (a, _ca) = member(1, "Alice");
        let (b, _cb) = member(2, "aLiCe");
        assert!(reg.register(a).is_ok());
        assert_eq!(reg.register(b).err(), Some(NameTaken));
        assert_eq!(reg.snapshot().len(), 1);
    }

    #[test]
    fn register_returns_everyone_in_join_order() {
        let reg = Registry::default();
        let (a, _ca) = member(1, "a");
        let (b, _cb) = member(2, "b");
        assert_eq!(reg.register(a).unwrap().len(), 1);
        let all = reg.register(b).unwrap();
        assert_eq!(all.iter().map(|m| m.id).collect::<Vec<_>>(), vec![1, 2]);
    }

    #[test]
    fn unregister_frees_the_name_and_keeps_order() {
        let reg = Registry::default();
        for (id, n) in [(1, "a"), (2, "b"), (3, "c")] {
            let (m, c) = member(id, n);
            std::mem::forget(c);
            reg.register(m).unwrap();
        }
        let (gone, rest) = reg.unregister(2).unwrap();
        assert_eq!(gone.name, "b");
        let names: Vec<_> = rest.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names, ["a", "c"]);
        assert!(reg.lookup("B").is_none());
        assert!(reg.unregister(2).is_none());
        let (again, _c) = member(4, "B");
        assert!(reg.register(again).is_ok());
    }

    #[test]
    fn lookup_ignores_case() {
        let reg = Registry::default();
        let (a, _ca) = member(1, "Alice");
        reg.register(a).unwrap();
        assert_eq!(reg.lookup("ALICE").unwrap().id, 1);
    }

    #[test]
    fn describe_truncates_long_lists() {
        let reg = Registry::default();
        let mut keep = Vec::new();
        for id in 0..12 {
            let (m, c) = member(id, &format!("u{id}"));
            keep.push(c);
            reg.register(m).unwrap();
        }
        let text = describe(&reg.snapshot());
        assert!(text.starts_with("u0, u1,"), "{text}");
        assert!(text.ends_with("u9, and 2 more"), "{text}");
        assert_eq!(describe(&[]), "nobody");
    }
}
