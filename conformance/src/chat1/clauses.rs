//! Which clause of the contract each built-in case enforces, in one table so that the whole
//! mapping can be read (and reviewed against docs/PROTOCOL.md) at once. A case's level follows
//! its clause: MUST where the contract (or the requirement) states what a server or client
//! does, SHOULD where the case checks a choice the contract leaves open and the reference
//! server makes (those clauses say "reference choice").

/// (case id, clause): a section of docs/PROTOCOL.md or a requirement, and the words enforced.
pub const CLAUSES: &[(&str, &str)] = &[
    ("RF1-01", "PROTOCOL.md §Registration: a name contains no whitespace; a bad name gets invalid-name and the client sends another"),
    ("RF1-02", "PROTOCOL.md §Registration: a name contains no @"),
    ("RF1-03", "PROTOCOL.md §Registration: a name does not start with /"),
    ("RF1-04", "PROTOCOL.md §Registration: a name has 1 to 32 characters"),
    ("RF1-05", "PROTOCOL.md §Registration: a name contains no whitespace and no control characters"),
    ("RF1-06", "PROTOCOL.md §Registration: empty lines during registration are ignored"),
    ("RF1-07", "PROTOCOL.md §Registration: 1 to 32 characters (characters, not bytes)"),
    ("RF1-08", "requirement RF1 (client): the name may contain neither spaces nor @"),
    ("RF2-01", "PROTOCOL.md §Registration: a name already used by a connected user gets name-taken"),
    ("RF2-02", "PROTOCOL.md §Registration: names are compared without regard to case"),
    ("RF2-03", "PROTOCOL.md §Registration: the connection stays open and the client sends another name"),
    ("RF2-04", "PROTOCOL.md §Leaving: /quit frees the name at once"),
    ("RF2-05", "PROTOCOL.md §Leaving: a dropped connection frees the name"),
    ("RF2-06", "requirement RF2 (client): a name in use is refused and another asked for"),
    ("RF3-01", "PROTOCOL.md §Registration: every other connected user gets JOIN <name> <ip>:<port>"),
    ("RF3-02", "PROTOCOL.md §Registration: the new user never receives a JOIN about itself"),
    ("RF3-03", "PROTOCOL.md §Registration: USERS lists everyone, the new user included, in join order"),
    ("RF4-01", "PROTOCOL.md §Ordering: lines from one sender reach each recipient in the order sent"),
    ("RF4-02", "PROTOCOL.md §Slow readers and floods: one stalled reader never delays anyone else"),
    ("RF4-03", "PROTOCOL.md §Slow readers and floods: a client that stops reading is disconnected at the stall deadline; the others get its LEAVE"),
    ("RF4-04", "requirement RF4: real time, one thread per client: a stuck connection blocks nobody"),
    ("RF4-05", "requirement RF4 (client): a receiving thread shows messages while the user types"),
    ("RF4-06", "PROTOCOL.md §Slow readers and floods: a client that keeps reading gets every line, in order"),
    ("RF4-07", "PROTOCOL.md §Slow readers and floods: a burst from many senders is held for a reader and delivered"),
    ("RF4-08", "PROTOCOL.md §Slow readers and floods: a sender that floods is slowed, never disconnected and never dropped"),
    ("RF4-09", "PROTOCOL.md §Slow readers and floods: a flood slows its sender and never stops anyone else"),
    ("RF4-10", "requirement RF4: a stuck connection blocks nobody; connections that never register, from one address, do not lock out a user from another (reference choice: the contract leaves limits to the server)"),
    ("RF5-01", "PROTOCOL.md §Chatting: a public message goes as MSG to every other user"),
    ("RF5-02", "PROTOCOL.md §Chatting: never back to the sender"),
    ("RF5-03", "PROTOCOL.md §Framing: the last field is free text that runs to the end of the line"),
    ("RF5-04", "PROTOCOL.md §Ordering: lines from one sender reach each recipient in the order sent"),
    ("RF5-10", "PROTOCOL.md §Chatting: MSG to every other user, whatever their place in USERS"),
    ("RF5-11", "PROTOCOL.md §Chatting: MSG to every other user, never back to the sender"),
    ("RF6-01", "PROTOCOL.md §Chatting: @<name> <text> goes as PRIV to that user only"),
    ("RF6-02", "PROTOCOL.md §Chatting: the recipient's name is compared without case"),
    ("RF6-03", "PROTOCOL.md §Chatting: PRIV to that user only"),
    ("RF6-04", "PROTOCOL.md §Chatting: nobody with that name is connected: ERR no-such-user"),
    ("RF6-05", "PROTOCOL.md §Chatting: no text, or only spaces: ERR empty-message"),
    ("RF6-06", "PROTOCOL.md §Chatting: @ with no name gets no-such-user (reference choice: the contract names no code)"),
    ("RF6-07", "PROTOCOL.md §Chatting: nobody with that name is connected: ERR no-such-user"),
    ("RF6-10", "PROTOCOL.md §Chatting: PRIV to that user only, whatever their place in USERS"),
    ("RF7-01", "PROTOCOL.md §Chatting: the name is the sender's own: ERR self-message"),
    ("RF7-02", "PROTOCOL.md §Chatting: self-message: nobody receives anything"),
    ("RF7-03", "PROTOCOL.md §Chatting: the sender's own name, compared without case"),
    ("RF7-04", "requirement RF7 (client): a user cannot send a private message to themself"),
    ("RF8-01", "PROTOCOL.md §Leaving: /quit: the others get LEAVE <name> <ip>:<port>"),
    ("RF8-02", "PROTOCOL.md §Leaving: a connection that drops without /quit gives the others LEAVE"),
    ("RF8-03", "PROTOCOL.md §Ordering: a user's LEAVE comes after its last message"),
    ("RF8-04", "PROTOCOL.md §Leaving: only users leave (reference choice: the contract is silent on unregistered connections)"),
    ("RF9-01", "PROTOCOL.md §Leaving: /quit gets BYE, then the server closes"),
    ("RF9-02", "PROTOCOL.md §Leaving: /quit frees the name at once"),
    ("RF9-03", "requirement RF9 (client): the client is removed when it chooses Sair"),
    ("RF9-04", "requirement RF9 (client): leaving when input ends"),
    ("RF10-01", "requirement RF10: after users leave, the system keeps working and others can join"),
    ("RF10-02", "requirement RF10, PROTOCOL.md §Ordering: USERS lists exactly the users whose LEAVE may follow"),
    ("RF10-03", "requirement RF10: abandoned registrations leave the chat working"),
    ("RF10-10", "requirement RF10, PROTOCOL.md §Registration and §Leaving: JOIN, LEAVE, MSG and PRIV reach every user, after leaves from any place"),
    ("RF11-01", "requirement RF11 (client): a clear error when no server is running"),
    ("RF11-02", "requirement RF11 (client): a clear error when no server is running"),
    ("RF12-01", "PROTOCOL.md §Registration: WELCOME <name> <ip>:<port>, the address as the server sees it"),
    ("RF12-02", "PROTOCOL.md §Registration and §Leaving: JOIN and LEAVE carry <ip>:<port>"),
    ("RF12-03", "requirement RF12 (client): the client's IP and port shown to the user themself"),
    ("RF12-04", "requirement RF12 (client): and to the others"),
    ("PROTO-01", "PROTOCOL.md §Framing: a line over the limit gets ERR line-too-long; the connection stays"),
    ("PROTO-02", "PROTOCOL.md §Framing: a line that is not UTF-8 gets ERR invalid-utf8; the connection stays"),
    ("PROTO-03", "PROTOCOL.md §Framing: TCP may split one line over several reads"),
    ("PROTO-04", "PROTOCOL.md §Framing: a CR immediately before the LF is dropped"),
    ("PROTO-05", "PROTOCOL.md §Chatting: an empty line is ignored"),
    ("PROTO-06", "PROTOCOL.md §Chatting: any other /word gets ERR unknown-command"),
    ("PROTO-07", "PROTOCOL.md §Chatting: /users gets USERS (the list is in join order, as at registration)"),
    ("PROTO-08", "PROTOCOL.md §Registration: no name within the registration timeout: ERR timeout, then close"),
    ("PROTO-09", "PROTOCOL.md §Errors and limits: at --max-clients, ERR server-full instead of HELLO (reference choice: when it is full depends on the server's setting)"),
    ("PROTO-10", "PROTOCOL.md §Framing: TCP may glue several lines into one read"),
    ("PROTO-11", "PROTOCOL.md §Framing: a line over the limit gets ERR line-too-long, at any time"),
    ("PROTO-12", "PROTOCOL.md §Ordering: a user's JOIN reaches every recipient before any MSG from that user"),
    ("PROTO-13", "PROTOCOL.md §Framing: the server always ends its lines with a bare LF; HELLO chat/1"),
    ("PROTO-14", "PROTOCOL.md §Framing: the CR of a CRLF does not count toward the limit"),
    ("PROTO-15", "PROTOCOL.md §Framing: the rest of an overlong line up to the next LF is discarded"),
    ("PROTO-17", "PROTOCOL.md §Framing: a last line that the peer ends by closing the connection instead of a LF is still taken as a line (reference choice: the contract says lines end with LF)"),
    ("PROTO-16", "PROTOCOL.md §Framing: ERR line-too-long as soon as the limit is passed (reference choice: the contract says only that the line is discarded)"),
];

