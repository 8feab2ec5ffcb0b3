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
use std::sync::Arc;

use batepapo_protocol::{name_key, ServerMessage};

use crate::line::{encode, Line};
use crate::outbox::{push_all, Outbox};
use crate::sync::{Mutex, MutexGuard};

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

#[derive(Default)]
struct Inner {
    by_key: HashMap<String, u64>,
    /// Members in join order. Readers hold snapshots (clones of the `Arc`) briefly; a change
    /// copies the list only if one is held at that moment, and otherwise edits it in place.
    members: Arc<Vec<Member>>,
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
        self.inner.lock()
    }

    /// Adds a member if its name is free. Under the lock it queues `WELCOME` and `USERS` to the
    /// newcomer and `JOIN` to everyone else, so that every client sees joins and leaves in the
    /// one order the registry decided them. Returns how many are now registered.
    pub fn register(&self, member: Member) -> Result<usize, NameTaken> {
        let key = name_key(&member.name);
        let mut inner = self.lock();
        if inner.by_key.contains_key(&key) {
            return Err(NameTaken);
        }
        Arc::make_mut(&mut inner.members).push(member.clone());
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
        Ok(inner.members.len())
    }

    /// Removes a member and, under the lock, queues its `LEAVE` to everyone still present (so a
    /// newcomer reusing the name can never be announced before it). Returns the member and
    /// how many are still present, or `None` if it was not registered.
    pub fn unregister(&self, id: u64) -> Option<(Member, usize)> {
        let mut inner = self.lock();
        let at = inner.members.iter().position(|m| m.id == id)?;
        let gone = Arc::make_mut(&mut inner.members).remove(at);
        inner.by_key.remove(&name_key(&gone.name));
        let leave = encode(&ServerMessage::Leave {
            name: gone.name.clone(),
            addr: gone.addr,
        });
        broadcast(&inner.members, id, &leave);
        Some((gone, inner.members.len()))
    }

    /// Finds a member by name, case-insensitively.
    pub fn lookup(&self, name: &str) -> Option<Member> {
        let inner = self.lock();
        let id = *inner.by_key.get(&name_key(name))?;
        inner.members.iter().find(|m| m.id == id).cloned()
    }

    /// Everyone registered, in join order. Drop it soon: while it is held, the next join or
    /// leave copies the list.
    pub fn snapshot(&self) -> Arc<Vec<Member>> {
        self.lock().members.clone()
    }
}

/// The `USERS` line for a member list.
pub fn users_message(members: &[Member]) -> ServerMessage {
    ServerMessage::Users(members.iter().map(|m| m.name.clone()).collect())
}

/// Sends one line to every member but `except`.
pub fn broadcast(members: &[Member], except: u64, line: &Line) {
    push_all(
        members.iter().filter(|m| m.id != except).map(|m| &m.outbox),
        line,
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{TcpListener, TcpStream};

    fn member(id: u64, name: &str) -> (Member, TcpStream) {
        use crate::budget::Budget;
        use crate::config::WriteMode;
        use crate::delivery::Delivery;
        use std::sync::OnceLock;
        static DELIVERY: OnceLock<Arc<Delivery>> = OnceLock::new();
        let delivery = DELIVERY.get_or_init(|| {
            Delivery::start(
                1,
                1 << 20,
                WriteMode::Batched,
                Arc::new(Budget::new(1 << 30, 1 << 28)),
                Arc::default(),
            )
            .unwrap()
        });
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, addr) = listener.accept().unwrap();
        let outbox = Arc::new(Outbox::new(id, Arc::new(server), delivery.clone()));
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
        assert_eq!(reg.register(a).unwrap(), 1);
        assert_eq!(reg.register(b).unwrap(), 2);
        let all = reg.snapshot();
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
        let held = reg.snapshot();
        let (gone, left) = reg.unregister(2).unwrap();
        assert_eq!(gone.name, "b");
        assert_eq!(left, 2);
        assert_eq!(
            held.len(),
            3,
            "a snapshot held during a change is left as it was"
        );
        let rest = reg.snapshot();
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
}
