//! The requirements the cases prove, with their text.

/// `(id, text)` for every requirement a case may name, in report order.
pub const REQUIREMENTS: [(&str, &str); 13] = [
    ("RF1", "The user enters a name to join the chat. The name may contain neither spaces nor \"@\"."),
    ("RF2", "A name already in use by a connected user is refused, and the user is asked for another name."),
    ("RF3", "Every connected user is told when a new user joins, including that user's IP and port."),
    ("RF4", "The chat is real time, using threads (one per client on the server; a receiving thread in the client)."),
    ("RF5", "A user can send a message that everyone sees."),
    ("RF6", "Private messages: \"@name text\" goes only to that recipient."),
    ("RF7", "A user cannot send a private message to themself."),
    ("RF8", "Everyone is told when a user leaves the chat."),
    ("RF9", "The client is removed from the chat when it chooses \"Sair\" (Exit)."),
    ("RF10", "After users leave, the system keeps working and others can still join."),
    ("RF11", "If the client tries to connect while the server is not running, a pop-up shows an error message."),
    ("RF12", "The client's IP and port are shown to the user themself and to the others."),
    ("PROTO", "Protocol chat/1 framing, limits and errors (docs/PROTOCOL.md)."),
];

/// A few words per requirement, for tables.
pub fn short(rf: &str) -> &'static str {
    match rf {
        "RF1" => "name rules (no spaces, no @)",
        "RF2" => "taken names refused, another asked",
        "RF3" => "JOIN announced with ip:port",
        "RF4" => "real time, threads, no blocking",
        "RF5" => "public messages",
        "RF6" => "private messages with @name",
        "RF7" => "no private message to oneself",
        "RF8" => "LEAVE announced",
        "RF9" => "leaving with /quit (Sair)",
        "RF10" => "keeps working after leaves",
        "RF11" => "client error when no server",
        "RF12" => "own ip:port shown to all",
        "PROTO" => "framing, limits and errors",
        _ => "",
    }
}

/// The text of a requirement, or an empty string for an unknown id.
pub fn text(rf: &str) -> &'static str {
    REQUIREMENTS
        .iter()
        .find(|(id, _)| *id == rf)
        .map_or("", |(_, t)| t)
}

/// Sort key that puts RF2 before RF10 and PROTO last.
pub fn order(rf: &str) -> usize {
    REQUIREMENTS
        .iter()
        .position(|(id, _)| *id == rf)
        .unwrap_or(REQUIREMENTS.len())
}
