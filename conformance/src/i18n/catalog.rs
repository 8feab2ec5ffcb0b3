//! Every message a student may read, in English and Brazilian Portuguese, side by side.
//!
//! Arguments are numbered (`{0}`, `{1}`...) so that each language puts them where its grammar
//! wants them. Users are called by their role (alice, bob, stuck), never by the unique name or
//! token the grader sent: those stay in the transcript, which explains them once at its top.

use super::Msg;

// The client's messages are kept beside these, in their own file.
pub use super::client_catalog::*;

catalog! {
    // What a client of a case expected, and what it got.
    CONNECT_TO: "to connect to the server at {0}" => "conectar ao servidor em {0}";
    SECOND_HANDLE: "a second handle on the socket" => "um segundo descritor do socket";
    SEND_A_LINE: "to send a line to the server" => "enviar uma linha ao servidor";
    SEND_STALLED: "the server took none of it for {0} s: it stopped reading this user" =>
        "o servidor não recebeu nada dela por {0} s: parou de ler este usuário";
    IO_REFUSED: "the connection was refused" => "a conexão foi recusada";
    IO_RESET: "the server reset the connection" => "o servidor derrubou a conexão (reset)";
    IO_CLOSED: "the server had closed the connection" => "o servidor já tinha fechado a conexão";
    IO_TIMED_OUT: "it timed out" => "o tempo se esgotou";
    IO_OTHER: "error: {0}" => "erro: {0}";
    WORDS_MISSING: "no {0} within {1} s{2}; what arrived meanwhile: {3}" =>
        "nenhum {0} em {1} s{2}; o que chegou nesse tempo: {3}";
    NOTHING_CAME: "it did not arrive within {0} s{1}; what arrived meanwhile: {2}" =>
        "não chegou em {0} s{1}; o que chegou nesse tempo: {2}";
    NOTHING_AT_ALL: "nothing" => "nada";
    ENDED_CLOSED: " (the server closed the connection)" => " (o servidor fechou a conexão)";
    ENDED_BROKEN: " (the connection broke: {0})" => " (a conexão caiu: {0})";
    IT_ARRIVED: "it arrived: {0}" => "chegou: {0}";
    CAP_NOTE: "{0} (the server had admitted {1} users; a cap on users would refuse the next)" =>
        "{0} (o servidor tinha admitido {1} usuários; um limite de usuários recusaria o próximo)";

    // What the cases wait for.
    A_WELCOME: "a welcome" => "uma mensagem de boas-vindas";
    NOTICE_JOINED: "a notice that {0} joined" => "um aviso de que {0} entrou";
    NOTICE_JOINED_WITH_ADDRESS: "a notice that {0} joined, with its IP {1} and port {2}" =>
        "um aviso de que {0} entrou, com seu IP {1} e sua porta {2}";
    OWN_ADDRESS: "to be told its own IP {0} and port {1}" =>
        "ser informado do próprio IP {0} e da própria porta {1}";
    LATER_MESSAGE_FROM: "a later message from {0}" => "uma mensagem posterior de {0}";
    LATER_NEWCOMER: "a later newcomer's join notice" =>
        "o aviso de entrada de um usuário que chegou depois";
    MESSAGE_FROM: "a message from {0}" => "uma mensagem de {0}";
    MESSAGE_FROM_WHEN: "a message from {0}, {1}" => "uma mensagem de {0}, {1}";
    PRIVATE_FROM: "a private message from {0}" => "uma mensagem privada de {0}";
    NO_NOTICE_FOR_BAD_NAME: "no join notice for {0} (names may not contain {1})" =>
        "nenhum aviso de entrada para {0} (nomes não podem conter {1})";
    A_NAME_WITH_SPACE: "a name with a space" => "um nome com espaço";
    A_NAME_WITH_AT: "a name with an @" => "um nome com @";
    SPACES: "spaces" => "espaços";
    AT_SIGN: "\"@\"" => "\"@\"";
    PORT_ANNOUNCED: "its port {0} was announced: {1}" => "a porta {0} dele foi anunciada: {1}";
    NO_SECOND_NOTICE: "no second notice of {0} (the name is in use, so it is refused)" =>
        "nenhum segundo aviso de {0} (o nome já está em uso, então é recusado)";
    ANNOUNCED_AGAIN: "{0} was announced again: {1}" => "{0} foi anunciado de novo: {1}";
    NOTHING_FROM_SECOND: "nothing from a second {0} (the name is in use, so it is refused)" =>
        "nada de um segundo {0} (o nome já está em uso, então é recusado)";
    SECOND_SPOKE: "a message from the second {0} arrived: {1}" =>
        "chegou uma mensagem do segundo {0}: {1}";
    NOTICE_LEFT: "a notice that {0} left" => "um aviso de que {0} saiu";
    NOTICE_LEFT_BROKEN: "a notice that {0} left (its connection broke)" =>
        "um aviso de que {0} saiu (a conexão dele caiu)";
    A_LEAVE_NOTICE: "a leave notice" => "um aviso de saída";
    AFTER_BREAK: "after carol's connection broke" => "depois que a conexão de carol caiu";
    AFTER_BREAK_DAVE_NEW: "after carol's connection broke, with dave new" =>
        "depois que a conexão de carol caiu, com dave recém-chegado";
    NOT_OWN_MESSAGE_BACK: "nothing of her own message back (everyone else sees it)" =>
        "nada da própria mensagem de volta (todos os outros a veem)";
    NO_PRIVATE_LEAK: "nothing of alice's private message to bob" =>
        "nada da mensagem privada de alice para bob";
    NO_SELF_PRIVATE: "nothing of alice's private message to herself" =>
        "nada da mensagem privada de alice para si mesma";
    SELF_PRIVATE_NOT_BACK: "alice's private message to herself not delivered to her" =>
        "que a mensagem privada de alice para si mesma não fosse entregue a ela";
    EVERY_SENDER: "every sender to finish" => "que cada remetente terminasse";
    IT_PANICKED: "it panicked: {0}" => "ele falhou com um panic: {0}";
    EVERY_OTHERS_MESSAGE: "every message of the seven others" =>
        "todas as mensagens dos outros sete";
    MESSAGE_WHILE_STUCK: "a message from {0}, while stuck reads nothing ({1})" =>
        "uma mensagem de {0}, enquanto stuck não lê nada ({1})";
    STUCK_FILLED: "the server held {0} bytes for stuck, which reads nothing, after alice sent {1} bytes: its sends to stuck must block" =>
        "o servidor reteve {0} bytes para stuck, que não lê nada, depois que alice enviou {1} bytes: os envios dele para stuck devem bloquear";
    STUCK_UNMEASURED: "alice sent {0} bytes; the kernel's queues could not be read" =>
        "alice enviou {0} bytes; as filas do kernel não puderam ser lidas";

    // The free-form cases' titles.
    TITLE_BAD_NAMES: "a name with a space or an @ is not admitted (the assignment lets the client check it)" =>
        "um nome com espaço ou @ não é admitido (o enunciado deixa o cliente verificar isso)";
    TITLE_TAKEN_NAME: "a name already in use is not admitted: nobody is told it joined" =>
        "um nome já em uso não é admitido: ninguém é avisado de que ele entrou";
    TITLE_JOIN_NOTICE: "everyone connected is told of a newcomer, with its name, IP and port" =>
        "todos os conectados são avisados de quem chega, com nome, IP e porta";
    TITLE_CONCURRENT: "eight users sending at once each get every other user's messages" =>
        "oito usuários enviando ao mesmo tempo recebem cada um as mensagens de todos os outros";
    TITLE_STOPPED_READER: "a user that stops reading does not stop the others" =>
        "um usuário que para de ler não trava os outros";
    TITLE_PUBLIC: "a message reaches everyone else, and not its sender" =>
        "uma mensagem chega a todos os outros, e não a quem a enviou";
    TITLE_PRIVATE: "@name text reaches only that user (a copy back to its sender is allowed)" =>
        "@nome texto chega só a esse usuário (uma cópia de volta para quem enviou é permitida)";
    TITLE_SELF_PRIVATE: "a private message to oneself reaches nobody (the assignment lets the client check it)" =>
        "uma mensagem privada para si mesmo não chega a ninguém (o enunciado deixa o cliente verificar isso)";
    TITLE_LEAVE_CLOSING: "when a user closes its connection the others are told, by name" =>
        "quando um usuário fecha a conexão, os outros são avisados, pelo nome";
    TITLE_LEAVE_BREAKING: "when a user's connection breaks (a reset, data unread) the others are told, by name, and chat on" =>
        "quando a conexão de um usuário cai (um reset, com dados não lidos), os outros são avisados, pelo nome, e seguem conversando";
    TITLE_AFTER_LEAVES: "after users leave, newcomers join and chat" =>
        "depois que usuários saem, novos usuários entram e conversam";
    TITLE_JOIN_AFTER_BREAK: "after a user's connection breaks, a newcomer joins and everyone chats" =>
        "depois que a conexão de um usuário cai, um novo usuário entra e todos conversam";
    TITLE_OWN_ADDRESS: "a newcomer is told its own IP and port" =>
        "quem chega é informado do próprio IP e da própria porta";
    TITLE_LEAVE_QUIT_LINE: "when a user sends the quit line the others are told, by name" =>
        "quando um usuário envia a linha de saída, os outros são avisados, pelo nome";

    // What happened to the server.
    SERVER_EXITED: "the server exited ({0}){1}" => "o servidor terminou ({0}){1}";
    WITH_STATUS: "with status {0}" => "com status {0}";
    KILLED_BY_SIGNAL: "killed by signal {0}" => "morto pelo sinal {0}";
    AT_LIMIT: ": {0}" => ": {0}";
    AT_SIGN_JOIN: "{0}{1}" => "{0}{1}";
    STDERR_ENDS: "; its stderr ends: {0}" => "; o stderr dele termina com: {0}";
    STOPPED_ACCEPTING: "the server stopped accepting connections{0} ({1})" =>
        "o servidor parou de aceitar conexões{0} ({1})";
    STOPPED_RELAYING: "the server stopped relaying{0}: {1} for {2} s" =>
        "o servidor parou de repassar mensagens{0}: {1} por {2} s";
    RELAY_SILENT: "connected users got nothing" => "os usuários conectados não receberam nada";
    RELAY_UNTOLD: "new users were not told of each other" =>
        "novos usuários não foram avisados uns dos outros";
    WHEN_DISCONNECT: " when a user left" => " quando um usuário saiu";
    DURING: " during \"{0}\"" => " durante \"{0}\"";
    THE_RUN: "the run" => "a avaliação";
    REFUSED_NOTHING_LISTENS: "connections are refused: nothing listens on port {0} any more" =>
        "as conexões são recusadas: nada mais escuta na porta {0}";
    CONNECTING_FAILED: "connecting failed: {0}" => "a conexão falhou: {0}";
    NEVER_ACCEPTED: "a new connection waited {0} s in its queue and was never accepted" =>
        "uma nova conexão esperou {0} s na fila e nunca foi aceita";
    USED_UP_MEMORY: "it used up its {0} MB of memory" => "ele esgotou seus {0} MB de memória";
    USED_UP_CPU: "it used up its {0} s of CPU time" => "ele esgotou seus {0} s de tempo de CPU";
    TOO_MANY_PROCESSES: "it tried to run more than {0} processes and threads at once" =>
        "ele tentou rodar mais de {0} processos e threads ao mesmo tempo";
    BROKE_CRASHED: "CRASHED" => "CAIU";
    BROKE_STOPPED_ACCEPTING: "STOPPED ACCEPTING" => "PAROU DE ACEITAR";
    BROKE_FROZE: "FROZE" => "TRAVOU";

    // The grader's own words about a case.
    SERVER_TO_START: "the server to start for this case" => "que o servidor iniciasse para este caso";
    RESULT_VARIED: "{0} (the result varied: {1} on another fresh server, so the server behaves differently from run to run here: a race)" =>
        "{0} (o resultado variou: {1} em outro servidor recém-iniciado, então o servidor se comporta de um jeito diferente a cada execução aqui: uma condição de corrida)";
    THEN_PASSED: "the same case then passed" => "o mesmo caso depois passou";
    HAD_PASSED: "the same case had passed" => "o mesmo caso tinha passado";
    STDERR_MEANWHILE: "{0} (meanwhile the server's stderr ended: {1})" =>
        "{0} (enquanto isso, o stderr do servidor terminou com: {1})";
    BEFORE_THAT: "{0}; before that: {1}" => "{0}; antes disso: {1}";
    A_WORKING_SERVER: "a working server" => "um servidor funcionando";
    NOT_RUN_BROKEN: "not run: {0}, so results after it would not be the server's" =>
        "não executado: {0}; resultados depois disso não diriam nada do servidor";
    IN_CASE: "{0} (in {1})" => "{0} (em {1})";
    KEEP_WORKING: "the server to keep working when users leave" =>
        "que o servidor continuasse funcionando quando usuários saem";
    SEEN_IN: "{0} (seen in {1})" => "{0} (visto em {1})";
    RUN_TO_COMPLETION: "the case to run to completion" => "que o caso executasse até o fim";
    CLIENT_BIN: "a chat-client binary (--client-bin)" => "um binário chat-client (--client-bin)";
    NO_CLIENT_BIN: "none found, so this client-side case was not run" =>
        "nenhum encontrado, então este caso do lado do cliente não foi executado";

    // How the server was graded.
    SETUP_GIVEN: "protocol plain, {0} (given)" => "protocolo livre, {0} (informado)";
    SETUP_DETECTED: "protocol plain, {0} (detected)" => "protocolo livre, {0} (detectado)";
    FRAMING_LINES: "one message per line (LF)" => "uma mensagem por linha (LF)";
    FRAMING_WRITES: "one message per write, unterminated" => "uma mensagem por escrita, sem terminador";
    AS_HANDED_IN: "{0}; as handed in: listening on {1} (port {2}){3}" =>
        "{0}; como entregue: escutando em {1} (porta {2}){3}";
    OWN_NETWORK: ", in a network of its own" => ", em uma rede só dele";
    ONE_COPY_AT_A_TIME: ", one copy at a time" => ", uma cópia por vez";
    SERVER_AND_SETUP: "{0} ({1})" => "{0} ({1})";

    // Why a submission could not be graded at all.
    BUILD_CANNOT_RUN: "your server could not be built: cannot run {0}: {1}" =>
        "não foi possível compilar o seu servidor: não deu para executar {0}: {1}";
    DID_NOT_COMPILE: "your server did not compile: {0} failed ({1}); it said:\n{2}" =>
        "o seu servidor não compilou: {0} falhou ({1}); a saída foi:\n{2}";
    BUILD_TOO_LONG: "your server could not be built: {0} did not end within {1} s" =>
        "não foi possível compilar o seu servidor: {0} não terminou em {1} s";
    CANNOT_RUN: "cannot run {0}: {1}" => "não foi possível executar {0}: {1}";
    EXITED_BEFORE_SERVING: "{0} exited ({1}) before it served{2}" =>
        "{0} terminou ({1}) antes de começar a atender{2}";
    STDERR_ENDED_WITH: "; its stderr ended with:\n{0}" => "; o stderr dele terminou com:\n{0}";
    ON_A_NEW_LINE: "\n{0}" => "\n{0}";
    NOT_LISTENING_ON: "{0} was not listening on port {1} within {2} s{3}" =>
        "{0} não estava escutando na porta {1} depois de {2} s{3}";
    NO_FREE_PORT: "cannot find a free port for {port}: {0}" =>
        "não foi possível achar uma porta livre para {port}: {0}";
    NO_LISTENER: "{0} did not listen on any TCP port within {1} s{2}" =>
        "{0} não escutou em nenhuma porta TCP em {1} s{2}";
    NO_LISTENING_LINE: "{0} did not print \"listening on ADDR\" within {1} s{2}" =>
        "{0} não imprimiu \"listening on ADDR\" em {1} s{2}";
    HINT_PORT_TAKEN: "Its port is already taken: by another copy of the server, or by one whose connections are still closing. A server whose port is written in its code can be graded one copy at a time only, or as root (each copy then has a network of its own); reading the port from the command line ({port}) avoids both." =>
        "A porta dele já está ocupada: por outra cópia do servidor, ou por uma cujas conexões ainda estão se fechando. Um servidor com a porta escrita no código só pode ser avaliado uma cópia por vez, ou como root (cada cópia tem então uma rede só dela); ler a porta da linha de comando ({port}) evita as duas coisas.";
    HINT_FOREIGN_ADDRESS: "It binds an address this machine does not have (the address of the machine it was written on?). Bind to \"\" or 0.0.0.0, or 127.0.0.1, instead; as root the grader gives each server a network where any address can be bound." =>
        "Ele usa um endereço que esta máquina não tem (o endereço da máquina onde foi escrito?). Use \"\" ou 0.0.0.0, ou 127.0.0.1, no lugar; como root, o avaliador dá a cada servidor uma rede onde qualquer endereço pode ser usado.";
    CANNOT_CONNECT: "cannot connect to {0}: {1}" => "não foi possível conectar a {0}: {1}";
    NAMES_NOBODY: "{0} relays what users send, but announced no newcomer: two clients sent their names ({1}, {2}), and what reached the first was the second's name relayed like any message (the second's next message came back in the same shape, without its name). A server graded with --protocol plain must register each user by the name it sends first and tell the others when someone joins (RF3). What the first client received: {3}" =>
        "{0} repassa o que os usuários enviam, mas não anunciou ninguém que chegou: dois clientes enviaram seus nomes ({1}, {2}), e o que chegou ao primeiro foi o nome do segundo repassado como uma mensagem qualquer (a mensagem seguinte do segundo voltou no mesmo formato, sem o nome dele). Um servidor avaliado com --protocol plain deve registrar cada usuário pelo primeiro texto que ele envia, o nome, e avisar os outros quando alguém entra (RF3). O que o primeiro cliente recebeu: {3}";
    ANNOUNCES_NOBODY: "{0} announced no newcomer: two clients sent their names ({1}, {2}) as one write each, then ended them with LF, and the first never received the second's name. A server graded with --protocol plain must tell its users when someone joins (RF3). If it frames input another way, say so with --framing lines|writes. What the first client received: {3}" =>
        "{0} não anunciou ninguém que chegou: dois clientes enviaram seus nomes ({1}, {2}), cada um em uma escrita, depois terminados com LF, e o primeiro nunca recebeu o nome do segundo. Um servidor avaliado com --protocol plain deve avisar seus usuários quando alguém entra (RF3). Se ele separa as mensagens de outro jeito, diga com --framing lines|writes. O que o primeiro cliente recebeu: {3}";
    NOT_CHAT1: "{0} does not speak chat/1, so no case was run. {1} A chat/1 server greets every connection with a line starting \"HELLO \" (e.g. \"HELLO chat/1 welcome\"), and answers the name a client sends with \"WELCOME <name> <ip:port>\" (or \"ERR <code> ...\" when it refuses the name). The contract is in {2}." =>
        "{0} não fala chat/1, então nenhum caso foi executado. {1} Um servidor chat/1 cumprimenta cada conexão com uma linha que começa com \"HELLO \" (por exemplo \"HELLO chat/1 welcome\") e responde ao nome que o cliente envia com \"WELCOME <nome> <ip:porta>\" (ou \"ERR <código> ...\" quando recusa o nome). O contrato está em {2}.";
    EXITED_EARLY: "{0}, while the grader was checking how it talks, before any case" =>
        "{0}, enquanto o avaliador verificava como ele se comunica, antes de qualquer caso";

    // Reports.
    LEVEL_MUST: "MUST" => "DEVE";
    LEVEL_SHOULD: "SHOULD" => "DEVERIA";
    REPORT_TITLE: "conformance report for {0} ({1} s)" => "relatório de avaliação de {0} ({1} s)";
    REPORT_TITLE_MD: "Conformance report for {0}" => "Relatório de avaliação de {0}";
    COL_PASS: "pass" => "passou";
    COL_FAIL: "fail" => "falhou";
    COL_SKIP: "skip" => "pulado";
    COL_REQUIREMENT: "requirement" => "requisito";
    COL_TEXT: "text" => "texto";
    COL_CASE: "case" => "caso";
    COL_LEVEL: "level" => "nível";
    COL_RESULT: "result" => "resultado";
    COL_CHECKS: "checks" => "verifica";
    COL_CLAUSE: "clause" => "cláusula";
    MARK_OK: "ok" => "ok";
    MARK_FAIL: "FAIL" => "FALHOU";
    MARK_SKIP: "skip" => "pulado";
    MARK_XFAIL: "xfail" => "falha esperada";
    MARK_STALE: "STALE" => "OBSOLETO";
    SERVER_FINDING: "SERVER" => "SERVIDOR";
    SEEN_IN_CASES: "(seen in {0})" => "(visto em {0})";
    WHAT_HAPPENED: "What happened to the server" => "O que aconteceu com o servidor";
    CASE_FAILED: "{0} failed" => "{0} falhou";
    STALE_LINE: "STALE {0}: listed in --expect-fail, but it passes now; remove it from the list" =>
        "OBSOLETO {0}: listado em --expect-fail, mas agora passa; tire-o da lista";
    PASSED_FAILED: "{0} passed, {1} failed" => "{0} passaram, {1} falharam";
    AND_SKIPPED: ", {0} skipped" => ", {0} pulados";
    AND_EXPECTED: ", {0} expected failures" => ", {0} falhas esperadas";
    AND_STALE: ", {0} stale (listed in --expect-fail but passed: remove them)" =>
        ", {0} obsoletos (listados em --expect-fail, mas passaram: tire-os)";
    FAILED_HEAD: "FAILED" => "FALHOU";
    REQUIREMENT_LINE: "requirement {0}: {1}" => "requisito {0}: {1}";
    LABEL_CLAUSE: "clause:  " => "cláusula:";
    LABEL_CLIENT: "client:  " => "cliente: ";
    LABEL_EXPECTED: "expected:" => "esperado:";
    LABEL_ACTUAL: "actual:  " => "obtido:  ";
    TRANSCRIPT_OF: "transcript of {0}:" => "registro de {0}:";
    LINES_OMITTED: "... {0} lines omitted ..." => "... {0} linhas omitidas ...";
    TRANSCRIPT_KEY: "In each transcript, >> is what a user sent, << what it received and -- what happened (in the grader's words). A user's name ends in a code unique to this run (alice is {0}), and words that begin with \"tok\" are unique markers the grader sends and then looks for." =>
        "Em cada registro, >> é o que um usuário enviou, << o que recebeu e -- o que aconteceu (nas palavras do avaliador, em inglês). O nome de um usuário termina com um código único desta execução (alice é {0}), e palavras que começam com \"tok\" são marcadores únicos que o avaliador envia e depois procura.";
    SUMMARY_LINE: "conformance report for {0}: {1} passed, {2} failed{3}" =>
        "relatório de avaliação de {0}: {1} passaram, {2} falharam{3}";
    WHAT_HAPPENED_TO_YOURS: "What happened to your server: {0} (seen in {1})." =>
        "O que aconteceu com o seu servidor: {0} (visto em {1}).";
    NOT_GRADED: "Your server could not be graded: {0}" => "Não foi possível avaliar o seu servidor: {0}";
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::placeholders;

    /// The server's messages and the client's.
    fn every() -> impl Iterator<Item = &'static Msg> {
        ALL.iter().chain(super::super::client_catalog::ALL)
    }

    #[test]
    fn every_message_has_a_translation() {
        let missing: Vec<&str> = every()
            .filter(|m| m.pt.trim().is_empty() && !m.en.trim().is_empty())
            .map(|m| m.id)
            .collect();
        assert!(
            missing.is_empty(),
            "messages without Portuguese: {missing:?}"
        );
    }

    #[test]
    fn every_translation_takes_the_same_arguments() {
        for m in every() {
            assert_eq!(
                placeholders(m.en),
                placeholders(m.pt),
                "{}: {:?} against {:?}",
                m.id,
                m.en,
                m.pt
            );
        }
    }

    #[test]
    fn every_message_has_its_own_name() {
        let mut ids: Vec<&str> = every().map(|m| m.id).collect();
        ids.sort_unstable();
        let before = ids.len();
        ids.dedup();
        assert_eq!(ids.len(), before);
    }

    #[test]
    fn no_translation_is_the_english_left_in_place() {
        // Words that are the same in both languages are short (ok, ": {0}"); a sentence that
        // reads the same in both was not translated.
        let same: Vec<&str> = every()
            .filter(|m| m.en == m.pt && m.en.split_whitespace().count() > 2)
            .map(|m| m.id)
            .collect();
        assert!(same.is_empty(), "left in English: {same:?}");
    }
}
