// Servidor de chat multiusuário (trabalho de Redes) em Java.
// Rodar: java JavaRecursiveLeave.java PORTA   (single-file source launch, sem javac)
// Framing: "lines" - cada mensagem é uma linha (BufferedReader.readLine / PrintWriter.println).
// Uma thread por cliente lendo, e uma thread escritora por cliente com fila (BlockingQueue),
// para um cliente lento não travar os outros.
// Defect: remover(c) avisa "<nome> saiu do chat." com broadcast() ANTES de tirar o cliente
//   da lista, e broadcast() primeiro "limpa" os clientes mortos: para todo cliente com
//   socket fechado ou marcado "morto" (a thread escritora viu PrintWriter.checkError() ==
//   true) ele chama remover(c). Quando um usuário desconecta, a thread dele fecha o socket
//   e chama remover(this) -> broadcast -> remover(this) -> broadcast -> ... recursão
//   infinita -> StackOverflowError (ninguém captura, a thread morre e ninguém recebe o
//   aviso). O cliente morto fica na lista, então todo broadcast seguinte (mensagem, entrada
//   de alguém) recursa de novo e mata a thread que o chamou (que fecha o próprio socket no
//   finally): depois da primeira saída nenhuma mensagem pública nem aviso de entrada chega.
// Expected to fail: RF8, RF10
import java.io.*;
import java.net.*;
import java.util.*;
import java.util.concurrent.*;

public class JavaRecursiveLeave {
    static final List<Cliente> clientes = new ArrayList<>();
    static final Object trava = new Object();

    static class Cliente extends Thread {
        Socket socket;
        BufferedReader entrada;
        PrintWriter saida;
        String nome;
        String ip;
        int porta;
        // fila de saída: uma thread só para escrever, assim um cliente lento não trava ninguém
        BlockingQueue<String> fila = new LinkedBlockingQueue<>();
        volatile boolean morto = false;

        Cliente(Socket s) throws IOException {
            socket = s;
            ip = s.getInetAddress().getHostAddress();
            porta = s.getPort();
            entrada = new BufferedReader(new InputStreamReader(s.getInputStream(), "UTF-8"));
            saida = new PrintWriter(new OutputStreamWriter(s.getOutputStream(), "UTF-8"), true);
            Thread escritor = new Thread(() -> {
                try {
                    while (true) {
                        saida.println(fila.take());
                        if (saida.checkError()) morto = true; // deu erro escrevendo
                    }
                } catch (InterruptedException e) {
                }
            });
            escritor.setDaemon(true);
            escritor.start();
        }

        void enviar(String msg) {
            fila.add(msg);
        }

        public void run() {
            try {
                enviar("Digite seu nome:");
                while (true) {
                    String linha = entrada.readLine();
                    if (linha == null) {
                        socket.close();
                        return;
                    }
                    String n = linha.trim();
                    if (n.isEmpty() || n.contains(" ") || n.contains("@")) {
                        enviar("Erro: o nome não pode ter espaço nem @. Digite outro nome:");
                        continue;
                    }
                    synchronized (trava) {
                        if (buscar(n) == null) {
                            nome = n;
                            clientes.add(this);
                        }
                    }
                    if (nome == null) {
                        enviar("Erro: esse nome já está em uso. Digite outro nome:");
                        continue;
                    }
                    break;
                }
                enviar("Bem-vindo, " + nome + "! Seu IP: " + ip + ", Porta: " + porta);
                broadcast(nome + " entrou no chat (IP: " + ip + ", Porta: " + porta + ")", this);
                System.out.println("[+] " + nome + " " + ip + ":" + porta);

                String msg;
                while ((msg = entrada.readLine()) != null) {
                    msg = msg.trim();
                    if (msg.isEmpty()) continue;
                    System.out.println(nome + ": " + msg);
                    if (msg.startsWith("@")) {
                        int esp = msg.indexOf(' ');
                        String dest = esp == -1 ? msg.substring(1) : msg.substring(1, esp);
                        String texto = esp == -1 ? "" : msg.substring(esp + 1);
                        if (dest.equals(nome)) {
                            enviar("Erro: você não pode mandar mensagem privada para você mesmo.");
                            continue;
                        }
                        Cliente c;
                        synchronized (trava) {
                            c = buscar(dest);
                        }
                        if (c == null) {
                            enviar("Erro: usuário " + dest + " não encontrado.");
                        } else {
                            c.enviar(nome + " (privado): " + texto);
                        }
                    } else {
                        broadcast(nome + ": " + msg, this);
                    }
                }
            } catch (IOException e) {
                System.out.println("Erro com " + nome + ": " + e.getMessage());
            } finally {
                try {
                    socket.close();
                } catch (IOException e) {
                }
                if (nome != null) {
                    System.out.println("[-] " + nome + " desconectou");
                    remover(this);
                }
            }
        }
    }

    static Cliente buscar(String nome) {
        for (Cliente c : clientes) {
            if (c.nome.equals(nome)) return c;
        }
        return null;
    }

    // manda para todo mundo menos o remetente
    static void broadcast(String msg, Cliente remetente) {
        synchronized (trava) {
            // antes de mandar, tira da lista quem já caiu
            for (Cliente c : clientes) {
                if (c.socket.isClosed() || c.morto) {
                    remover(c);
                }
            }
            for (Cliente c : clientes) {
                if (c != remetente) c.enviar(msg);
            }
        }
    }

    static void remover(Cliente c) {
        synchronized (trava) {
            broadcast(c.nome + " saiu do chat.", c);
            clientes.remove(c);
        }
    }

    public static void main(String[] args) throws IOException {
        int porta = Integer.parseInt(args[0]);
        ServerSocket servidor = new ServerSocket();
        servidor.setReuseAddress(true);
        servidor.bind(new InetSocketAddress("127.0.0.1", porta));
        System.out.println("Servidor ouvindo em 127.0.0.1:" + porta);
        while (true) {
            Socket s = servidor.accept();
            new Cliente(s).start();
        }
    }
}
