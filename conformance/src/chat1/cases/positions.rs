//! Every position in the server's list of users. A server keeps its users in some list, and a
//! defect tied to a position (the first or the last to join, the only other user, the user who
//! joined right after someone left from the middle) would hit some other case's user when cases
//! share the server, and no case would see it. These cases run alone: with users joined in a
//! known order, and after leaves from the front, the middle and the end, everyone in `USERS`
//! gets every broadcast, every private message, every JOIN and every LEAVE they must.

use super::case;
use crate::case::{Case, Ctx, Failure, Level::*};
use crate::chat1::wire::Wire;

pub(super) fn cases() -> Vec<Case> {
    vec![
        case(
            "RF5-10",
            "RF5",
            Must,
            "with 5 users joined in order, a broadcast from each position reaches every other position",
            broadcasts_reach_every_position,
        )
        .alone(),
        case(
            "RF6-10",
            "RF6",
            Must,
            "with 5 users joined in order, a private message from each position reaches each other position and nobody else",
            privates_reach_every_position,
        )
        .alone(),
        case(
            "RF10-10",
            "RF10",
            Must,
            "after leaves from the front, the middle and the end, and joins in the gaps, JOIN, LEAVE, broadcasts and private messages reach every user in USERS",
            leaves_from_every_position,
        )
        .alone(),
        case(
            "RF5-11",
            "RF5",
            Must,
            "two users alone: each is the other's only recipient, before and after a third comes and goes",
            the_only_other_user,
        )
        .alone(),
    ]
}

/// The users of a case in join order, as the server should list them.
struct Room {
    users: Vec<Wire>,
}

impl Room {
    /// Joins `labels` one by one; everyone already in gets each JOIN.
    fn join(ctx: &Ctx, labels: &[&str]) -> Result<Room, Failure> {
        let mut room = Room { users: Vec::new() };
        for label in labels {
            room.add(ctx, label)?;
        }
        Ok(room)
    }

    /// One more user at the end of the list: it sees everyone before it in `USERS`, and
    /// everyone before it gets its JOIN.
    fn add(&mut self, ctx: &Ctx, label: &str) -> Result<(), Failure> {
        let mut w = Wire::hello(ctx, label)?;
        let name = w.name.clone();
        w.send(&name)?;
        w.expect(&format!("WELCOME {name} {}", w.local_addr()))?;
        let users = w.expect("USERS *")?;
        let listed: Vec<&str> = users.split(' ').skip(1).collect();
        for u in self
            .users
            .iter()
            .map(|u| u.name.as_str())
            .chain([name.as_str()])
        {
            if !listed.contains(&u) {
                return Err(Failure::at(
                    label,
                    format!("USERS to list {u}"),
                    users.clone(),
                ));
            }
        }
        let join = format!("JOIN {name} {}", w.local_addr());
        for u in &mut self.users {
            u.expect(&join)?;
        }
        self.users.push(w);
        Ok(())
    }

    /// The user at `i` leaves with `/quit`; everyone else gets its LEAVE.
    fn leave(&mut self, i: usize) -> Result<(), Failure> {
        let mut w = self.users.remove(i);
        let leave = format!("LEAVE {} {}", w.name, w.local_addr());
        w.send("/quit")?;
        w.expect("BYE *")?;
        w.expect_eof()?;
        for u in &mut self.users {
            u.expect(&leave)?;
        }
        Ok(())
    }

    /// Each user in turn broadcasts; every other user gets it, next.
    fn everyone_broadcasts(&mut self, tag: &str) -> Result<(), Failure> {
        for from in 0..self.users.len() {
            let text = format!("{tag} from position {from}");
            self.users[from].send(&text)?;
            let line = format!("MSG {} {text}", self.users[from].name);
            for (to, u) in self.users.iter_mut().enumerate() {
                if to != from {
                    u.expect(&line)?;
                }
            }
        }
        // Nobody got anything more (their own messages included).
        for u in &mut self.users {
            u.expect_quiet()?;
        }
        Ok(())
    }

    /// Each user sends a private message to each other user; each arrives, only there.
    fn everyone_whispers(&mut self, tag: &str) -> Result<(), Failure> {
        let names: Vec<String> = self.users.iter().map(|u| u.name.clone()).collect();
        for from in 0..self.users.len() {
            for to in 0..self.users.len() {
                if to == from {
                    continue;
                }
                let text = format!("{tag} {from} to {to}");
                self.users[from].send(&format!("@{} {text}", names[to]))?;
                self.users[to].expect(&format!("PRIV {} {text}", names[from]))?;
            }
        }
        for u in &mut self.users {
            u.expect_quiet()?;
        }
        Ok(())
    }
}

fn broadcasts_reach_every_position(ctx: &mut Ctx) -> Result<(), Failure> {
    let mut room = Room::join(ctx, &["p0", "p1", "p2", "p3", "p4"])?;
    room.everyone_broadcasts("hello")
}

fn privates_reach_every_position(ctx: &mut Ctx) -> Result<(), Failure> {
    let mut room = Room::join(ctx, &["p0", "p1", "p2", "p3", "p4"])?;
    room.everyone_whispers("psst")
}

fn leaves_from_every_position(ctx: &mut Ctx) -> Result<(), Failure> {
    let mut room = Room::join(ctx, &["p0", "p1", "p2", "p3", "p4"])?;
    // The front leaves, then someone takes the end.
    room.leave(0)?;
    room.everyone_broadcasts("after the front left")?;
    room.add(ctx, "p5")?;
    // The middle leaves, then someone joins right after it.
    let middle = room.users.len() / 2;
    room.leave(middle)?;
    room.everyone_broadcasts("after the middle left")?;
    room.add(ctx, "p6")?;
    room.everyone_whispers("after the gaps")?;
    // The end leaves, then the one who is last now is still reached.
    let last = room.users.len() - 1;
    room.leave(last)?;
    room.everyone_broadcasts("after the end left")?;
    room.everyone_whispers("still")?;
    room.add(ctx, "p7")?;
    room.everyone_broadcasts("with a newcomer at the end")
}

fn the_only_other_user(ctx: &mut Ctx) -> Result<(), Failure> {
    let mut room = Room::join(ctx, &["a", "b"])?;
    room.everyone_broadcasts("just us")?;
    room.everyone_whispers("just us")?;
    room.add(ctx, "c")?;
    room.leave(2)?;
    room.everyone_broadcasts("us again")?;
    room.leave(0)?;
    // One user alone: a broadcast reaches nobody, and nothing comes back.
    room.everyone_broadcasts("alone")?;
    room.add(ctx, "d")?;
    room.everyone_broadcasts("company")?;
    room.everyone_whispers("company")
}