/// The clause a built-in case enforces, if the table names it.
pub fn for_case(id: &str) -> Option<&'static str> {
    CLAUSES
        .iter()
        .find(|(c, _)| *c == id)
        .map(|(_, clause)| *clause)
}

/// Sections of docs/PROTOCOL.md that clauses may cite.
pub const SECTIONS: [&str; 8] = [
    "Framing",
    "A session",
    "Registration",
    "Chatting",
    "Leaving",
    "Errors and limits",
    "Slow readers and floods",
    "Ordering",
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::case::Level;

    #[test]
    fn every_built_in_case_names_its_clause() {
        let cases = crate::runner::all_cases(&[]).unwrap();
        let missing: Vec<&str> = cases
            .iter()
            .filter(|c| for_case(&c.id).is_none())
            .map(|c| c.id.as_str())
            .collect();
        assert!(missing.is_empty(), "no clause for {missing:?}");
        for (id, _) in CLAUSES {
            assert!(cases.iter().any(|c| c.id == *id), "{id} is not a case");
        }
    }

    #[test]
    fn every_cited_section_exists_in_the_protocol_document() {
        let doc = include_str!("../../../docs/PROTOCOL.md");
        for (id, clause) in CLAUSES {
            for cited in clause.split('§').skip(1) {
                let section = SECTIONS
                    .iter()
                    .find(|s| cited.starts_with(*s))
                    .unwrap_or_else(|| panic!("{id}: unknown section in {clause:?}"));
                assert!(
                    doc.contains(&format!("## {section}\n")),
                    "{id}: docs/PROTOCOL.md has no section {section:?}"
                );
            }
        }
    }

    #[test]
    fn should_cases_are_exactly_the_reference_choices() {
        for c in crate::runner::all_cases(&[]).unwrap() {
            let clause = for_case(&c.id).unwrap();
            let choice = clause.contains("reference choice");
            assert_eq!(
                c.level == Level::Should,
                choice,
                "{}: level {} but clause {clause:?}",
                c.id,
                c.level
            );
        }
    }
}
