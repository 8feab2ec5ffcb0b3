//! Every message a student reads about a graded client (the window half of the assignment),
//! in English and Brazilian Portuguese, side by side; [`super::catalog`] re-exports them, and
//! its tests check them with the rest.

use super::Msg;

catalog! {
    LEVEL_TOOLKIT: "a tkinter client, driven through its toolkit" =>
        "um cliente tkinter, conduzido pelo seu toolkit";
    LEVEL_X11: "driven at the X11 level: keys, clicks and OCR" =>
        "conduzido no nível X11: teclas, cliques e OCR";
    TITLE_C_POPUP: "with no server running, a pop-up shows an error within 3 s" =>
        "sem servidor ativo, um pop-up mostra um erro em até 3 s";
    TITLE_C_NAME_FIRST: "the name the user gives is the first thing the server gets" =>
        "o nome que o usuário informa é a primeira coisa que o servidor recebe";
    TITLE_C_NAME_SPACE: "a name with a space is refused by the client: it never reaches the server" =>
        "um nome com espaço é recusado pelo cliente: nunca chega ao servidor";
    TITLE_C_NAME_AT: "a name with an @ is refused by the client: it never reaches the server" =>
        "um nome com @ é recusado pelo cliente: nunca chega ao servidor";
    TITLE_C_SEND: "what the user types and sends (Enter or the send button) reaches the server" =>
        "o que o usuário digita e envia (Enter ou o botão de enviar) chega ao servidor";
    TITLE_C_RECEIVE: "a line from the server appears in the window within 2 s, with the user idle" =>
        "uma linha do servidor aparece na janela em até 2 s, com o usuário parado";
    TITLE_C_SELF: "@own-name text shows an error, and nothing is sent" =>
        "@próprio-nome texto mostra um erro, e nada é enviado";
    TITLE_C_QUIT: "clicking \"Sair\" closes the connection within 2 s" =>
        "clicar em \"Sair\" fecha a conexão em até 2 s";
    TITLE_C_OWN_ADDRESS: "the window shows the client's own IP and port" =>
        "a janela mostra o IP e a porta do próprio cliente";
    C_A_POPUP: "a pop-up with an error within {0} s" => "um pop-up com um erro em até {0} s";
    C_ERROR_IN_WINDOW: "the error was shown in the window, not in a pop-up: {0}" =>
        "o erro apareceu na janela, não em um pop-up: {0}";
    C_EXITED_NO_POPUP: "the client exited ({0}) with no pop-up{1}" =>
        "o cliente terminou ({0}) sem pop-up{1}";
    C_NO_POPUP: "no pop-up and no new window" => "nenhum pop-up e nenhuma janela nova";
    C_STDERR: "; its stderr ends: {0}" => "; o stderr dele termina com: {0}";
    C_THE_NAME: "the name {0} first" => "o nome {0} primeiro";
    C_GOT_FIRST: "the server got {0} first" => "o servidor recebeu {0} primeiro";
    C_NOTHING_REACHED: "nothing reached the server within {0} s" =>
        "nada chegou ao servidor em {0} s";
    C_NOT_CONNECTED: "the client never connected within {0} s" =>
        "o cliente não se conectou em {0} s";
    C_BAD_NAME_KEPT: "{0} never sent" => "{0} nunca enviado";
    C_BAD_NAME_SENT: "the server got it as the name" => "o servidor o recebeu como nome";
    C_NO_WINDOW: "the window never appeared: no window was created within {0} s" =>
        "a janela nunca apareceu: nenhuma janela foi criada em {0} s";
    C_NO_MAINLOOP: "the window never came up: the client blocks before mainloop (a connect, a recv or input() on the main thread?)" =>
        "a janela nunca apareceu: o cliente fica bloqueado antes do mainloop (um connect, um recv ou um input() na thread principal?)";
    C_A_WORKING_WINDOW: "a window that answers" => "uma janela que responda";
    C_TYPED_MESSAGE: "the message typed and sent, at the server within {0} s" =>
        "a mensagem digitada e enviada, no servidor em até {0} s";
    C_COULD_NOT_SEND: "it could not be sent: {0}" => "não foi possível enviar: {0}";
    C_NOT_AT_SERVER: "it did not reach the server; the server got: {0}" =>
        "não chegou ao servidor; o servidor recebeu: {0}";
    C_SHOWN_WITHIN: "the server's line shown in the window within {0} s" =>
        "a linha do servidor mostrada na janela em até {0} s";
    C_NOT_SHOWN: "it was not shown; the window shows: {0}" => "não apareceu; a janela mostra: {0}";
    C_SELF_NOT_SENT: "the private message to oneself not sent" =>
        "a mensagem privada para si mesmo não enviada";
    C_SELF_SENT: "it was sent to the server: {0}" => "foi enviada ao servidor: {0}";
    C_SELF_ERROR: "an error shown for the private message to oneself" =>
        "um erro mostrado para a mensagem privada para si mesmo";
    C_SELF_SILENT: "nothing was sent, but no error was shown (no pop-up, nothing new in the window)" =>
        "nada foi enviado, mas nenhum erro foi mostrado (nenhum pop-up, nada novo na janela)";
    C_CLOSED_WITHIN: "the connection closed within {0} s of the click" =>
        "a conexão fechada em até {0} s depois do clique";
    C_NO_QUIT_BUTTON: "no button or menu item says Sair, Quit or Exit: {0}" =>
        "nenhum botão ou item de menu diz Sair, Quit ou Exit: {0}";
    C_STILL_OPEN: "the connection was still open {0} s after clicking {1}" =>
        "a conexão continuava aberta {0} s depois do clique em {1}";
    C_OWN_ADDRESS: "its own IP {0} and port {1} in the window" =>
        "o próprio IP {0} e a própria porta {1} na janela";
    C_NO_OWN_ADDRESS: "the window shows: {0}" => "a janela mostra: {0}";
    C_WINDOW_SILENT: "the window did not answer: {0}" => "a janela não respondeu: {0}";


    // Why a client could not be graded at all.
    C_NOT_GRADED: "Your client could not be graded: {0}" => "Não foi possível avaliar o seu cliente: {0}";
    GUI_MISSING: "{0} is needed to grade a window, and it is not installed" =>
        "o {0} é necessário para avaliar uma janela, e não está instalado";
    GUI_NO_DISPLAY: "the virtual display (Xvfb) did not start" => "a tela virtual (Xvfb) não iniciou";
    GUI_CANNOT_RUN: "cannot run {0}: {1}" => "não foi possível executar {0}: {1}";
    GUI_NO_HOOK: "the grader could not attach to the client: {0}{1}{2}" =>
        "o avaliador não conseguiu se ligar ao cliente: {0}{1}{2}";
    HOOK_EXITED: "the client exited ({0}) before its window came up" =>
        "o cliente terminou ({0}) antes de a janela aparecer";
    HOOK_TIMEOUT: "its Python did not load the grader's hook within {0} s (not a Python program, or Python started without site, as with -S or -I)" =>
        "o Python dele não carregou o gancho do avaliador em {0} s (não é um programa Python, ou o Python começou sem site, como com -S ou -I)";
    HOOK_NO_X11: "; and xdotool or tesseract, for the X11 level, is not installed" =>
        "; e o xdotool ou o tesseract, para o nível X11, não está instalado";
    GUI_NO_WINDOW: "the client showed no window within {0} s: is it a graphical client?" =>
        "o cliente não mostrou nenhuma janela em {0} s: é um cliente gráfico?";
    GUI_EXITED: "the client exited ({0}) before showing any window{1}" =>
        "o cliente terminou ({0}) antes de mostrar qualquer janela{1}";
    GUI_CANNOT_SERVE: "the client connects to {0}, where the grader cannot serve it ({1}): at the X11 level only a Java client's connections can be redirected; have it connect to 127.0.0.1" =>
        "o cliente se conecta a {0}, onde o avaliador não consegue atendê-lo ({1}): no nível X11, só as conexões de um cliente Java podem ser redirecionadas; faça-o conectar a 127.0.0.1";
    GUI_OWN_ERROR: "the grader's own error: {0}" => "erro do próprio avaliador: {0}";
}
