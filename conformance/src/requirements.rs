//! The requirements the cases prove, with their text in English and in the assignment's own
//! Portuguese words.

use crate::i18n::Lang;

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

/// The requirements in the assignment's own words, as its statement gives them.
const REQUISITOS: [(&str, &str); 13] = [
    ("RF1", "O sistema deve permitir que o usuário coloque o seu nome para entrar no chat. O nome não pode ter espaço e nem \"@\"."),
    ("RF2", "O sistema deve bloquear a entrada de alguém com o mesmo nome de um usuário já cadastrado, e pedir para que seja utilizado outro nome."),
    ("RF3", "Todos os usuários conectados recebem a mensagem quando um novo usuário entra no chat, incluindo IP e porta."),
    ("RF4", "O sistema deve permitir que o chat seja em tempo real, utilizando threads."),
    ("RF5", "O sistema deve permitir que os usuários possam enviar mensagens no chat para que todos possam ver."),
    ("RF6", "O sistema permite mensagens privadas usando \"@\" para direcionar a mensagem a um destinatário específico."),
    ("RF7", "O sistema não pode permitir que o usuário envie uma mensagem privada para si mesmo."),
    ("RF8", "O sistema deve enviar uma mensagem para todos avisando quando um usuário sair do chat."),
    ("RF9", "O cliente é removido do chat ao clicar em \"Sair\"."),
    ("RF10", "O sistema deve permitir que, mesmo que um usuário tenha saído do chat, o sistema siga funcionando, fazendo com que outros usuários possam entrar."),
    ("RF11", "Caso o cliente tente conectar sem o servidor estar ativo, aparece um pop-up com uma mensagem de erro."),
    ("RF12", "O IP e a porta do cliente são exibidos para o próprio usuário e para os demais."),
    ("PROTO", "Protocolo chat/1: enquadramento, limites e erros (docs/PROTOCOL.md)."),
];

/// The text of a requirement in `lang`, or an empty string for an unknown id.
pub fn text_in(rf: &str, lang: Lang) -> &'static str {
    let table = match lang {
        Lang::En => &REQUIREMENTS,
        Lang::PtBr => &REQUISITOS,
    };
    table
        .iter()
        .find(|(id, _)| *id == rf)
        .map_or("", |(_, t)| t)
}

/// [`short`] in `lang`.
pub fn short_in(rf: &str, lang: Lang) -> &'static str {
    match lang {
        Lang::En => short(rf),
        Lang::PtBr => match rf {
            "RF1" => "regras do nome (sem espaço, sem @)",
            "RF2" => "nome em uso recusado, outro pedido",
            "RF3" => "entrada avisada com IP e porta",
            "RF4" => "tempo real, threads, sem bloqueio",
            "RF5" => "mensagens públicas",
            "RF6" => "mensagens privadas com @nome",
            "RF7" => "sem mensagem privada para si",
            "RF8" => "saída avisada",
            "RF9" => "saída com Sair",
            "RF10" => "segue funcionando após saídas",
            "RF11" => "erro no cliente sem servidor",
            "RF12" => "IP e porta próprios exibidos",
            "PROTO" => "enquadramento, limites e erros",
            _ => "",
        },
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_requirement_has_its_portuguese_words() {
        for (rf, _) in REQUIREMENTS {
            assert!(!text_in(rf, Lang::PtBr).is_empty(), "{rf}");
            assert!(!short_in(rf, Lang::PtBr).is_empty(), "{rf}");
            assert_ne!(text_in(rf, Lang::PtBr), text(rf), "{rf}");
        }
    }

    #[test]
    fn the_portuguese_words_are_the_assignments_own() {
        assert!(text_in("RF9", Lang::PtBr).contains("ao clicar em \"Sair\""));
        assert!(text_in("RF3", Lang::PtBr).contains("incluindo IP e porta"));
    }
}
